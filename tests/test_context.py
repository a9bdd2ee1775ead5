"""The runtime: installing it, removing it, and the context policies read — always fail closed.

Expected rows come from the Odoo oracle (`shared/odoo18/oracle.json`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from pgpolicy.cli import cli
from pgpolicy.deploy import runtime
from pgpolicy.errors import PgPolicyError
from tests.conftest import Database, use_planner

RUNTIME_OBJECTS = """
SELECT 'function', p.oid::regprocedure::text, p.proacl::text FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgpolicy'
UNION ALL SELECT 'schema', nspname, nspacl::text FROM pg_namespace WHERE nspname LIKE 'pgpolicy%'
UNION ALL SELECT 'relation', c.oid::regclass::text, c.relacl::text FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'pgpolicy%'
   OR c.relname = 'alembic_version'
ORDER BY 1, 2
"""


def objects(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(RUNTIME_OBJECTS).fetchall()


def oracle_ids(shared_dir: Path, login: str, model: str) -> list[int]:
    oracle = json.loads((shared_dir / "odoo18" / "oracle.json").read_text())
    ids: list[int] = oracle["results"][login][model]["read"]["ids"]
    return ids


def test_init_twice_then_downgrade_leaves_no_trace(odoo_db: Any, app_role: str) -> None:
    assert objects(odoo_db.dsn) == []
    runner = CliRunner()
    first = runner.invoke(cli, ["--dsn", odoo_db.dsn, "init", "--app-role", app_role])
    assert first.exit_code == 0, first.output
    assert "installed the pgpolicy runtime, version 12" in first.output
    installed = objects(odoo_db.dsn)
    assert ("relation", "pgpolicy.alembic_version") in [r[:2] for r in installed]
    assert len([r for r in installed if r[0] == "function"]) >= 14

    second = runner.invoke(cli, ["--dsn", odoo_db.dsn, "init", "--app-role", app_role])
    assert second.exit_code == 0, second.output
    assert "runtime at version 12, nothing to do" in second.output
    assert objects(odoo_db.dsn) == installed  # same functions, same grants

    runtime.uninstall(odoo_db.dsn)
    assert objects(odoo_db.dsn) == []


def test_init_errors_are_one_line_and_change_nothing(odoo_db: Any, app_role: str) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--dsn", odoo_db.dsn, "init", "--app-role", "no_such_role"])
    assert result.exit_code == 1
    assert objects(odoo_db.dsn) == []

    result = runner.invoke(cli, ["--dsn", "host=/nonexistent dbname=x", "init", "--app-role", "r"])
    assert result.exit_code == 1


def test_cli_errors_are_one_line(odoo_db: Any) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "pgpolicy", "--dsn", "host=/nonexistent dbname=x", "init",
         "--app-role", "r"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("pgpolicy: error:") and done.stderr.count("\n") == 1
    done = subprocess.run(
        [sys.executable, "-m", "pgpolicy", "--dsn", odoo_db.dsn, "init", "--app-role", "nobody"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("pgpolicy: error: role(s) do not exist: nobody")
    assert done.stderr.count("\n") == 1


def test_uninstall_refuses_while_policies_use_the_runtime(enforced_db: Database) -> None:
    with pytest.raises(PgPolicyError, match="still use the runtime"):
        runtime.uninstall(enforced_db.dsn)


@pytest.fixture(params=["sql", "c"], ids=lambda planner: f"planner-{planner}")
def protected(
    enforced_db: Database,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
    request: pytest.FixtureRequest,
) -> psycopg.Connection[Any]:
    """The Odoo clone with its own rules applied, and a connection of the app role; with
    each implementation of the plan-time functions (`pgpolicy planner`)."""
    use_planner(request, enforced_db, request.param)
    app = psycopg.connect(app_dsn(enforced_db))
    assert_rls_effective(app, ["sale_order", "res_partner"])
    return app


def so_ids(app: psycopg.Connection[Any]) -> list[int]:
    return [r[0] for r in app.execute("SELECT id FROM sale_order ORDER BY id")]


def test_context_lives_one_transaction(
    protected: psycopg.Connection[Any], shared_dir: Path
) -> None:
    app = protected
    assert so_ids(app) == []  # no context: nothing
    app.rollback()
    app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
    assert so_ids(app) == oracle_ids(shared_dir, "salesman_a", "sale.order")
    app.commit()
    assert so_ids(app) == []  # gone after COMMIT
    app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")
    assert so_ids(app) == oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    app.rollback()
    assert so_ids(app) == []  # gone after ROLLBACK
    app.rollback()


@pytest.mark.parametrize(
    ("uid", "companies", "su"),
    [
        ("", "1", "off"),  # what a pooled connection reads back after a transaction
        ("abc", "1", "off"),
        ("-1", "1", "off"),
        ("15;16", "1", "off"),
        ("15", "", "off"),
        ("15", "{x}", "off"),
        ("15", "1;2", "off"),
        ("0", "1", "on"),
        ("", "", "on"),
    ],
)
def test_malformed_context_denies(
    protected: psycopg.Connection[Any], uid: str, companies: str, su: str
) -> None:
    app = protected
    for name, value in (("uid", uid), ("company_ids", companies), ("su", su)):
        app.execute("SELECT set_config(%s, %s, true)", [f"pgpolicy.{name}", value])
    assert so_ids(app) == []
    assert app.execute("SELECT count(*) FROM res_partner").fetchone() == (0,)
    app.rollback()


def test_pooled_empty_setting_denies(protected: psycopg.Connection[Any]) -> None:
    app = protected
    app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")
    assert so_ids(app)
    app.commit()
    # the setting now exists in the session and reads back as '' (not NULL)
    assert app.execute("SELECT current_setting('pgpolicy.uid', true)").fetchone() == ("",)
    assert so_ids(app) == []
    app.rollback()


def test_bad_arguments_raise(protected: psycopg.Connection[Any]) -> None:
    app = protected
    for args in ([None, [1], False], [0, [1], False], [15, [1, None], False], [15, [1], None]):
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            app.execute("SELECT pgpolicy.set_context(%s, %s, %s)", args)
        app.rollback()


def test_companies_are_validated(protected: psycopg.Connection[Any], shared_dir: Path) -> None:
    app = protected
    app.execute("SELECT pgpolicy.set_context(15, '{2}', false)")  # not one of user 15's
    assert app.execute("SELECT pgpolicy.company_ids()").fetchone() == (None,)
    assert so_ids(app) == []
    app.rollback()
    app.execute("SELECT pgpolicy.set_context(15, NULL, false)")  # Odoo's default: his companies
    assert app.execute("SELECT pgpolicy.company_ids(), pgpolicy.company_id()").fetchone() == (
        [1],
        1,
    )
    assert so_ids(app) == oracle_ids(shared_dir, "salesman_a", "sale.order")
    app.rollback()
    app.execute("SELECT pgpolicy.set_context(16, '{2,1}', false)")  # order kept: current first
    assert app.execute("SELECT pgpolicy.company_ids(), pgpolicy.company_id()").fetchone() == (
        [2, 1],
        2,
    )
    app.rollback()


def test_group_ids_come_from_the_membership_table(
    protected: psycopg.Connection[Any], enforced_db: Database
) -> None:
    app = protected
    with psycopg.connect(enforced_db.dsn) as conn:
        expected = [r[0] for r in conn.execute(
            "SELECT gid FROM res_groups_users_rel WHERE uid = 15 ORDER BY gid")]  # fmt: skip
    app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
    assert app.execute("SELECT pgpolicy.group_ids()").fetchone() == (expected,)
    app.rollback()
    assert app.execute("SELECT pgpolicy.group_ids()").fetchone() == (None,)
    app.rollback()


def test_cached_plans_never_cross_users(
    protected: psycopg.Connection[Any], shared_dir: Path
) -> None:
    app = protected
    app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
    app.execute("PREPARE q AS SELECT id FROM sale_order ORDER BY id")
    for _ in range(6):  # past the point where PostgreSQL switches to a generic plan
        assert [r[0] for r in app.execute("EXECUTE q")] == oracle_ids(
            shared_dir, "salesman_a", "sale.order"
        )
    app.commit()
    app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")  # discards plans
    assert [r[0] for r in app.execute("EXECUTE q")] == oracle_ids(
        shared_dir, "salesmgr_ab", "sale.order"
    )
    app.commit()
    app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
    app.execute("EXECUTE q")
    # switching user behind set_context's back: the plan made for 15 returns nothing
    app.execute("SELECT set_config('pgpolicy.uid', '16', true)")
    assert list(app.execute("EXECUTE q")) == []
    app.rollback()


def test_plans_fold_groups_and_read_context_once(protected: psycopg.Connection[Any]) -> None:
    app = protected
    app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
    plan = "\n".join(r[0] for r in app.execute("EXPLAIN SELECT id FROM sale_order"))
    assert "planned_" not in plan  # decided at plan time
    # one InitPlan: the context gate, read once per statement
    assert len(re.findall(r"^\s*InitPlan", plan, flags=re.MULTILINE)) == 1, plan
    assert "user_id = 15" in plan  # user.id folded into the rule, as the ORM writes it
    app.rollback()
    app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")  # sees all orders: no user_id
    plan = "\n".join(r[0] for r in app.execute("EXPLAIN SELECT id FROM sale_order"))
    assert "user_id" not in plan
    app.rollback()


def test_superuser_mode_lifts_mirrors(
    protected: psycopg.Connection[Any], enforced_db: Database
) -> None:
    app = protected
    with psycopg.connect(enforced_db.dsn) as conn:
        total = conn.execute("SELECT count(*) FROM sale_order").fetchone()
    app.execute("SELECT pgpolicy.set_context(15, '{1}', true)")
    assert app.execute("SELECT count(*) FROM sale_order").fetchone() == total
    app.rollback()


def test_only_granted_roles_call_the_runtime(
    protected: psycopg.Connection[Any], enforced_db: Database
) -> None:
    with psycopg.connect(enforced_db.dsn, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS pgpolicy_stranger")
        conn.execute("CREATE ROLE pgpolicy_stranger LOGIN")
        stranger = enforced_db.server.dsn(enforced_db.name, "pgpolicy_stranger")
        try:
            with (
                psycopg.connect(stranger) as other,
                pytest.raises(psycopg.errors.InsufficientPrivilege),
            ):
                other.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
        finally:
            conn.execute("DROP OWNED BY pgpolicy_stranger")
            conn.execute("DROP ROLE pgpolicy_stranger")
    assert protected.execute("SELECT pgpolicy.uid()").fetchone() == (None,)


def test_auditor_view_shows_provenance(
    protected: psycopg.Connection[Any], enforced_db: Database
) -> None:
    with psycopg.connect(enforced_db.dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT command, permissive, rls_enabled, provenance->'rule_ids', "
            "provenance->>'kind' FROM pgpolicy.policies "
            "WHERE \"table\" = 'sale_order' AND policy = 'pgpolicy_read_rule_259'"
        ).fetchone()
        assert row == ("SELECT", True, True, [259], "rule")
        conn.execute("COMMENT ON POLICY pgpolicy_read_rule_259 ON sale_order IS 'by hand {'")
        row = conn.execute(
            "SELECT comment, provenance FROM pgpolicy.policies "
            "WHERE \"table\" = 'sale_order' AND policy = 'pgpolicy_read_rule_259'"
        ).fetchone()
        assert row == ("by hand {", None)
