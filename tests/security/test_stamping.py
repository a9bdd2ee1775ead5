"""Rule text reaches SQL only as a quoted literal, and generated scripts stop at the first
error whatever the client's settings.

A rule whose domain holds `$pgpolicy$` (the dollar quote provenance stamping used) followed
by `ROLLBACK; ALTER ROLE ... BYPASSRLS` deploys like any other, online and through an
offline migration script run by plain `psql -f` (no ON_ERROR_STOP), with its provenance
intact; a statement that fails inside such a script keeps every later one from running.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from pgpolicy.cli import cli
from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.health import health
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.odoo.metadata import read_catalog
from tests.conftest import (
    Database,
    EnforcedTemplate,
    PgServer,
    clean_env,
)
from tests.security.test_values import add_rule
from tests.test_migrations import (
    alembic,
    dba_project,
    pgpolicy_revision,
)

# Closes the dollar-quoted DO block stamping used, then runs as whoever runs the script.
ESCAPE = "$pgpolicy$; ROLLBACK; ALTER ROLE {app} BYPASSRLS; DO $pgpolicy$ BEGIN"


def hostile_rules(dsn: str, app_role: str) -> tuple[int, int, str]:
    """A rule that compiles (the text is a value) and one that does not (the text is a field
    name, quoted back in the compile error the provenance carries): their ids, and the text."""
    text = ESCAPE.replace("{app}", app_role)
    with psycopg.connect(dsn) as conn:
        compiles = add_rule(conn, "hostile value", repr([("name", "!=", text)]))
        fails = add_rule(conn, "hostile field", repr([(text, "=", 1)]))
    return compiles, fails, text


def bypassrls(dsn: str, role: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
        return bool(row.fetchone() == (True,))


def provenances(dsn: str, rule_ids: tuple[int, ...]) -> dict[int, list[dict[str, Any]]]:
    """The provenance comments of the policies compiled from each rule."""
    found: dict[int, list[dict[str, Any]]] = {rule: [] for rule in rule_ids}
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT obj_description(p.oid, 'pg_policy') FROM pg_policy p"
            " WHERE p.polrelid = 'public.sale_order'::regclass"
        )
        for (comment,) in rows:
            data = json.loads(comment) if comment else {}
            for rule in rule_ids:
                if rule in data.get("rule_ids", []):
                    found[rule].append(data)
    return found


POLICIES = """
SELECT c.relname, p.polname, pg_get_expr(p.polqual, p.polrelid),
       obj_description(p.oid, 'pg_policy')
  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid ORDER BY 1, 2
"""


def policies(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(POLICIES).fetchall()


def psql(server: PgServer, db: Database, script: Path) -> subprocess.CompletedProcess[str]:
    """`psql -f` as a DBA runs it without thinking of ON_ERROR_STOP (and without ~/.psqlrc)."""
    return subprocess.run(
        [str(server.bindir / "psql"), "-X", "-d", db.dsn, "-f", str(script)],
        env=clean_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip


def tamper(script: str, after: str, marker: str) -> str:
    """`script` with a failing statement after the first line starting with `after`, then
    statements that must never run: they would leave a table and a BYPASSRLS role."""
    lines = script.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(after))
    while not lines[at].rstrip().endswith(";"):
        at += 1
    lines[at + 1 : at + 1] = ["SELECT 1 / 0;", *marker.splitlines()]
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _no_bypassrls_left(pg_server: PgServer, app_role: str) -> Iterator[None]:
    """BYPASSRLS is server-wide: should an escape work, later tests must not inherit it."""
    yield
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOBYPASSRLS").format(sql.Identifier(app_role)))


def test_a_rule_holding_the_dollar_quote_deploys_with_its_provenance_intact(
    enforced_db: Database,
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    compiles, fails, text = hostile_rules(enforced_db.dsn, app_role)
    with psycopg.connect(enforced_db.dsn) as conn:
        policy_set = build_policy_set(read_catalog(conn), [app_role])
    assert any(text in str(e) for e in policy_set.errors)
    apply_policy_set(enforced_db.dsn, policy_set, [app_role])

    assert not bypassrls(enforced_db.dsn, app_role)
    found = provenances(enforced_db.dsn, (compiles, fails))
    assert found[compiles] and found[fails]
    assert all(text in p["error"] for p in found[fails])
    with psycopg.connect(enforced_db.dsn) as conn:
        report = health(conn, policy_set, [app_role])
    assert (report.drifted, report.missing) == ([], [])
    with psycopg.connect(app_dsn(enforced_db)) as app:
        assert_rls_effective(app, ["sale_order"])
        assert app.execute("SELECT count(*) FROM sale_order").fetchone() == (0,)


def test_the_offline_migration_script_keeps_the_text_quoted_and_stops_at_an_error(
    enforced_db: Database,
    enforced_template: EnforcedTemplate,
    clone: Callable[..., Database],
    pg_server: PgServer,
    app_role: str,
    tmp_path: Path,
) -> None:
    compiles, fails, _ = hostile_rules(enforced_db.dsn, app_role)
    project = dba_project(tmp_path / "dba", enforced_db, app_role)
    pgpolicy_revision(project, enforced_db, app_role, "hostile rules")
    script = alembic(project, "upgrade", "head", "--sql").stdout
    assert "\\set ON_ERROR_STOP on" in script and "BEGIN;" in script

    # the script as written, by plain psql: it runs, and the provenance is intact
    target = clone(enforced_template.name)
    assert hostile_rules(target.dsn, app_role)[:2] == (compiles, fails)
    (tmp_path / "upgrade.sql").write_text(script)
    done = psql(pg_server, target, tmp_path / "upgrade.sql")
    assert "ERROR" not in done.stderr, done.stderr
    assert not bypassrls(target.dsn, app_role)
    found = provenances(target.dsn, (compiles, fails))
    assert found[compiles] and found[fails]

    # a statement failing in the middle: nothing after it runs
    target = clone(enforced_template.name)
    hostile_rules(target.dsn, app_role)
    before = policies(target.dsn)
    marker = f'ALTER ROLE "{app_role}" BYPASSRLS;\nCREATE TABLE public.ran_after_error ();'
    (tmp_path / "tampered.sql").write_text(tamper(script, "CREATE POLICY", marker))
    done = psql(pg_server, target, tmp_path / "tampered.sql")
    assert "division by zero" in done.stderr
    assert not bypassrls(target.dsn, app_role)
    with psycopg.connect(target.dsn) as conn:
        assert conn.execute("SELECT to_regclass('public.ran_after_error')").fetchone() == (None,)
    assert policies(target.dsn) == before


def test_the_compiled_script_stops_at_an_error(
    odoo_db: Database, pg_server: PgServer, app_role: str, tmp_path: Path
) -> None:
    _, _, text = hostile_rules(odoo_db.dsn, app_role)
    result = CliRunner().invoke(cli, ["compile", "--dsn", odoo_db.dsn])
    script = result.stdout
    assert result.exit_code == 1  # the rule that does not compile: access denied for it
    # the compile error quoting the rule stays inside its comment line
    errors = [line for line in script.splitlines() if "COMPILE ERROR" in line and text in line]
    assert errors and all(line.startswith("-- COMPILE ERROR") for line in errors)
    assert not any(line.startswith(("ROLLBACK", "ALTER ROLE")) for line in script.splitlines())
    marker = f'ALTER ROLE "{app_role}" BYPASSRLS;\nCREATE TABLE public.ran_after_error ();'
    (tmp_path / "policies.sql").write_text(tamper(script, "SET LOCAL search_path", marker))
    done = psql(pg_server, odoo_db, tmp_path / "policies.sql")
    assert "division by zero" in done.stderr
    assert not bypassrls(odoo_db.dsn, app_role)
    with psycopg.connect(odoo_db.dsn) as conn:
        assert conn.execute("SELECT to_regclass('public.ran_after_error')").fetchone() == (None,)
        assert conn.execute("SELECT to_regnamespace('pgpolicy_sudo')").fetchone() == (None,)
