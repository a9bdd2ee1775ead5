"""The runtime schema on real servers: install and removal, the context it keeps, and how
policies read it (fail closed, plan-time folding, the context gate, privileges, the auditor
view, `pgpolicy init`).

Users of the Odoo database: 15 salesman_a (company 1), 16 salesmgr_ab (companies 1, 2),
17 accountant_b (company 2).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from alembic import command
from pgpolicy.deploy import runtime
from pgpolicy.errors import PgPolicyError
from pgpolicy.resources import alembic_dir
from tests.conftest import use_planner

GATE = "(SELECT true WHERE pgpolicy.context_key() = pgpolicy.planned_context_key()) IS NOT NULL"
BY_COMPANY = sql.SQL("company_id = ANY((SELECT pgpolicy.company_ids())::int[])")
# A call of each function the app roles are granted, with valid arguments.
CALLS = {
    "set_context(integer, integer[], boolean, boolean, text[], text, text)": (
        "SELECT pgpolicy.set_context(15, '{1}', false)"
    ),
    "uid()": "SELECT pgpolicy.uid()",
    "su()": "SELECT pgpolicy.su()",
    "today()": "SELECT pgpolicy.today()",
    "company_ids()": "SELECT pgpolicy.company_ids()",
    "company_id()": "SELECT pgpolicy.company_id()",
    "group_ids()": "SELECT pgpolicy.group_ids()",
    "context_key()": "SELECT pgpolicy.context_key()",
    "planned_uid()": "SELECT pgpolicy.planned_uid()",
    "planned_su()": "SELECT pgpolicy.planned_su()",
    "planned_company_ids()": "SELECT pgpolicy.planned_company_ids()",
    "planned_company_id()": "SELECT pgpolicy.planned_company_id()",
    "planned_group_ids()": "SELECT pgpolicy.planned_group_ids()",
    "planned_context_key()": "SELECT pgpolicy.planned_context_key()",
    "planned_in_groups(integer[])": "SELECT pgpolicy.planned_in_groups('{1}')",
    "planned_system()": "SELECT pgpolicy.planned_system()",
    "planned_write()": "SELECT pgpolicy.planned_write()",
    "planned_shadow()": "SELECT pgpolicy.planned_shadow()",
    "shadow_denied(text, text, integer[], integer)": "SELECT pgpolicy.shadow_denied('t', 'p', '{1}', 1)",
    "version()": "SELECT pgpolicy.version()",
    "set_profiles(text[])": "SELECT pgpolicy.set_profiles(NULL) WHERE false",
    "profile_names()": "SELECT pgpolicy.profile_names()",
    "planned_in_profiles(text[])": "SELECT pgpolicy.planned_in_profiles('{a}')",
    "planned_profile_in_force(text)": "SELECT pgpolicy.planned_profile_in_force('a')",
    "user_tz()": "SELECT pgpolicy.user_tz()",
    "local_today()": "SELECT pgpolicy.local_today()",
    "login_allowed(integer)": "SELECT pgpolicy.login_allowed(15)",
    "check_locked(regclass, name, integer, anyelement, text, text)": (
        "SELECT pgpolicy.check_locked('sale_order', 'id', 33, 33, 'p', 'sale.order')"
    ),
    "forget_context_plans()": "SELECT pgpolicy.forget_context_plans()",
    "sealed_context()": "SELECT pgpolicy.sealed_context()",
    "pending_count()": "SELECT pgpolicy.pending_count()",
    "analyst_session()": "SELECT pgpolicy.analyst_session()",
    "analyst_uid()": "SELECT pgpolicy.analyst_uid()",
    "analyst_company_ids()": "SELECT pgpolicy.analyst_company_ids()",
    # runtime 10: no ir_sequence row 9xxx, so each only refuses or does nothing
    "odoo_sequence_create(text, bigint, bigint)": (
        "SELECT count(*) FROM (SELECT pgpolicy.odoo_sequence_create(s, 1, 1) FROM unnest("
        "'{}'::text[]) s) x"
    ),
    "odoo_sequence_alter(text, bigint, bigint)": (
        "SELECT pgpolicy.odoo_sequence_alter('ir_sequence_9999', 1, 1)"
    ),
    "odoo_sequence_drop(text[])": "SELECT pgpolicy.odoo_sequence_drop('{}')",
    "odoo_rules_changed()": "SELECT pgpolicy.odoo_rules_changed()",
    "note_nested_plan()": "SELECT pgpolicy.note_nested_plan()",
}
RUNTIME_FUNCTIONS = {
    "set_context", "uid", "su", "today", "company_ids", "company_id", "group_ids", "context_key",
    "planned_uid", "planned_su", "planned_in_groups", "planned_system", "planned_write",
    "planned_company_ids", "planned_company_id", "planned_group_ids", "planned_context_key",
    "planned_shadow", "shadow_denied", "version", "provenance_of",
    "set_profiles", "profile_names", "planned_in_profiles", "planned_profile_in_force", "user_tz",
    "local_today", "login_allowed", "check_locked", "member_profiles", "profiles_of", "audit_profile_change",
    "forget_context_plans", "planner",
    "sealed_context", "context_seal", "context_message", "context_part",
    "pending_count", "protect_new_relations", "is_app_role",
    "analyst_session", "analyst_uid", "analyst_company_ids", "refuse_analyst",
    "odoo_sequence_create", "odoo_sequence_alter", "odoo_sequence_drop", "odoo_sequence_ids",
    "odoo_sequence_row", "odoo_rules_fingerprint", "record_applied_rules", "odoo_rules_changed",
    "note_nested_plan",
}  # fmt: skip
# Called only from inside the runtime (as its owner), never granted.
INTERNAL_FUNCTIONS = {
    "provenance_of", "member_profiles", "profiles_of", "audit_profile_change", "planner",
    "context_seal", "context_message", "context_part",
    "protect_new_relations", "is_app_role", "refuse_analyst",
    "odoo_sequence_ids", "odoo_sequence_row", "odoo_rules_fingerprint", "record_applied_rules",
}  # fmt: skip
# An InitPlan's result as EXPLAIN names it: $n up to PostgreSQL 15, (InitPlan n).col1 since 16.
INITPLAN_PARAM = r"(?:\$\d+|\(InitPlan \d+\)\.col1)"


# --- helpers ----------------------------------------------------------------------------------


def superuser(db: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(db.dsn, autocommit=True)


def scalar(conn: psycopg.Connection[Any], query: str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def ids(conn: psycopg.Connection[Any], query: str = "SELECT id FROM sale_order") -> list[int]:
    return sorted(row[0] for row in conn.execute(query))


def company_orders(db: Any, *companies: int) -> list[int]:
    with superuser(db) as conn:
        return sorted(
            row[0]
            for row in conn.execute(
                "SELECT id FROM sale_order WHERE company_id = ANY(%s)", [list(companies)]
            )
        )


def traces(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Everything of the runtime a removal must take away."""
    row = conn.execute(
        """
        SELECT (SELECT array_agg(nspname::text) FROM pg_namespace WHERE nspname LIKE 'pgpolicy%%'),
               (SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'pgpolicy'),
               (SELECT array_agg(proname::text) FROM pg_proc WHERE proname = ANY(%s)
                  AND pronamespace <> 'pg_catalog'::regnamespace),
               (SELECT array_agg(c.oid::regclass::text) FROM pg_class c
                 WHERE c.relname LIKE '%%alembic%%version%%')
        """,
        [sorted(RUNTIME_FUNCTIONS)],
    ).fetchone()
    assert row is not None
    names = ("schemas", "functions in schema pgpolicy", "runtime function names", "version tables")
    return {name: value for name, value in zip(names, row, strict=True) if value}


def catalog_snapshot(conn: psycopg.Connection[Any]) -> Any:
    """The runtime's catalog entries, privileges included, as comparable data."""
    return scalar(
        conn,
        """
        SELECT jsonb_build_object(
            'schema', (SELECT jsonb_build_object('oid', n.oid, 'owner', n.nspowner,
                                                 'acl', n.nspacl::text[])
                         FROM pg_namespace n WHERE n.nspname = 'pgpolicy'),
            'functions', (SELECT jsonb_agg(jsonb_build_object(
                                 'signature', p.oid::regprocedure::text, 'oid', p.oid,
                                 'source', md5(p.prosrc), 'acl', p.proacl::text[],
                                 'volatility', p.provolatile, 'parallel', p.proparallel,
                                 'definer', p.prosecdef, 'config', p.proconfig)
                                 ORDER BY p.oid::regprocedure::text)
                            FROM pg_proc p WHERE p.pronamespace = 'pgpolicy'::regnamespace),
            'relations', (SELECT jsonb_agg(jsonb_build_object(
                                 'name', c.relname, 'oid', c.oid, 'acl', c.relacl::text[])
                                 ORDER BY c.relname)
                            FROM pg_class c WHERE c.relnamespace = 'pgpolicy'::regnamespace),
            'version', (SELECT jsonb_agg(version_num) FROM pgpolicy.alembic_version))
        """,
    )


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def set_raw(conn: psycopg.Connection[Any], uid: str, companies: str, su: str) -> None:
    """Write the context settings by hand, as a buggy or hostile client could."""
    for name, value in (("uid", uid), ("company_ids", companies), ("su", su)):
        conn.execute("SELECT set_config(%s, %s, true)", [f"pgpolicy.{name}", value])


@pytest.fixture
def runtime_db(odoo_db: Any, app_role: str, grant_app: Callable[[Any], None]) -> Any:
    """The Odoo clone with the runtime installed and the app role granted."""
    grant_app(odoo_db)
    runtime.install(odoo_db.dsn, [app_role])
    return odoo_db


def protect_sale_order(db: Any, app_role: str, using: sql.Composable = BY_COMPANY) -> None:
    """sale_order as compiled policies leave it: RLS forced, the context gate, one rule."""
    role = sql.Identifier(app_role)
    with superuser(db) as conn:
        conn.execute("ALTER TABLE public.sale_order ENABLE ROW LEVEL SECURITY")
        conn.execute("ALTER TABLE public.sale_order FORCE ROW LEVEL SECURITY")
        conn.execute(
            sql.SQL(
                "CREATE POLICY test_context ON public.sale_order AS RESTRICTIVE FOR ALL TO {} "
                "USING ({})"
            ).format(role, sql.SQL(GATE))
        )
        conn.execute(
            sql.SQL(
                "CREATE POLICY test_rule ON public.sale_order AS PERMISSIVE FOR ALL TO {} "
                "USING ({})"
            ).format(role, using)
        )


@pytest.fixture
def protected_db(runtime_db: Any, app_role: str) -> Any:
    protect_sale_order(runtime_db, app_role)
    return runtime_db


@pytest.fixture
def app(
    protected_db: Any,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the app role to the protected database, RLS proven effective."""
    with psycopg.connect(app_dsn(protected_db)) as conn:
        assert_rls_effective(conn, ["sale_order"])
        conn.rollback()
        yield conn


@pytest.fixture
def make_role(pg_server: Any) -> Iterator[Callable[[Any], str]]:
    """`make_role(db)`: a new LOGIN role (no privileges), dropped after the test."""
    made: list[tuple[Any, str]] = []

    def make(db: Any) -> str:
        name = f"pgpolicy_test_{uuid.uuid4().hex[:8]}"
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        made.append((db, name))
        return name

    yield make
    for db, name in made:
        with superuser(db) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        with pg_server.admin() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


# --- install, upgrade, removal ----------------------------------------------------------------


def test_install_twice_changes_nothing_and_uninstall_leaves_no_trace(
    odoo_db: Any, app_role: str
) -> None:
    with superuser(odoo_db) as conn:
        assert traces(conn) == {}

    first = runtime.install(odoo_db.dsn, [app_role])
    assert (first.before, first.after, first.granted) == (None, "12", (app_role,))
    assert first.summary() == f"installed the pgpolicy runtime, version 12; granted to {app_role}"
    with superuser(odoo_db) as conn:
        assert runtime.installed_version(conn) == "12"
        snapshot = catalog_snapshot(conn)

    second = runtime.install(odoo_db.dsn, [app_role])
    assert (second.before, second.after, second.changed, second.granted) == ("12", "12", False, ())
    assert second.summary() == (
        f"runtime at version 12, nothing to do; grants unchanged for {app_role}"
    )
    with superuser(odoo_db) as conn:
        assert catalog_snapshot(conn) == snapshot

    assert runtime.uninstall(odoo_db.dsn) == "12"
    with superuser(odoo_db) as conn:
        assert traces(conn) == {}
        assert runtime.installed_version(conn) is None
    assert runtime.uninstall(odoo_db.dsn) is None  # nothing installed: nothing to do


def test_installs_before_odoo_creates_its_tables(empty_db: Any, app_role: str) -> None:
    """A new database gets the runtime first, then `odoo -i base` creates the tables."""
    result = runtime.install(empty_db.dsn, [app_role])
    assert result.after == "12"
    with superuser(empty_db) as conn:
        assert scalar(conn, "SELECT pgpolicy.version()") == "12"
        assert scalar(conn, "SELECT pgpolicy.uid()") is None
    runtime.uninstall(empty_db.dsn)
    with superuser(empty_db) as conn:
        assert traces(conn) == {}


def test_a_new_app_role_is_granted_on_a_second_run(
    odoo_db: Any, app_role: str, make_role: Callable[[Any], str]
) -> None:
    runtime.install(odoo_db.dsn, [app_role])
    other = make_role(odoo_db)
    result = runtime.install(odoo_db.dsn, [app_role, other, app_role])
    assert (result.changed, result.roles, result.granted) == (False, (app_role, other), (other,))
    assert result.summary() == (
        f"runtime at version 12, nothing to do; granted to {other}; grants unchanged for {app_role}"
    )


def test_alembic_command_line_upgrade_and_downgrade(odoo_db: Any, tmp_path: Path) -> None:
    """The DBA's way, as documented in alembic/env.py: alembic -x dsn=... upgrade head."""
    alembic = [
        str(Path(sys.executable).with_name("alembic")),
        "-c", str(alembic_dir() / "alembic.ini"), "-x", f"dsn={odoo_db.dsn}",
    ]  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*alembic, *args], cwd=tmp_path, env=clean_env(), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done

    run("current")  # on a database without the runtime: leaves nothing behind
    with superuser(odoo_db) as conn:
        assert traces(conn) == {}
    run("upgrade", "head")
    assert "0012 (head)" in run("current").stdout
    with superuser(odoo_db) as conn:
        assert runtime.installed_version(conn) == "12"
        assert scalar(conn, "SELECT to_regclass('pgpolicy.alembic_version')::text") == (
            "pgpolicy.alembic_version"
        )
    run("downgrade", "base")
    with superuser(odoo_db) as conn:
        assert traces(conn) == {}


def test_downgrade_is_refused_while_policies_call_the_runtime(protected_db: Any) -> None:
    with pytest.raises(PgPolicyError, match="policies still use the runtime"):
        runtime.uninstall(protected_db.dsn)
    with superuser(protected_db) as conn:
        assert runtime.installed_version(conn) == "12"
        conn.execute("DROP POLICY test_context ON sale_order")
        conn.execute("DROP POLICY test_rule ON sale_order")
    runtime.uninstall(protected_db.dsn)
    with superuser(protected_db) as conn:
        assert traces(conn) == {}


def test_install_needs_a_superuser(
    odoo_db: Any, app_role: str, app_dsn: Callable[[Any], str]
) -> None:
    with pytest.raises(PgPolicyError, match="is not a superuser"):
        runtime.install(app_dsn(odoo_db), [app_role])
    with superuser(odoo_db) as conn:
        assert traces(conn) == {}


def test_a_missing_app_role_changes_nothing(odoo_db: Any, app_role: str) -> None:
    with pytest.raises(PgPolicyError, match=r"role\(s\) do not exist: pgpolicy_no_such_role"):
        runtime.install(odoo_db.dsn, [app_role, "pgpolicy_no_such_role"])
    with superuser(odoo_db) as conn:
        assert traces(conn) == {}


def test_catalog_flags_of_the_functions(runtime_db: Any) -> None:
    """Volatility, parallel safety, SECURITY DEFINER and pinned search_path, as designed."""
    with superuser(runtime_db) as conn:
        rows = conn.execute(
            """
            SELECT p.proname, p.provolatile, p.proparallel, p.prosecdef, p.proconfig, l.lanname
              FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
             WHERE p.pronamespace = 'pgpolicy'::regnamespace
            """
        ).fetchall()
    flags = {
        name: (vol, par, definer, config, lang) for name, vol, par, definer, config, lang in rows
    }
    assert set(flags) == RUNTIME_FUNCTIONS
    pinned = ["search_path=pg_catalog, pg_temp"]
    # Inlinable: no SET clause, a body bound when created (runtime 12: prosqlbody, below).
    inlinable = ("s", "s", False, None, "sql")
    for name in ("uid", "su", "today", "context_key"):
        assert flags[name] == inlinable, name
    # Readers that query tables: PL/pgSQL keeps their plans (runtime 5).
    for name in ("company_ids", "company_id", "group_ids"):
        assert flags[name] == ("s", "s", True, pinned, "plpgsql"), name
    # Plan-time functions: PL/pgSQL keeps its plans across the calls the planner makes.
    assert flags["planned_in_groups"] == ("i", "s", True, pinned, "plpgsql")
    for name in (
        "planned_uid", "planned_su", "planned_system", "planned_write", "planned_company_ids",
        "planned_company_id", "planned_group_ids", "planned_context_key", "planned_shadow",
    ):  # fmt: skip
        assert flags[name] == ("i", "s", False, pinned, "plpgsql"), name
    # Runtime 6: set_context seals with the key only the owner reads; so does the check.
    assert flags["set_context"] == ("v", "u", True, pinned, "plpgsql")
    assert flags["sealed_context"] == ("s", "s", True, pinned, "plpgsql")
    assert flags["context_seal"] == ("s", "s", True, pinned, "plpgsql")
    assert flags["shadow_denied"] == ("v", "s", False, pinned, "plpgsql")
    for name in ("member_profiles", "profiles_of", "profile_names", "user_tz"):
        assert flags[name] == ("s", "s", True, pinned, "sql"), name
    for name in ("planned_in_profiles", "planned_profile_in_force"):
        assert flags[name] == ("i", "s", True, pinned, "sql"), name
    assert flags["local_today"] == inlinable
    assert flags["set_profiles"][:4] == ("v", "u", True, pinned)
    assert flags["login_allowed"][:4] == ("v", "u", True, pinned)
    assert flags["check_locked"][:4] == ("s", "u", False, pinned)
    # Runtime 7: the event trigger reads and writes as its owner, the superuser.
    assert flags["protect_new_relations"][:4] == ("v", "u", True, pinned)
    assert flags["pending_count"][:4] == ("s", "u", True, pinned)
    assert flags["is_app_role"][:4] == ("s", "u", False, pinned)
    # Runtime 9: the analyst readers read the mapping, readable by its owner only.
    assert flags["analyst_uid"] == ("s", "s", True, pinned, "sql")
    assert flags["analyst_company_ids"] == ("s", "s", True, pinned, "plpgsql")
    # Runtime 11: analyst_session() keeps its query's plan; the mark of a plan folded inside
    # a function is a PREPARE, refused in a non-volatile function.
    assert flags["analyst_session"] == ("s", "s", True, pinned, "plpgsql")
    assert flags["note_nested_plan"] == ("v", "u", False, pinned, "plpgsql")
    assert flags["refuse_analyst"][:4] == ("s", "u", True, pinned)
    # Runtime 10: Odoo's sequences, made as the superuser, only as the rows ask.
    for name in ("odoo_sequence_create", "odoo_sequence_alter", "odoo_sequence_drop"):
        assert flags[name] == ("v", "u", True, pinned, "plpgsql"), name
    assert flags["odoo_sequence_ids"] == ("i", "u", False, pinned, "plpgsql")
    assert flags["odoo_sequence_row"] == ("s", "u", False, pinned, "plpgsql")
    assert flags["odoo_rules_fingerprint"] == ("s", "u", True, pinned, "plpgsql")
    assert flags["odoo_rules_changed"] == ("s", "u", True, pinned, "sql")
    assert flags["record_applied_rules"] == ("v", "u", True, pinned, "sql")


def test_the_design_reasoning_is_in_the_catalog(runtime_db: Any) -> None:
    with superuser(runtime_db) as conn:
        comment = scalar(
            conn, "SELECT obj_description('pgpolicy.planned_in_groups(integer[])'::regprocedure)"
        )
    assert "IMMUTABLE on purpose" in comment
    assert "set_context() discards cached plans" in comment


# --- context: set, cleared, fail closed -------------------------------------------------------


def test_no_context_means_no_rows(app: psycopg.Connection[Any]) -> None:
    assert ids(app) == []
    assert scalar(app, "SELECT pgpolicy.uid()") is None
    assert scalar(app, "SELECT pgpolicy.su()") is False
    assert scalar(app, "SELECT pgpolicy.company_ids()") is None
    assert scalar(app, "SELECT pgpolicy.company_id()") is None
    assert scalar(app, "SELECT pgpolicy.group_ids()") is None


def test_set_context_shows_the_company_rows_until_the_transaction_ends(
    app: psycopg.Connection[Any], protected_db: Any
) -> None:
    company_1 = company_orders(protected_db, 1)
    assert company_1 and company_1 != company_orders(protected_db, 1, 2)

    app.execute("SELECT pgpolicy.set_context(15, '{1}')")
    assert ids(app) == company_1
    assert scalar(app, "SELECT pgpolicy.uid()") == 15
    assert scalar(app, "SELECT pgpolicy.company_ids()") == [1]
    assert scalar(app, "SELECT pgpolicy.company_id()") == 1
    app.commit()
    assert ids(app) == []
    # What a pooled connection shows after a transaction-local setting: '' rather than NULL.
    assert scalar(app, "SELECT current_setting('pgpolicy.uid', true)") == ""

    app.execute("SELECT pgpolicy.set_context(15, '{1}')")
    assert ids(app) == company_1
    app.rollback()
    assert ids(app) == []


def test_set_context_works_in_a_read_only_transaction(
    app: psycopg.Connection[Any], protected_db: Any
) -> None:
    app.execute("SET TRANSACTION READ ONLY")
    app.execute("SELECT pgpolicy.set_context(15, '{1}')")
    assert ids(app) == company_orders(protected_db, 1)


def test_settings_left_empty_by_an_earlier_session_deny(app: psycopg.Connection[Any]) -> None:
    app.autocommit = True
    for name in ("uid", "company_ids", "su"):
        app.execute("SELECT set_config(%s, '', false)", [f"pgpolicy.{name}"])
    app.autocommit = False
    assert scalar(app, "SELECT current_setting('pgpolicy.uid', true)") == ""
    assert ids(app) == []
    assert scalar(app, "SELECT pgpolicy.uid()") is None
    assert scalar(app, "SELECT pgpolicy.company_ids()") is None


# (uid, company_ids, su) settings not in the form set_context writes.
MALFORMED_CONTEXTS = [
    *[
        (uid, "1", "false")
        for uid in ["abc", "-1", "0", "1;2", "15;16", " 15", "15 ", "015", "1e3", "99999999999",
                    "{15}", ""]
    ],
    *[
        ("15", companies, "false")
        for companies in ["{x}", "{1}", "abc", "1;2", "-1", "0", "1,", ",1", "1,,1", " 1", "",
                          "DEFAULT", "default,1"]
    ],
    *[("15", "1", su) for su in ["on", "TRUE", "t", "1", "yes", "", "true "]],
]  # fmt: skip


@pytest.fixture
def open_app(
    runtime_db: Any,
    app_role: str,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
) -> Iterator[psycopg.Connection[Any]]:
    """The app role on sale_order protected by the gate and a rule any context passes."""
    protect_sale_order(runtime_db, app_role, sql.SQL("true"))
    with psycopg.connect(app_dsn(runtime_db)) as conn:
        assert_rls_effective(conn, ["sale_order"])
        conn.rollback()
        yield conn


@pytest.mark.parametrize(("uid", "companies", "su"), MALFORMED_CONTEXTS)
def test_a_malformed_context_hides_every_row(
    open_app: psycopg.Connection[Any], uid: str, companies: str, su: str
) -> None:
    set_raw(open_app, uid, companies, su)
    readers = (
        "SELECT pgpolicy.uid(), pgpolicy.planned_uid(), pgpolicy.su(), pgpolicy.planned_su(),"
        " pgpolicy.company_ids(), pgpolicy.company_id(), pgpolicy.group_ids(),"
        " pgpolicy.planned_in_groups('{1}'), pgpolicy.planned_system(),"
        " pgpolicy.context_key(), pgpolicy.planned_context_key(),"
        " pgpolicy.planned_company_ids(), pgpolicy.planned_company_id(),"
        " pgpolicy.planned_group_ids()"
    )
    assert open_app.execute(readers).fetchone() == (
        None, None, False, False, None, None, None, False, False, None, None, None, None, None,
    )  # fmt: skip
    assert ids(open_app) == []


def test_raw_settings_in_the_private_format_give_no_access_either(
    open_app: psycopg.Connection[Any], runtime_db: Any
) -> None:
    """Runtime 6: well-formed values written by hand are no context either (not sealed);
    the same values written by set_context are (the control)."""
    set_raw(open_app, "15", "1", "false")
    assert ids(open_app) == []
    assert scalar(open_app, "SELECT pgpolicy.company_ids()") is None
    open_app.rollback()
    open_app.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
    assert ids(open_app) == company_orders(runtime_db, 1, 2)
    assert scalar(open_app, "SELECT pgpolicy.company_ids()") == [1]
    set_raw(open_app, "16", "default", "true")  # over a sealed context: breaks its seal
    assert scalar(open_app, "SELECT (pgpolicy.uid(), pgpolicy.su())::text") == "(,f)"
    assert ids(open_app) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("SELECT pgpolicy.set_context(NULL, '{1}')", "uid must be a positive integer"),
        ("SELECT pgpolicy.set_context(0, '{1}')", "uid must be a positive integer"),
        ("SELECT pgpolicy.set_context(-15, '{1}')", "uid must be a positive integer"),
        ("SELECT pgpolicy.set_context(15, '{1}', NULL)", "su and shadow must be true or false"),
        ("SELECT pgpolicy.set_context(15, '{1,NULL}')", "company ids must be positive"),
        ("SELECT pgpolicy.set_context(15, '{0}')", "company ids must be positive"),
        ("SELECT pgpolicy.set_context(15, '{{1},{2}}')", "one-dimensional"),
    ],
)
def test_set_context_refuses_malformed_arguments(
    app: psycopg.Connection[Any], call: str, message: str
) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
        app.execute(call)
    app.rollback()
    assert ids(app) == []


def test_companies_the_user_does_not_have_deny(app: psycopg.Connection[Any]) -> None:
    for companies in ("{2}", "{1,2}", "{2,1}", "{3}", "{999}"):
        app.execute("SELECT pgpolicy.set_context(15, %s)", [companies])
        assert scalar(app, "SELECT pgpolicy.company_ids()") is None, companies
        assert scalar(app, "SELECT pgpolicy.company_id()") is None, companies
        assert ids(app) == [], companies


def test_no_companies_given_means_all_active_companies_of_the_user(
    app: psycopg.Connection[Any], protected_db: Any
) -> None:
    with superuser(protected_db) as conn:
        # Ordered as Odoo orders res.company: sequence, name (NULL sequence last).
        rows = conn.execute(
            "SELECT c.id, c.sequence, c.name FROM res_company c"
            " JOIN res_company_users_rel r ON r.cid = c.id WHERE r.user_id = 16"
        ).fetchall()
        main_company = scalar(conn, "SELECT company_id FROM res_users WHERE id = 16")
    expected = [cid for cid, *_ in sorted(rows, key=lambda r: (r[1] is None, r[1] or 0, r[2]))]
    assert sorted(expected) == [1, 2]

    for none in (None, []):
        app.execute("SELECT pgpolicy.set_context(15, %s::integer[])", [none])
        assert scalar(app, "SELECT pgpolicy.company_ids()") == [1]
        assert ids(app) == company_orders(protected_db, 1)
        app.execute("SELECT pgpolicy.set_context(16, %s::integer[])", [none])
        assert scalar(app, "SELECT pgpolicy.company_ids()") == expected
        assert scalar(app, "SELECT pgpolicy.company_id()") == main_company
        assert ids(app) == company_orders(protected_db, 1, 2)


def test_the_given_order_is_kept_and_the_first_is_the_current_company(
    app: psycopg.Connection[Any],
) -> None:
    app.execute("SELECT pgpolicy.set_context(16, '{2,1}')")
    assert scalar(app, "SELECT pgpolicy.company_ids()") == [2, 1]
    assert scalar(app, "SELECT pgpolicy.company_id()") == 2
    app.execute("SELECT pgpolicy.set_context(16, '{1,2}')")
    assert scalar(app, "SELECT pgpolicy.company_ids()") == [1, 2]
    assert scalar(app, "SELECT pgpolicy.company_id()") == 1


def test_archived_companies_are_not_allowed(
    app: psycopg.Connection[Any], protected_db: Any
) -> None:
    with superuser(protected_db) as conn:
        conn.execute("UPDATE res_company SET active = false WHERE id = 2")
    app.execute("SELECT pgpolicy.set_context(16, '{2}')")
    assert scalar(app, "SELECT pgpolicy.company_ids()") is None
    assert ids(app) == []
    app.execute("SELECT pgpolicy.set_context(16, NULL)")
    assert scalar(app, "SELECT pgpolicy.company_ids()") == [1]
    assert ids(app) == company_orders(protected_db, 1)


def test_group_ids_are_the_rows_of_res_groups_users_rel(
    app: psycopg.Connection[Any], protected_db: Any
) -> None:
    with superuser(protected_db) as conn:
        expected = {
            uid: sorted(gid for (gid,) in conn.execute(
                "SELECT gid FROM res_groups_users_rel WHERE uid = %s", [uid]
            ))
            for uid in (15, 16, 17)
        }  # fmt: skip
    for uid, gids in expected.items():
        assert gids
        app.execute("SELECT pgpolicy.set_context(%s, NULL)", [uid])
        assert scalar(app, "SELECT pgpolicy.group_ids()") == gids
        assert scalar(app, "SELECT pgpolicy.planned_in_groups(%s)", [gids[-1:]]) is True
    app.execute("SELECT pgpolicy.set_context(999999, NULL)")  # no such user: no group
    assert scalar(app, "SELECT pgpolicy.group_ids()") == []
    assert scalar(app, "SELECT pgpolicy.planned_in_groups(%s)", [expected[15]]) is False


def test_system_principal_is_uid_1_in_superuser_mode(app: psycopg.Connection[Any]) -> None:
    cases = [(1, True, True), (1, False, False), (2, True, False), (15, True, False)]
    for uid, su, system in cases:
        app.execute("SELECT pgpolicy.set_context(%s, NULL, %s)", [uid, su])
        assert scalar(app, "SELECT pgpolicy.su()") is su
        assert scalar(app, "SELECT pgpolicy.planned_su()") is su
        assert scalar(app, "SELECT pgpolicy.planned_uid()") == uid
        assert scalar(app, "SELECT pgpolicy.planned_system()") is system, (uid, su)


def test_today_is_the_utc_date(app: psycopg.Connection[Any]) -> None:
    assert scalar(app, "SELECT pgpolicy.today() = (now() AT TIME ZONE 'UTC')::date") is True


# --- plans: folded at plan time, re-checked at run time ---------------------------------------


def test_a_cached_plan_is_replanned_after_set_context(
    app: psycopg.Connection[Any], protected_db: Any
) -> None:
    app.execute("SET plan_cache_mode = force_generic_plan")  # cached from the first EXECUTE
    app.execute("SELECT pgpolicy.set_context(15, '{1}')")
    app.execute("PREPARE orders AS SELECT id FROM sale_order")
    assert ids(app, "EXECUTE orders") == company_orders(protected_db, 1)
    app.commit()
    app.execute("SELECT pgpolicy.set_context(17, '{2}')")
    assert ids(app, "EXECUTE orders") == company_orders(protected_db, 2)
    app.execute("SELECT pgpolicy.set_context(16, '{1,2}')")
    assert ids(app, "EXECUTE orders") == company_orders(protected_db, 1, 2)


def test_a_cached_plan_run_under_a_context_set_by_hand_returns_nothing(
    app: psycopg.Connection[Any], protected_db: Any
) -> None:
    app.execute("SET plan_cache_mode = force_generic_plan")
    app.execute("SELECT pgpolicy.set_context(15, '{1}')")
    app.execute("PREPARE orders AS SELECT id FROM sale_order")
    assert ids(app, "EXECUTE orders") == company_orders(protected_db, 1)
    # Another user, by hand, without set_context: no DISCARD PLANS, the plan made for 15 stays.
    set_raw(app, "16", "1", "false")
    assert ids(app, "EXECUTE orders") == []  # the context gate
    # The same statement planned now is planned for no one: a context by hand is none.
    assert ids(app) == []
    app.rollback()
    assert ids(app, "EXECUTE orders") == []  # no context at all


def test_psycopg_prepared_statements_follow_set_context(
    app: psycopg.Connection[Any], protected_db: Any
) -> None:
    app.execute("SET plan_cache_mode = force_generic_plan")
    query = "SELECT id FROM sale_order WHERE id > %s"
    for uid, companies, expected in [(15, [1], (1,)), (17, [2], (2,)), (15, [1], (1,))]:
        app.execute("SELECT pgpolicy.set_context(%s, %s)", [uid, companies])
        rows = app.execute(query, [0], prepare=True).fetchall()
        assert sorted(r[0] for r in rows) == company_orders(protected_db, *expected)
        app.commit()


def test_group_membership_is_folded_at_plan_time_and_the_rest_uses_an_index(
    runtime_db: Any,
    app_role: str,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    with superuser(runtime_db) as conn:
        gid = scalar(
            conn,
            "SELECT res_id FROM ir_model_data"
            " WHERE module = 'sales_team' AND name = 'group_sale_salesman'",
        )
        in_group = {
            uid
            for (uid,) in conn.execute("SELECT uid FROM res_groups_users_rel WHERE gid = %s", [gid])
        }
        own_orders = ids(conn, "SELECT id FROM sale_order WHERE user_id = 15")
    assert 15 in in_group and 17 not in in_group and own_orders
    own_documents = sql.SQL(
        "pgpolicy.planned_in_groups({}::integer[]) AND user_id = (SELECT pgpolicy.uid())"
    ).format(sql.Literal(f"{{{gid}}}"))
    protect_sale_order(runtime_db, app_role, own_documents)
    with psycopg.connect(app_dsn(runtime_db)) as app:
        assert_rls_effective(app, ["sale_order"])
        app.execute("SET enable_seqscan = off")
        app.execute("SELECT pgpolicy.set_context(15, '{1}')")
        plan = "\n".join(r[0] for r in app.execute("EXPLAIN (VERBOSE) SELECT id FROM sale_order"))
        assert "planned_" not in plan, plan
        assert re.search(rf"Index Cond: \(sale_order\.user_id = {INITPLAN_PARAM}\)", plan), plan
        assert ids(app) == own_orders

        app.execute("SELECT pgpolicy.set_context(17, '{2}')")  # not in the group
        plan = "\n".join(r[0] for r in app.execute("EXPLAIN (VERBOSE) SELECT id FROM sale_order"))
        assert "planned_" not in plan, plan
        assert "false" in plan, plan
        assert ids(app) == []


def test_context_readers_are_initplans_evaluated_once_per_statement(
    app: psycopg.Connection[Any],
) -> None:
    app.execute("SELECT pgpolicy.set_context(15, '{1}')")
    plan = "\n".join(r[0] for r in app.execute("EXPLAIN (VERBOSE) SELECT id FROM sale_order"))
    initplans = re.split(r"^\s*InitPlan", plan, maxsplit=1, flags=re.MULTILINE)
    assert len(initplans) == 2, plan
    scan = initplans[0]
    # The per-row filter only compares with InitPlan results and folded constants ...
    assert "current_setting" not in scan and "pgpolicy." not in scan, plan
    assert re.search(rf"= ANY \({INITPLAN_PARAM}\)", scan), plan
    assert re.search(rf"{INITPLAN_PARAM} IS NOT NULL", scan), plan  # the gate
    # ... context_key() is inlined into the gate's InitPlan (one call: the seal's check) and
    # compared there with the key folded at plan time; company_ids() is a call of its own.
    assert "pgpolicy.sealed_context() = '" in initplans[1], plan
    assert re.search(r"= '\d+:\d+;\d+:\d+;2:15;1:1;5:false;0:;5:false;0:;'::text", initplans[1])
    assert "pgpolicy.company_ids()" in initplans[1], plan


# --- privileges -------------------------------------------------------------------------------


def test_the_app_role_may_call_the_runtime_and_nothing_else(
    app: psycopg.Connection[Any], protected_db: Any, app_role: str
) -> None:
    app.execute("SELECT pgpolicy.set_context(15, '{1}')")
    assert set(CALLS) == set(runtime.PUBLIC_FUNCTIONS)
    for call in CALLS.values():
        app.execute(call)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute("SELECT * FROM pgpolicy.policies")
    app.rollback()

    with superuser(protected_db) as conn:
        granted = {
            (kind, name, privilege)
            for kind, name, privilege in conn.execute(
                """
                SELECT 'schema', n.nspname::text, a.privilege_type
                  FROM pg_namespace n, aclexplode(n.nspacl) a
                 WHERE n.nspname = 'pgpolicy' AND a.grantee = %(role)s::regrole
                UNION ALL
                SELECT 'function', p.oid::regprocedure::text, a.privilege_type
                  FROM pg_proc p, aclexplode(p.proacl) a
                 WHERE p.pronamespace = 'pgpolicy'::regnamespace AND a.grantee = %(role)s::regrole
                UNION ALL
                SELECT 'relation', c.relname::text, a.privilege_type
                  FROM pg_class c, aclexplode(c.relacl) a
                 WHERE c.relnamespace = 'pgpolicy'::regnamespace AND a.grantee = %(role)s::regrole
                """,
                {"role": app_role},
            )
        }
        to_public = {
            row[0]
            for row in conn.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p, aclexplode(p.proacl) a"
                " WHERE p.pronamespace = 'pgpolicy'::regnamespace AND a.grantee = 0"
            )
        }
        public_functions = {
            scalar(conn, "SELECT %s::regprocedure::text", [f"pgpolicy.{s}"])
            for s in runtime.PUBLIC_FUNCTIONS
        }
    assert granted == {("schema", "pgpolicy", "USAGE")} | {
        ("function", signature, "EXECUTE") for signature in public_functions
    }
    # Every function but the harmless comment parser the auditor view calls is granted.
    assert to_public == {"pgpolicy.provenance_of(text)"}
    assert {s.split("(")[0] for s in runtime.PUBLIC_FUNCTIONS} == RUNTIME_FUNCTIONS - (
        INTERNAL_FUNCTIONS
    )


def test_a_role_without_the_grant_cannot_call_the_runtime(
    runtime_db: Any, pg_server: Any, make_role: Callable[[Any], str]
) -> None:
    stranger = make_role(runtime_db)
    with psycopg.connect(pg_server.dsn(runtime_db.name, user=stranger)) as conn:
        for call in (
            "SELECT pgpolicy.uid()",
            "SELECT pgpolicy.set_context(15, '{1}')",
            "SELECT pgpolicy.group_ids()",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema pgpolicy"):
                conn.execute(call)
            conn.rollback()
    # With the schema but without EXECUTE: still refused (EXECUTE is revoked from PUBLIC).
    with superuser(runtime_db) as conn:
        conn.execute(
            sql.SQL("GRANT USAGE ON SCHEMA pgpolicy TO {}").format(sql.Identifier(stranger))
        )
    with psycopg.connect(pg_server.dsn(runtime_db.name, user=stranger)) as conn:
        for call in CALLS.values():
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="function"):
                conn.execute(call)
            conn.rollback()


# --- the auditor view -------------------------------------------------------------------------


def test_policies_view_lists_policies_with_their_provenance(
    protected_db: Any, app_role: str, pg_server: Any, make_role: Callable[[Any], str]
) -> None:
    provenance = {"source": "ir.rule", "rule_ids": [42], "hash": "abc"}
    with superuser(protected_db) as conn:
        conn.execute(
            sql.SQL("COMMENT ON POLICY test_rule ON public.sale_order IS {}").format(
                sql.Literal(json.dumps(provenance))
            )
        )
        conn.execute("COMMENT ON POLICY test_context ON public.sale_order IS 'set by hand: {oops'")
        conn.execute("CREATE SCHEMA elsewhere")
        conn.execute("CREATE TABLE elsewhere.notes (id int, owner int)")
        conn.execute("ALTER TABLE elsewhere.notes ENABLE ROW LEVEL SECURITY")
        conn.execute(
            "CREATE POLICY mine ON elsewhere.notes FOR UPDATE TO PUBLIC"
            " USING (owner = 1) WITH CHECK (owner = 2)"
        )
        conn.execute("COMMENT ON POLICY mine ON elsewhere.notes IS '42'")
        rows = {
            (r["schema"], r["table"], r["policy"]): r
            for r in conn.cursor(row_factory=psycopg.rows.dict_row).execute(
                "SELECT * FROM pgpolicy.policies"
            )
        }
    assert set(rows) == {
        ("public", "sale_order", "test_context"),
        ("public", "sale_order", "test_rule"),
        ("elsewhere", "notes", "mine"),
    }
    rule = rows["public", "sale_order", "test_rule"]
    assert rule["provenance"] == provenance
    assert rule["comment"] == json.dumps(provenance)
    assert (rule["command"], rule["roles"], rule["permissive"]) == ("ALL", [app_role], True)
    assert "pgpolicy.company_ids()" in rule["using_expression"]
    assert rule["check_expression"] is None
    assert (rule["rls_enabled"], rule["rls_forced"]) == (True, True)

    gate = rows["public", "sale_order", "test_context"]
    assert gate["provenance"] is None and gate["comment"] == "set by hand: {oops"
    assert gate["permissive"] is False
    assert "planned_context_key()" in gate["using_expression"]

    other = rows["elsewhere", "notes", "mine"]
    assert (other["command"], other["roles"], other["provenance"]) == ("UPDATE", ["public"], None)
    assert other["comment"] == "42"  # valid JSON, but not a provenance object
    assert (other["using_expression"], other["check_expression"]) == (
        "(owner = 1)",
        "(owner = 2)",
    )
    assert (other["rls_enabled"], other["rls_forced"]) == (True, False)

    # Nobody reads it by default; the DBA's two grants (see the view's comment) suffice.
    auditor = make_role(protected_db)
    auditor_dsn = pg_server.dsn(protected_db.name, user=auditor)
    with (
        psycopg.connect(auditor_dsn) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT * FROM pgpolicy.policies")
    with superuser(protected_db) as conn:
        who = sql.Identifier(auditor)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA pgpolicy TO {}").format(who))
        conn.execute(sql.SQL("GRANT SELECT ON pgpolicy.policies TO {}").format(who))
    with psycopg.connect(auditor_dsn) as conn:
        seen = conn.execute(
            "SELECT provenance FROM pgpolicy.policies WHERE policy = 'test_rule'"
        ).fetchall()
        assert seen == [(provenance,)]


# --- the command line -------------------------------------------------------------------------


def pgpolicy_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgpolicy", *args],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_init_twice(odoo_db: Any, app_role: str, tmp_path: Path) -> None:
    first = pgpolicy_cli(tmp_path, "--dsn", odoo_db.dsn, "init", "--app-role", app_role)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"installed the pgpolicy runtime, version 12; granted to {app_role}\n"
    with superuser(odoo_db) as conn:
        snapshot = catalog_snapshot(conn)

    second = pgpolicy_cli(tmp_path, "--dsn", odoo_db.dsn, "init", "--app-role", app_role)
    assert second.returncode == 0, second.stderr
    assert second.stdout == (
        f"runtime at version 12, nothing to do; grants unchanged for {app_role}\n"
    )
    with superuser(odoo_db) as conn:
        assert catalog_snapshot(conn) == snapshot

    as_json = pgpolicy_cli(
        tmp_path, "--dsn", odoo_db.dsn, "--format", "json", "init", "--app-role", app_role
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {
        "before": "12", "after": "12", "changed": False, "roles": [app_role], "granted": [],
        "revoked_public_create": [],
    }  # fmt: skip


def test_cli_init_with_a_bad_dsn_fails_in_one_line(tmp_path: Path, app_role: str) -> None:
    bad = f"host={tmp_path} port=1 dbname=nowhere connect_timeout=3"
    done = pgpolicy_cli(tmp_path, "--dsn", bad, "init", "--app-role", app_role)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("pgpolicy: error: ")
    assert done.stderr.count("\n") == 1, done.stderr


def test_cli_init_with_a_missing_role_fails_and_changes_nothing(
    odoo_db: Any, app_role: str, tmp_path: Path
) -> None:
    done = pgpolicy_cli(
        tmp_path, "--dsn", odoo_db.dsn, "init",
        "--app-role", app_role, "--app-role", "pgpolicy_no_such_role",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == (
        "pgpolicy: error: role(s) do not exist: pgpolicy_no_such_role; nothing was changed\n"
    )
    with superuser(odoo_db) as conn:
        assert traces(conn) == {}


def test_cli_init_as_a_non_superuser_fails_in_one_line(
    odoo_db: Any, app_role: str, app_dsn: Callable[[Any], str], tmp_path: Path
) -> None:
    done = pgpolicy_cli(tmp_path, "--dsn", app_dsn(odoo_db), "init", "--app-role", app_role)
    assert done.returncode == 1
    assert done.stderr.startswith(f"pgpolicy: error: {app_role} is not a superuser")
    assert done.stderr.count("\n") == 1, done.stderr
    with superuser(odoo_db) as conn:
        assert traces(conn) == {}


# --- runtime 6 and back -----------------------------------------------------------------------

RUNTIME_CATALOG = """
SELECT 'function ' || p.oid::regprocedure::text, pg_get_functiondef(p.oid), p.proacl::text,
       obj_description(p.oid, 'pg_proc')
  FROM pg_proc p WHERE p.pronamespace = 'pgpolicy'::regnamespace
UNION ALL
SELECT 'relation ' || c.relname, c.relkind::text, c.relacl::text, obj_description(c.oid, 'pg_class')
  FROM pg_class c WHERE c.relnamespace = 'pgpolicy'::regnamespace AND c.relname <> 'alembic_version'
UNION ALL
SELECT 'schema', n.nspacl::text, NULL, NULL FROM pg_namespace n WHERE n.nspname = 'pgpolicy'
ORDER BY 1
"""


def migrate(dsn: str, to: str, down: bool = False) -> None:
    with runtime._migration(dsn) as (config, _conn):
        (command.downgrade if down else command.upgrade)(config, to)


def test_the_downgrade_of_runtime_6_restores_runtime_5_exactly(
    odoo_db: Any, app_role: str, request: pytest.FixtureRequest
) -> None:
    """init at head (8), C plan-time functions, then downgrade to 5: the runtime's functions,
    their text, grants and comments, its relations and schema are those of runtime 5
    installed directly and granted as init granted it (set_context(integer, integer[],
    boolean)), with the SQL plan-time functions."""
    runtime.install(odoo_db.dsn, [app_role])
    use_planner(request, odoo_db, "c")
    migrate(odoo_db.dsn, "0005", down=True)
    with superuser(odoo_db) as conn:
        assert runtime.installed_version(conn) == "5"
        downgraded = conn.execute(RUNTIME_CATALOG).fetchall()
    migrate(odoo_db.dsn, "base", down=True)
    migrate(odoo_db.dsn, "0005")
    signatures = [
        "set_context(integer, integer[], boolean)" if s.startswith("set_context(") else s
        for s in runtime.PUBLIC_FUNCTIONS
        if s not in ("sealed_context()", "pending_count()", "note_nested_plan()")
        and not s.startswith(("analyst_", "odoo_sequence_", "odoo_rules_"))
    ]
    with superuser(odoo_db) as conn:
        role = sql.Identifier(app_role)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA pgpolicy TO {}").format(role))
        for signature in signatures:
            conn.execute(
                sql.SQL("GRANT EXECUTE ON FUNCTION pgpolicy.{} TO {}").format(
                    sql.SQL(signature), role
                )
            )
        assert conn.execute(RUNTIME_CATALOG).fetchall() == downgraded


def test_the_downgrade_of_runtime_11_restores_runtime_10_exactly(
    odoo_db: Any, app_role: str
) -> None:
    """init at head with the SQL plan-time functions, then downgrade to 10: the runtime's
    functions, their text, grants and comments, its relations and schema are those of
    runtime 10 installed directly and granted as init grants it."""
    runtime.install(odoo_db.dsn, [app_role])
    migrate(odoo_db.dsn, "0010", down=True)
    with superuser(odoo_db) as conn:
        assert runtime.installed_version(conn) == "10"
        downgraded = conn.execute(RUNTIME_CATALOG).fetchall()
    migrate(odoo_db.dsn, "base", down=True)
    migrate(odoo_db.dsn, "0010")
    with superuser(odoo_db) as conn:
        role = sql.Identifier(app_role)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA pgpolicy TO {}").format(role))
        for signature in runtime.PUBLIC_FUNCTIONS:
            if signature != "note_nested_plan()":
                conn.execute(
                    sql.SQL("GRANT EXECUTE ON FUNCTION pgpolicy.{} TO {}").format(
                        sql.SQL(signature), role
                    )
                )
        assert conn.execute(RUNTIME_CATALOG).fetchall() == downgraded
