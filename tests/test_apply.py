"""Plan and apply on the Odoo database: idempotence, drift, failures that leave nothing behind,
and the statement shapes of Odoo's ORM that PostgreSQL must not refuse (odoo-semantics §7)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from pgpolicy.cli import cli
from pgpolicy.compiler.spec import PolicySet
from pgpolicy.deploy import runtime
from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.errors import PgPolicyError
from tests.conftest import Database, EnforcedTemplate
from tests.test_oracle import acl_allows

POLICIES = "SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies ORDER BY 1, 2"


@pytest.fixture
def deployed(
    enforced_db: Database, enforced_template: EnforcedTemplate
) -> tuple[Database, PolicySet]:
    """An Odoo clone with its own rules applied, and the policy set that was applied."""
    return enforced_db, enforced_template.policy_set


def snapshot(dsn: str, query: str = POLICIES) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


def test_second_apply_executes_no_ddl(deployed: tuple[Any, PolicySet], app_role: str) -> None:
    db, policy_set = deployed
    versions = "SELECT oid, xmin::text FROM pg_policy ORDER BY oid"
    before = snapshot(db.dsn, versions)
    plan = apply_policy_set(db.dsn, policy_set, [app_role])
    assert plan.empty
    assert snapshot(db.dsn, versions) == before  # no policy row was rewritten


def test_drift_is_reported_and_repaired(deployed: tuple[Any, PolicySet], app_role: str) -> None:
    db, policy_set = deployed
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("ALTER POLICY pgpolicy_read_rule_254 ON sale_order USING (true)")
        conn.execute("DROP POLICY pgpolicy_read_rule_259 ON sale_order")
        conn.execute("ALTER TABLE crm_lead DISABLE ROW LEVEL SECURITY")
    runner = CliRunner()
    result = runner.invoke(cli, ["--dsn", db.dsn, "status", "--app-role", app_role])
    assert result.exit_code == 1
    assert "drifted: sale_order.pgpolicy_read_rule_254" in result.output
    assert "missing: sale_order.pgpolicy_read_rule_259" in result.output
    assert "unprotected table public.crm_lead (reached by " in result.output

    result = runner.invoke(
        cli, ["--dsn", db.dsn, "plan", "--app-role", app_role, "--detailed-exitcode"]
    )
    assert result.exit_code == 2
    assert "replace" in result.output and "drift: edited by hand" in result.output
    assert "enable_rls" in result.output

    plan = apply_policy_set(db.dsn, policy_set, [app_role])
    assert plan.summary() == {"replace": 1, "create": 1, "comment": 1, "enable_rls": 1}
    result = runner.invoke(cli, ["--dsn", db.dsn, "status", "--app-role", app_role])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli, ["--dsn", db.dsn, "plan", "--app-role", app_role, "--detailed-exitcode"]
    )
    assert result.exit_code == 0


def test_a_view_of_ids_edited_by_hand_is_drift_and_repaired(
    deployed: tuple[Any, PolicySet], app_role: str
) -> None:
    """A generated view whose query was replaced (its comment, the compiled source, kept)
    is planned again from the policy set, and the view reads what it read before."""
    db, policy_set = deployed
    (view,) = [f for f in policy_set.functions if f.view][:1]
    name = sql.Identifier("pgpolicy_sudo", view.name)
    read = sql.SQL("SELECT count(*) FROM {}").format(name)

    def rows() -> Any:
        with psycopg.connect(db.dsn) as conn:
            conn.execute("SELECT pgpolicy.set_context(2, ARRAY[1, 2], false)")
            return conn.execute(read).fetchone()

    before = rows()
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        edit = "CREATE OR REPLACE VIEW {} (v) AS SELECT id FROM public.sale_order"
        conn.execute(sql.SQL(edit).format(name))
    assert rows() != before
    plan = apply_policy_set(db.dsn, policy_set, [app_role])
    assert [(c.action, c.name, c.reason) for c in plan.changes] == [
        ("create_function", view.name, "drift: body edited by hand")
    ]
    assert apply_policy_set(db.dsn, policy_set, [app_role]).empty
    assert rows() == before


def test_locked_table_fails_cleanly(deployed: tuple[Any, PolicySet], app_role: str) -> None:
    db, policy_set = deployed
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("ALTER POLICY pgpolicy_read_rule_254 ON sale_order USING (true)")
    before = snapshot(db.dsn)
    with psycopg.connect(db.dsn) as holder:
        holder.execute("LOCK TABLE sale_order IN ACCESS SHARE MODE")
        with pytest.raises(PgPolicyError, match=r"public\.sale_order"):
            apply_policy_set(db.dsn, policy_set, [app_role], lock_timeout="200ms")
    assert snapshot(db.dsn) == before


def test_killed_apply_leaves_previous_policies(
    deployed: tuple[Any, PolicySet], app_role: str
) -> None:
    db, policy_set = deployed
    with psycopg.connect(db.dsn, autocommit=True) as conn:  # force a full rebuild
        conn.execute(
            "UPDATE pg_description SET description = '{}' WHERE classoid = 'pg_policy'::regclass"
        )
    before = snapshot(db.dsn)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            apply_policy_set(db.dsn, policy_set, [app_role])
        except BaseException as exc:  # the terminated connection
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    with psycopg.connect(db.dsn, autocommit=True) as killer:
        for _ in range(1000):  # up to 10 s: a loaded machine reads the catalogs slowly
            row = killer.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query LIKE '%POLICY%'"
            ).fetchone()
            if row:
                killer.execute("SELECT pg_terminate_backend(%s)", [row[0]])
                break
            time.sleep(0.01)
        else:
            pytest.fail("apply was never seen running")
    worker.join()
    assert errors, "the apply should have died"
    assert snapshot(db.dsn) == before


def test_unknown_role_is_a_clear_error(deployed: tuple[Any, PolicySet]) -> None:
    db, policy_set = deployed
    before = snapshot(db.dsn)
    with pytest.raises(PgPolicyError, match="do not exist: nobody_here"):
        apply_policy_set(db.dsn, policy_set, ["nobody_here"])
    assert snapshot(db.dsn) == before


ORM_REASSIGN = (
    'UPDATE "sale_order" SET "user_id" = "__tmp"."user_id"::int4, "write_uid" = %(uid)s, '
    "\"write_date\" = (now() AT TIME ZONE 'UTC') "
    'FROM (VALUES (%(id)s, 2)) AS "__tmp"("id", "user_id") WHERE "sale_order"."id" = "__tmp"."id"'
)
ORM_CREATE = (
    'INSERT INTO "sale_order" ("name", "partner_id", "partner_invoice_id", "partner_shipping_id", '
    '"company_id", "user_id", "date_order", "state", "picking_policy", "create_uid", "write_uid", '
    '"create_date", "write_date") VALUES (%(name)s, 10, 10, 10, 1, %(user)s, now(), '
    "'draft', 'direct', %(uid)s, %(uid)s, (now() AT TIME ZONE 'UTC'), "
    "(now() AT TIME ZONE 'UTC')) RETURNING \"id\""
)


def test_orm_shaped_writes_that_odoo_allows_succeed(
    deployed: tuple[Any, PolicySet],
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    db, _ = deployed
    with psycopg.connect(app_dsn(db)) as app:
        assert_rls_effective(app, ["sale_order"])
        app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
        assert [r[0] for r in app.execute("SELECT id FROM sale_order")] == [33]
        # Odoo lets salesman_a hand his order to another salesman (write checks the old row)
        assert app.execute(ORM_REASSIGN, {"uid": 15, "id": 33}).rowcount == 1
        # ... after which it is invisible to him, as in Odoo
        app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
        assert app.execute("SELECT count(*) FROM sale_order WHERE id = 33").fetchone() == (0,)
        app.rollback()

        app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
        created = app.execute(ORM_CREATE, {"name": "T1", "user": None, "uid": 15}).fetchone()
        assert created is not None
        app.rollback()

        # a create Odoo refuses (rule 259: own documents) is refused
        app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            app.execute(ORM_CREATE, {"name": "T2", "user": 2, "uid": 15})
        app.rollback()

        # a raw write of a row he may not write touches nothing
        app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
        assert app.execute("UPDATE sale_order SET note = 'x' WHERE id <> 33").rowcount == 0
        app.rollback()


def test_read_plans_carry_no_write_allowance(
    deployed: tuple[Any, PolicySet], app_dsn: Callable[[Any], str]
) -> None:
    db, _ = deployed
    with psycopg.connect(app_dsn(db)) as app:
        app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
        plan = "\n".join(r[0] for r in app.execute("EXPLAIN SELECT id FROM sale_order"))
        assert "write_uid" not in plan and "planned_" not in plan
        assert "user_id" in plan  # the user's own rule, folded and indexable


def test_remove_restores_the_tables(deployed: tuple[Any, PolicySet], app_role: str) -> None:
    db, _ = deployed
    rls_before_pgpolicy = "SELECT count(*) FROM pg_class WHERE relrowsecurity"
    runner = CliRunner()
    result = runner.invoke(cli, ["apply", "--dsn", db.dsn, "--app-role", app_role, "--remove"])
    assert result.exit_code == 0, result.output
    assert snapshot(db.dsn, "SELECT count(*) FROM pg_policy") == [(0,)]
    assert snapshot(db.dsn, rls_before_pgpolicy) == [(0,)]
    assert (
        snapshot(db.dsn, "SELECT nspname FROM pg_namespace WHERE nspname = 'pgpolicy_sudo'") == []
    )
    runtime.uninstall(db.dsn)  # allowed now that no policy uses the runtime
    assert snapshot(db.dsn, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pgpolicy%'") == []


COMMENT_OF_259 = (
    "SELECT obj_description(p.oid, 'pg_policy')::jsonb FROM pg_policy p "
    "WHERE p.polname = 'pgpolicy_read_rule_259' AND p.polrelid = 'sale_order'::regclass"
)


def test_deep_check_sees_a_hand_edit_with_a_forged_comment(
    deployed: tuple[Any, PolicySet], app_role: str
) -> None:
    db, _ = deployed
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        before = conn.execute(COMMENT_OF_259).fetchone()
        assert before is not None
        conn.execute("ALTER POLICY pgpolicy_read_rule_259 ON sale_order USING (true)")
        # rewrite the comment so that its recorded rendering matches the edited policy
        rendered = deployed_fingerprint(conn)
        forged = json.dumps({**before[0], "rendered": rendered})
        conn.execute(
            sql.SQL("COMMENT ON POLICY pgpolicy_read_rule_259 ON sale_order IS {}").format(
                sql.Literal(forged)
            )
        )
    runner = CliRunner()
    status = ["--dsn", db.dsn, "status", "--app-role", app_role]
    assert runner.invoke(cli, status).exit_code == 0  # the hashes alone are fooled
    result = runner.invoke(cli, [*status, "--deep"])
    assert result.exit_code == 1, result.output
    assert "drifted: sale_order.pgpolicy_read_rule_259" in result.output

    plan = ["--dsn", db.dsn, "plan", "--app-role", app_role, "--detailed-exitcode"]
    assert runner.invoke(cli, plan).exit_code == 0
    result = runner.invoke(cli, [*plan, "--deep"])
    assert result.exit_code == 2, result.output
    assert "PostgreSQL renders it unlike the compiled rule" in result.output

    result = runner.invoke(cli, ["--dsn", db.dsn, "apply", "--app-role", app_role, "--deep"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, [*status, "--deep"]).exit_code == 0
    with psycopg.connect(db.dsn) as conn:
        qual = conn.execute(
            "SELECT qual FROM pg_policies WHERE policyname = 'pgpolicy_read_rule_259'"
        ).fetchone()
    assert qual is not None and qual[0] != "true"


def deployed_fingerprint(conn: psycopg.Connection[Any]) -> str:
    """What pgpolicy's catalog reader records as the rendering of rule 259's read policy."""
    from pgpolicy.deploy.catalog import read_deployed

    return read_deployed(conn).policies[("sale_order", "pgpolicy_read_rule_259")].fingerprint


@pytest.mark.parametrize("hazard", ["superuser", "bypassrls", "owner"])
def test_status_says_when_enforcement_is_void(
    deployed: tuple[Any, PolicySet], app_role: str, hazard: str
) -> None:
    db, _ = deployed
    role = f"pgpolicy_void_{hazard}"
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        attributes = {"superuser": "SUPERUSER", "bypassrls": "BYPASSRLS", "owner": ""}[hazard]
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL(f"CREATE ROLE {{}} {attributes}").format(sql.Identifier(role)))
        if hazard == "owner":
            conn.execute(sql.SQL("ALTER TABLE crm_lead OWNER TO {}").format(sql.Identifier(role)))
    try:
        runner = CliRunner()
        result = runner.invoke(
            cli, ["--dsn", db.dsn, "status", "--app-role", app_role, "--app-role", role]
        )
        assert result.exit_code == 1, result.output
        expected = {
            "superuser": f"role {role} is a superuser: enforcement is void for it",
            "bypassrls": f"role {role} has BYPASSRLS: enforcement is void for it",
            "owner": f"role {role} owns crm_lead without FORCE ROW LEVEL SECURITY",
        }[hazard]
        assert f"ERROR: {expected}" in result.output
        if hazard == "owner":  # apply sets FORCE on the tables an app role owns
            result = runner.invoke(
                cli, ["--dsn", db.dsn, "apply", "--app-role", app_role, "--app-role", role]
            )
            assert result.exit_code == 0, result.output
            result = runner.invoke(
                cli, ["--dsn", db.dsn, "status", "--app-role", app_role, "--app-role", role]
            )
            assert "owns crm_lead" not in result.output, result.output
    finally:
        with psycopg.connect(db.dsn, autocommit=True) as conn:
            if hazard == "owner":
                conn.execute("ALTER TABLE crm_lead OWNER TO CURRENT_USER")
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def oracle_users(shared_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    oracle = json.loads((shared_dir / "odoo18" / "oracle.json").read_text())
    acls = json.loads((shared_dir / "odoo18" / "acl.json").read_text())["acls"]
    return oracle, acls


@pytest.mark.parametrize(
    ("login", "model", "mode"),
    [
        ("salesman_a", "sale.order", "read"),
        ("salesmgr_ab", "sale.order", "write"),
        ("portal_user", "account.move", "read"),
        ("accountant_b", "account.move", "unlink"),
        ("project_user", "project.task", "read"),
    ],
)
def test_explain_counts_what_odoo_allows(
    deployed: tuple[Any, PolicySet], shared_dir: Path, login: str, model: str, mode: str
) -> None:
    db, _ = deployed
    oracle, acls = oracle_users(shared_dir)
    user = oracle["users"][login]
    expected = oracle["results"][login][model][mode]
    allowed = acl_allows(acls, set(user["group_ids"]), model, mode)
    result = CliRunner().invoke(
        cli,
        ["--dsn", db.dsn, "--format", "json", "explain",
         "--user", login, "--model", model, "--mode", mode],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["acl_granted"] == allowed
    assert data["rows"] == (expected["count"] if allowed else 0)
    applied = sorted(r["id"] for r in data["rules"] if r["applies"])
    assert applied == sorted(expected["rule_ids"])


def test_who_can_names_the_users_odoo_allows(
    deployed: tuple[Any, PolicySet], shared_dir: Path
) -> None:
    db, _ = deployed
    oracle, acls = oracle_users(shared_dir)
    model = "sale.order"
    record = oracle["results"]["salesman_a"][model]["read"]["ids"][0]
    result = CliRunner().invoke(
        cli, ["--dsn", db.dsn, "--format", "json", "who-can", "--model", model, "--id", str(record)]
    )
    assert result.exit_code == 0, result.output
    found = {row["login"]: set(row["modes"]) for row in json.loads(result.output)}
    for login, user in oracle["users"].items():
        if user["allowed_company_ids"] != user["company_ids"]:
            continue  # who-can asks with each user's default companies
        expected = {
            mode
            for mode in ("read", "write", "unlink")
            if acl_allows(acls, set(user["group_ids"]), model, mode)
            and record in oracle["results"][login][model][mode]["ids"]
        }
        assert found.get(login, set()) & {"read", "write", "unlink"} == expected, login
