"""The command line's shape: options where DBAs type them, and commands that do one thing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from pgpolicy.cli import cli
from pgpolicy.odoo.metadata import Catalog
from tests.conftest import Database, clean_env

# Commands that open no connection of the caller's: the demo starts its own server, and a
# new profile is printed from a template.
OFFLINE = {"demo", "profile new"}


def commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.update(commands(command, path + " "))
        else:
            found[path] = command
    return found


def pgpolicy_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgpolicy", *args],
        cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_every_connecting_command_takes_dsn_and_format_after_its_name() -> None:
    every = commands(cli)
    assert {"init", "compile", "plan", "apply", "status", "explain", "who-can", "check"} <= set(
        every
    )
    lacking = sorted(
        f"{path}: {option}"
        for path, command in every.items()
        if path not in OFFLINE
        for option in ("--dsn", "--format")
        if not any(option in p.opts for p in command.params)
    )
    assert lacking == []


def test_init_takes_dsn_and_format_after_its_name(
    odoo_db: Any, app_role: str, tmp_path: Path
) -> None:
    done = pgpolicy_cli(
        tmp_path, "init", "--app-role", app_role, "--dsn", odoo_db.dsn, "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["after"] == "12"


def test_save_catalog_only_saves(odoo_db: Any, tmp_path: Path) -> None:
    saved = tmp_path / "odoo-meta.json"
    done = pgpolicy_cli(tmp_path, "compile", "--dsn", odoo_db.dsn, "--save-catalog", str(saved))
    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    catalog = Catalog.load(saved)
    assert "sale.order" in catalog.models and catalog.rules

    offline = pgpolicy_cli(
        tmp_path, "compile", "--catalog", str(saved), "--format", "json",
        "--model", "sale.order", "--domain", "[('state', '=', 'sale')]",
    )  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    assert '"state"' in json.loads(offline.stdout)["sql"]

    mixed = pgpolicy_cli(
        tmp_path, "compile", "--dsn", odoo_db.dsn, "--save-catalog", str(saved),
        "--model", "sale.order", "--domain", "[]",
    )  # fmt: skip
    assert mixed.returncode == 2
    assert "--save-catalog only saves" in mixed.stderr


def test_analyst_add_list_remove(enforced_db: Database) -> None:
    """The analyst commands end to end: the login then reads as its Odoo user; mistakes are
    one line and exit 1, and change nothing."""
    role = f"bi_cli_{enforced_db.name}"[:63]
    dsn = ["--dsn", enforced_db.dsn]
    added = CliRunner().invoke(
        cli, [*dsn, "analyst", "add", "--login", role, "--odoo-user", "salesman_a",
              "--companies", "1"]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output.startswith(f"{role} -> salesman_a (uid 15), companies 1, read only")
    listed = CliRunner().invoke(cli, [*dsn, "--format", "json", "analyst", "list"])
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.output)
    assert (entry["role"], entry["uid"], entry["can_write"]) == (role, 15, False)
    as_analyst = enforced_db.server.dsn(enforced_db.name, user=role)
    with psycopg.connect(as_analyst) as conn:
        assert conn.execute("SELECT pgpolicy.uid()").fetchone() == (15,)
        assert conn.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles"
                            " WHERE rolname = current_user").fetchone() == (False,)  # fmt: skip
        seen = conn.execute("SELECT count(*) FROM public.sale_order").fetchone()
    with psycopg.connect(enforced_db.dsn) as conn:
        total = conn.execute("SELECT count(*) FROM public.sale_order").fetchone()
    assert seen is not None and total is not None and 0 < seen[0] < total[0]

    for args, message in (
        (["add", "--login", role, "--odoo-user", "nobody"], "no Odoo user with login 'nobody'"),
        (["add", "--login", role, "--odoo-user", "salesman_a", "--companies", "1,x"],
         "--companies: not a list of company ids: '1,x'"),
        (["remove", "--login", "not_an_analyst"], "not_an_analyst is not an analyst login"),
    ):  # fmt: skip
        result = CliRunner().invoke(cli, [*dsn, "analyst", *args])
        assert result.exit_code == 1, result.output
        assert message in str(result.exception) and "\n" not in str(result.exception)
    listed = CliRunner().invoke(cli, [*dsn, "--format", "json", "analyst", "list"])
    assert [e["company_ids"] for e in json.loads(listed.output)] == [[1]]  # unchanged

    removed = CliRunner().invoke(cli, [*dsn, "analyst", "remove", "--login", role])
    assert removed.exit_code == 0 and f"removed analyst login {role}" in removed.output
    assert CliRunner().invoke(cli, [*dsn, "analyst", "list"]).output.strip() == "no analyst login"
    with (
        psycopg.connect(as_analyst) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT id FROM public.sale_order")
    with psycopg.connect(enforced_db.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
