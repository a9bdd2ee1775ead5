"""Views run with the querying role's rights: Odoo's report views over protected tables admit
what the tables' policies admit, and nothing without a context.

A view runs with its owner's privileges by default; when the owner is not the querying role
its tables' row level security is checked against the owner, who owns them: every row. Odoo's
report views (`hr_employee_public`, `timesheets_analysis_report`, ...) are owned by the table
owner, so the app role read them whole, without any context. `apply` makes every view of the
Odoo schema `security_invoker` (PostgreSQL 15+); `status` flags one that is not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgpolicy.compiler.spec import PolicySet
from pgpolicy.db import connect
from pgpolicy.deploy.apply import apply_policy_set, plan_for
from pgpolicy.deploy.catalog import read_deployed
from pgpolicy.deploy.health import health
from tests.conftest import Database, check_rls_effective

SALESMAN = 15
HR_OFFICER = 19
# Views of the dump with rows, and the tables under them the test asserts RLS effective on.
VIEWS = {
    "hr_employee_public": ["hr_employee"],
    "timesheets_analysis_report": ["account_analytic_line"],
    "report_stock_quantity": ["stock_move", "stock_quant"],
    "report_project_task_user": ["project_task"],
    "hr_leave_report": ["hr_leave", "hr_leave_allocation"],
}


@contextmanager
def as_app(
    db: Database, app_role: str, tables: list[str], uid: int | None, su: bool = False
) -> Iterator[psycopg.Connection[Any]]:
    """A transaction of the app role under (uid, [1], su), or no context; rolled back."""
    with psycopg.connect(db.server.dsn(db.name, user=app_role)) as conn:
        check_rls_effective(conn, tables)
        if uid is not None:
            conn.execute("SELECT pgpolicy.set_context(%s, %s, %s)", [uid, [1], su])
        yield conn
        conn.rollback()


def count(conn: psycopg.Connection[Any], query: sql.Composable) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM ({}) AS q").format(query)).fetchone()
    assert row is not None
    return int(row[0])


def view(name: str) -> sql.Composable:
    return sql.SQL("SELECT * FROM {}").format(sql.Identifier("public", name))


def definition(db: Database, name: str) -> sql.Composable:
    """The view's query as PostgreSQL prints it, to run as a plain sub-select."""
    with psycopg.connect(db.dsn) as conn:
        row = conn.execute("SELECT pg_get_viewdef(%s::regclass)", [f"public.{name}"]).fetchone()
    assert row is not None
    return sql.SQL(str(row[0]).strip().rstrip(";"))


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_a_view_reads_nothing_without_context(db: Database, app_role: str, name: str) -> None:
    with psycopg.connect(db.dsn) as conn:
        assert count(conn, view(name)) > 0  # the owner sees rows
    with as_app(db, app_role, VIEWS[name], None) as app:
        assert count(app, view(name)) == 0


@pytest.mark.parametrize("name", sorted(VIEWS))
@pytest.mark.parametrize("uid", [SALESMAN, HR_OFFICER])
def test_a_view_admits_what_its_tables_admit(
    db: Database, app_role: str, name: str, uid: int
) -> None:
    """Through the view, the rows its query returns when the app role runs it itself over
    the protected tables (PostgreSQL's own evaluation, not through the view), fewer than
    all; in superuser mode the mirrors are lifted, so all of them."""
    with psycopg.connect(db.dsn) as conn:
        every = count(conn, view(name))
    with as_app(db, app_role, VIEWS[name], uid) as app:
        through_view = count(app, view(name))
        direct = count(app, definition(db, name))
    assert through_view == direct < every
    with as_app(db, app_role, VIEWS[name], uid, su=True) as app:
        assert count(app, view(name)) == every


def test_views_are_invoker_after_apply_and_status_is_clean(
    owned_db: Database, app_role: str, owned_template: Any
) -> None:
    with psycopg.connect(owned_db.dsn) as conn:
        owner_rights = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'v' "
            "AND has_table_privilege(%s, c.oid, 'SELECT') "
            "AND NOT 'security_invoker=true' = ANY(coalesce(c.reloptions, '{}'))",
            [app_role],
        ).fetchall()
        assert owner_rights == []
        report = health(conn, owned_template.policy_set, [app_role])
    assert [e for e in report.unprotected if e.kind == "view"] == []


def test_a_view_recreated_with_owner_rights_is_flagged_and_repaired(
    owned_db: Database, app_role: str, owned_template: Any
) -> None:
    """As Odoo does on upgrade (CREATE OR REPLACE VIEW): status flags it, plan says it closes
    access, apply makes it invoker again."""
    with psycopg.connect(owned_db.dsn, autocommit=True) as conn:
        conn.execute("ALTER VIEW public.hr_employee_public RESET (security_invoker)")
        report = health(conn, owned_template.policy_set, [app_role])
    flagged = [(e.relation, e.kind) for e in report.unprotected]
    assert flagged == [("public.hr_employee_public", "view")]
    plan = apply_policy_set(owned_db.dsn, owned_template.policy_set, [app_role])
    assert [(c.action, c.table, c.access) for c in plan.changes] == [
        ("view_invoker", "hr_employee_public", "closes")
    ]
    with as_app(owned_db, app_role, ["hr_employee"], None) as app:
        assert count(app, view("hr_employee_public")) == 0
    again = apply_policy_set(owned_db.dsn, owned_template.policy_set, [app_role])
    assert again.empty


def test_the_view_change_is_a_reversible_migration_operation(
    owned_db: Database, app_role: str, owned_template: Any
) -> None:
    """`op.set_view_invoker(view)` in a revision; its reverse gives the owner's rights back."""
    from pgpolicy.alembic_plugin.operations import SetViewInvokerOp, plan_operations
    from pgpolicy.alembic_plugin.render import render

    with psycopg.connect(owned_db.dsn, autocommit=True) as conn:
        conn.execute("ALTER VIEW public.report_stock_quantity RESET (security_invoker)")
    with connect(owned_db.dsn) as conn:
        deployed = read_deployed(conn)
        plan = plan_for(conn, owned_template.policy_set, [app_role], deployed=deployed)
    operations = plan_operations(plan, deployed, owned_template.policy_set, [app_role])
    assert operations == [SetViewInvokerOp("report_stock_quantity", reason=operations[0].reason)]
    assert render(operations[0]).endswith('op.set_view_invoker("report_stock_quantity")')
    back = operations[0].reverse()
    assert render(back) == 'op.set_view_invoker("report_stock_quantity", invoker=False)'
    with psycopg.connect(owned_db.dsn, autocommit=True) as conn:
        for operation in (operations[0], back, operations[0]):
            for statement in operation.statements():
                conn.execute(statement)
            invoker = read_deployed(conn).views or {}
            assert invoker["report_stock_quantity"] is operation.invoker


def test_removing_policies_leaves_views_invoker(owned_db: Database, app_role: str) -> None:
    """`apply --remove` drops what pgpolicy made; views keep the querying role's rights
    (giving the owner's back would open every row)."""
    plan = apply_policy_set(owned_db.dsn, PolicySet((), (), ()), [app_role])
    assert not [c for c in plan.changes if c.action == "view_invoker"]
    with psycopg.connect(owned_db.dsn) as conn:
        assert all((read_deployed(conn).views or {}).values())
