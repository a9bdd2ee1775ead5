"""The command line's shape: options where DBAs type them, and commands that do one thing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from pgpolicy.cli import cli
from pgpolicy.odoo.metadata import Catalog
from tests.conftest import clean_env

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
    assert json.loads(done.stdout)["after"] == "10"


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
