"""Every table the app role reaches is protected: many2many relation tables with the semantics
of the fields stored in them, the inheritance parent `ir_actions`, tables no model maps.

On the Odoo dump restored with a non-superuser owner (`owned_db`), as the app role with RLS
asserted effective. Without these policies a salesman joined the Settings group or another
company with one INSERT, and `pgpolicy status` reported nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.health import health
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.odoo.metadata import read_catalog
from tests.conftest import OWNER_ROLE, Database, check_rls_effective, clean_env

SALESMAN = 15  # salesman_a: Sales / User own documents, company 1
ADMIN = 2  # Access Rights and Settings
SALES_ALL_LEADS = 22  # sales_team.group_sale_salesman_all_leads
SETTINGS = 4  # base.group_system
MEMBERSHIP = ("res_groups_users_rel", "res_company_users_rel")

# Relations of every schema but PostgreSQL's own that a role reaches and no policy holds,
# computed here independently of pgpolicy's own report.
EXPOSED = """
SELECT format('%%I.%%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND has_schema_privilege(%(role)s, n.oid, 'USAGE')
   AND has_table_privilege(%(role)s, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
   AND NOT (c.relkind IN ('r', 'p') AND c.relrowsecurity)
   AND NOT (c.relkind = 'v' AND 'security_invoker=true' = ANY(coalesce(c.reloptions, '{}')))
 ORDER BY 1
"""


@contextmanager
def as_app(
    db: Database, app_role: str, uid: int | None, companies: list[int], su: bool = False
) -> Iterator[psycopg.Connection[Any]]:
    """A transaction of the app role, with RLS checked effective on the membership tables,
    under the context (uid, companies, su), or none when `uid` is None; rolled back."""
    with psycopg.connect(db.server.dsn(db.name, user=app_role)) as conn:
        check_rls_effective(conn, [*MEMBERSHIP, "ir_actions", "sale_order"])
        if uid is not None:
            conn.execute("SELECT pgpolicy.set_context(%s, %s, %s)", [uid, companies, su])
        yield conn
        conn.rollback()


def count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


def superuser_rows(db: Database, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db.dsn) as conn:
        return conn.execute(query.encode()).fetchall()


def acl_allows(oracle: dict[str, Any], login: str, model: str, mode: str) -> bool:
    groups = set(oracle["users"][login]["group_ids"])
    return any(
        a["model"] == model
        and a["active"]
        and a[f"perm_{mode}"]
        and (a["group_id"] is None or a["group_id"] in groups)
        for a in oracle["acls"]
    )


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("res_groups_users_rel", {"gid": SALES_ALL_LEADS, "uid": SALESMAN}),
        ("res_groups_users_rel", {"gid": SETTINGS, "uid": SALESMAN}),
        ("res_company_users_rel", {"cid": 2, "user_id": SALESMAN}),
    ],
)
def test_a_salesman_cannot_grant_themselves_a_group_or_a_company(
    db: Database, app_role: str, oracle: dict[str, Any], table: str, row: dict[str, int]
) -> None:
    """Odoo changes these rows by writing res.users.groups_id / company_ids (or the inverse
    fields of res.groups and res.company), which needs the write right on those models:
    salesman_a has none."""
    for model in ("res.users", "res.groups", "res.company"):
        assert not acl_allows(oracle, "salesman_a", model, "write")
    with as_app(db, app_role, SALESMAN, [1]) as app:
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(map(sql.Literal, row.values())),
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            app.execute(insert)


def test_a_salesman_cannot_leave_their_groups_or_companies(db: Database, app_role: str) -> None:
    """Deleting one's own membership (to escape a group-based profile) changes nothing."""
    before = superuser_rows(
        db, f"SELECT count(*) FROM res_groups_users_rel WHERE uid = {SALESMAN}"
    )[0][0]
    assert before > 0
    with as_app(db, app_role, SALESMAN, [1]) as app:
        groups = app.execute("DELETE FROM res_groups_users_rel WHERE uid = %s", [SALESMAN])
        assert groups.rowcount == 0
        companies = app.execute("DELETE FROM res_company_users_rel WHERE user_id = %s", [SALESMAN])
        assert companies.rowcount == 0
        moved = app.execute(
            "UPDATE res_groups_users_rel SET gid = %s WHERE uid = %s", [SETTINGS, SALESMAN]
        )
        assert moved.rowcount == 0


def test_who_may_write_users_may_change_memberships(
    db: Database, app_role: str, oracle: dict[str, Any]
) -> None:
    """The administrator (Access Rights: write on res.users) may, as in Odoo."""
    groups = {
        g
        for (g,) in superuser_rows(db, f"SELECT gid FROM res_groups_users_rel WHERE uid = {ADMIN}")
    }
    assert any(
        a["model"] == "res.users" and a["perm_write"] and a["group_id"] in groups
        for a in oracle["acls"]
    )
    with as_app(db, app_role, ADMIN, [1, 2]) as app:
        app.execute(
            "INSERT INTO res_groups_users_rel (gid, uid) VALUES (%s, %s)",
            [SALES_ALL_LEADS, SALESMAN],
        )
        assert (
            app.execute(
                "DELETE FROM res_company_users_rel WHERE user_id = %s AND cid = 1", [SALESMAN]
            ).rowcount
            == 1
        )


@pytest.mark.parametrize(
    "table",
    ["res_groups_users_rel", "res_company_users_rel", "crm_tag_rel", "task_dependencies_rel"],
)
def test_relation_rows_are_read_as_odoo_reads_the_fields(
    db: Database, app_role: str, oracle: dict[str, Any], table: str
) -> None:
    """A row is readable through any many2many field stored in the table whose owner record
    (`column1`) salesman_a may read (access right, record rules) and whose other side
    (`column2`) passes the comodel's read rules (`Many2many.read`). Rules as the oracle
    computed them in Odoo; a model the oracle does not list has no rule."""
    fields = superuser_rows(
        db,
        "SELECT f.model, f.column1, f.column2, f.relation FROM ir_model_fields f "
        "JOIN pg_class c ON c.relname = replace(f.model, '.', '_') AND c.relkind = 'r' "
        f"WHERE f.relation_table = '{table}' AND f.ttype = 'many2many' AND f.store",
    )
    assert fields
    results = oracle["results"]["salesman_a"]

    def passes_rules(model: str, record: int) -> bool:
        return model not in oracle["models"] or record in results[model]["read"]["ids"]

    columns = sorted({c for _, c1, c2, _ in fields for c in (c1, c2)})
    assert len(columns) == 2
    select = f'SELECT "{columns[0]}", "{columns[1]}" FROM "{table}" ORDER BY 1, 2'
    every = superuser_rows(db, select)
    expected = [
        row
        for row in every
        if any(
            acl_allows(oracle, "salesman_a", owner, "read")
            and passes_rules(owner, dict(zip(columns, row, strict=True))[column1])
            and passes_rules(comodel, dict(zip(columns, row, strict=True))[column2])
            for owner, column1, column2, comodel in fields
        )
    ]
    assert expected
    with as_app(db, app_role, SALESMAN, [1]) as app:
        check_rls_effective(app, [table])
        assert app.execute(select.encode()).fetchall() == expected


def test_no_context_reads_no_relation_row(db: Database, app_role: str) -> None:
    with as_app(db, app_role, None, []) as app:
        for table in (*MEMBERSHIP, "rule_group_rel", "mail_message_res_partner_rel"):
            assert count(app, table) == 0, table
            check_rls_effective(app, [table])


def test_enforcement_still_reads_membership(
    db: Database, app_role: str, oracle: dict[str, Any]
) -> None:
    """The runtime's readers read the membership tables past their policies: a salesman's
    groups and companies still decide what the models' policies admit."""
    definers = superuser_rows(
        db,
        "SELECT DISTINCT r.rolsuper FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner "
        "WHERE p.pronamespace = 'pgpolicy'::regnamespace AND p.prosecdef",
    )
    assert definers == [(True,)]  # row level security never holds a superuser, forced or not
    expected = oracle["results"]["salesman_a"]["sale.order"]["read"]["count"]
    with as_app(db, app_role, SALESMAN, [1]) as app:
        assert count(app, "sale_order") == expected
        groups = app.execute("SELECT pgpolicy.group_ids()").fetchone()
        assert groups == (oracle["users"]["salesman_a"]["group_ids"],)


def test_the_inheritance_parent_is_protected(
    db: Database, app_role: str, oracle: dict[str, Any]
) -> None:
    """A query naming `ir_actions` reads its children's rows (`ir_act_window`, ...) under the
    parent's policies only: those of ir.actions.actions (read: Settings only), lifted in
    superuser mode."""
    assert not acl_allows(oracle, "salesman_a", "ir.actions.actions", "read")
    every = superuser_rows(db, "SELECT count(*) FROM ir_actions")[0][0]
    assert every > 0
    with as_app(db, app_role, SALESMAN, [1]) as app:
        assert count(app, "ir_actions") == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            app.execute("INSERT INTO ir_actions (name, type) VALUES ('{\"en_US\": \"x\"}', 'x')")
    with as_app(db, app_role, SALESMAN, [1], su=True) as app:
        assert count(app, "ir_actions") == every
    with as_app(db, app_role, ADMIN, [1]) as app:  # in Settings
        assert count(app, "ir_actions") == every


def test_a_table_no_model_maps_is_for_the_system_principal(
    owned_db: Database, app_role: str
) -> None:
    """A table the owner made outside Odoo's models: apply protects it; only uid 1 in
    superuser mode (registry loading, install, upgrade) reads or writes it."""
    with psycopg.connect(owned_db.dsn, autocommit=True) as conn:
        # made by a superuser (init revokes CREATE on public), then given to the owner role
        conn.execute("CREATE TABLE public.leftover (id integer)")
        conn.execute(
            sql.SQL("ALTER TABLE public.leftover OWNER TO {}").format(sql.Identifier(OWNER_ROLE))
        )
        conn.execute("INSERT INTO public.leftover VALUES (1), (2)")
        conn.execute(
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON public.leftover TO {}").format(
                sql.Identifier(app_role)
            )
        )
    with psycopg.connect(owned_db.dsn) as conn:
        policy_set = build_policy_set(read_catalog(conn), [app_role])
    assert "leftover" in {t.table for t in policy_set.tables}
    apply_policy_set(owned_db.dsn, policy_set, [app_role])
    for uid, su, expected in ((SALESMAN, False, 0), (ADMIN, True, 0), (1, True, 2)):
        with as_app(owned_db, app_role, uid, [1], su=su) as app:
            check_rls_effective(app, ["leftover"])
            assert count(app, "leftover") == expected, (uid, su)
            if expected == 0:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    app.execute("INSERT INTO public.leftover VALUES (3)")


def test_no_reachable_relation_is_left_unprotected(
    owned_db: Database, app_role: str, owned_template: Any
) -> None:
    """After init + apply on the dump restored with a non-superuser owner, every relation the
    app role reaches is held by row level security (counted here), and status lists none."""
    with psycopg.connect(owned_db.dsn) as conn:
        exposed = [name for (name,) in conn.execute(EXPOSED, {"role": app_role})]
        # the views of ids the policies read past the comodel's rules are exposed on
        # purpose, and only those the policy set generates (docs/semantics.md)
        generated = {
            f"pgpolicy_sudo.{f.name}" for f in owned_template.policy_set.functions if f.view
        }
        assert [name for name in exposed if name not in generated] == []
        assert len(generated) > 100
        report = health(conn, owned_template.policy_set, [app_role])
    assert report.unprotected == []
    assert report.errors == []


def test_status_lists_every_reachable_relation_without_protection(
    owned_db: Database,
    app_role: str,
    owned_template: Any,
    pgpolicy_status: Callable[[Database], tuple[int, dict[str, Any]]],
) -> None:
    """A table whose RLS was switched off, a view back to its owner's rights, a materialized
    view and a table of another schema: each is listed, and status exits 1."""
    app = sql.Identifier(app_role)
    with psycopg.connect(owned_db.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE public.res_groups_users_rel DISABLE ROW LEVEL SECURITY")
        conn.execute("ALTER VIEW public.hr_employee_public RESET (security_invoker)")
        conn.execute("CREATE MATERIALIZED VIEW public.order_totals AS SELECT id FROM sale_order")
        conn.execute(sql.SQL("GRANT SELECT ON public.order_totals TO {}").format(app))
        conn.execute("CREATE SCHEMA reports")
        conn.execute("CREATE TABLE reports.margins (id integer)")
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA reports TO {}").format(app))
        conn.execute(sql.SQL("GRANT SELECT ON reports.margins TO {}").format(app))
        generated = {
            f"pgpolicy_sudo.{f.name}" for f in owned_template.policy_set.functions if f.view
        }
        expected = [r for (r,) in conn.execute(EXPOSED, {"role": app_role}) if r not in generated]
    assert expected == [
        "public.hr_employee_public",
        "public.order_totals",
        "public.res_groups_users_rel",
        "reports.margins",
    ]
    code, report = pgpolicy_status(owned_db)
    assert code == 1
    assert sorted(e["relation"] for e in report["unprotected"]) == expected
    assert {e["kind"] for e in report["unprotected"]} == {"table", "view", "materialized view"}


@pytest.fixture
def pgpolicy_status(app_role: str) -> Callable[[Database], tuple[int, dict[str, Any]]]:
    """`pgpolicy status --format json` as a DBA runs it: exit code and report."""

    def status(db: Database) -> tuple[int, dict[str, Any]]:
        result = subprocess.run(
            [sys.executable, "-m", "pgpolicy", "--dsn", db.dsn, "--format", "json", "status",
             "--app-role", app_role],
            env=clean_env(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode in (0, 1), result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return result.returncode, data

    return status
