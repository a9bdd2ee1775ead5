"""Nothing the app role creates in schema public runs in pgpolicy's privileged sessions.

The app role may create in public (a dump that grants CREATE to PUBLIC: a common state)
and plants an operator `||(varchar, varchar)`, an aggregate `array_agg(integer)` and an
operator `=(varchar, varchar)`, each more specific than pg_catalog's for Odoo's varchar and
integer columns, so that any unqualified use resolves to them when public is in the
search_path. Their bodies record every call and, when the caller is a superuser, give the
app role BYPASSRLS. The DBA then runs every command as a superuser: no body ever runs, no
policy depends on anything of the app role's, and `init` took CREATE on public from PUBLIC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from pgpolicy.cli import cli
from pgpolicy.db import connect
from tests.conftest import Database, PgServer, use_planner
from tests.security.test_values import add_rule
from tests.test_migrations import alembic, dba_project, pgpolicy_revision

TRAP_LOG = """
CREATE SCHEMA trap;
CREATE TABLE trap.calls (what text, caller text, query text);
GRANT USAGE ON SCHEMA trap TO PUBLIC;
GRANT SELECT, INSERT ON trap.calls TO PUBLIC;
GRANT CREATE ON SCHEMA public TO PUBLIC;
"""

# Created by the app role; `{app}` is its name. Every name in the bodies is qualified, so
# that they do not call themselves.
TRAPS = """
CREATE FUNCTION public.trap_escalate(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trap.calls VALUES (what, current_user::text, pg_catalog.current_query());
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
       AND NOT (SELECT r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = '{app}')
    THEN
        EXECUTE 'ALTER ROLE {app} BYPASSRLS';
    END IF;
END $$;
CREATE FUNCTION public.trap_concat(a varchar, b varchar) RETURNS varchar
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.trap_escalate('||');
    RETURN a::text OPERATOR(pg_catalog.||) b::text;
END $$;
CREATE OPERATOR public.|| (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.trap_concat);
CREATE FUNCTION public.trap_eq(a varchar, b varchar) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.trap_escalate('=');
    RETURN a::text OPERATOR(pg_catalog.=) b::text;
END $$;
CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.trap_eq);
CREATE FUNCTION public.trap_step(state integer[], v integer) RETURNS integer[]
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.trap_escalate('array_agg');
    RETURN pg_catalog.array_append(state, v);
END $$;
CREATE AGGREGATE public.array_agg(integer) (SFUNC = public.trap_step, STYPE = integer[]);
"""

# Policies that depend on a function or operator outside the schemas pgpolicy trusts.
FOREIGN_DEPENDENCIES = """
SELECT count(*) FROM pg_catalog.pg_depend d
  LEFT JOIN pg_catalog.pg_proc p
         ON d.refclassid = 'pg_catalog.pg_proc'::regclass AND p.oid = d.refobjid
  LEFT JOIN pg_catalog.pg_operator o
         ON d.refclassid = 'pg_catalog.pg_operator'::regclass AND o.oid = d.refobjid
 WHERE d.classid = 'pg_catalog.pg_policy'::regclass
   AND coalesce(p.pronamespace, o.oprnamespace) NOT IN (
       'pg_catalog'::regnamespace, 'pgpolicy'::regnamespace, 'pgpolicy_sudo'::regnamespace)
"""


@pytest.fixture(autouse=True)
def _no_bypassrls_left(pg_server: PgServer, app_role: str) -> Iterator[None]:
    """BYPASSRLS is server-wide: should a trap fire, later tests must not inherit it."""
    yield
    with pg_server.admin() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOBYPASSRLS").format(sql.Identifier(app_role)))


def dba(*args: str) -> str:
    """A pgpolicy command, as the DBA runs it; its output."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, f"pgpolicy {' '.join(args[:1])}: {result.output}"
    return result.output


def scalar(dsn: str, query: str, *params: Any) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, list(params)).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return row[0]


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_objects_the_app_role_plants_in_public_never_run_as_the_dba(
    odoo_db: Database,
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
    grant_app: Callable[[Database], None],
    planner: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    dsn = odoo_db.dsn
    grant_app(odoo_db)  # the DML grants the docs give
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(TRAP_LOG)
    with psycopg.connect(app_dsn(odoo_db), autocommit=True) as app:
        app.execute(TRAPS.replace("{app}", app_role))  # a plain name, as the test bed's
        # the traps work: a session with public in its path runs them
        app.execute("SELECT 'a'::varchar || 'b'::varchar")
    calls = "SELECT count(*) FROM trap.calls"
    assert scalar(dsn, calls) == 1
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM trap.calls")
        # the log is the test's instrument, not the app role's: `status` would rightly list
        # it as a relation the app role reaches without row level security
        conn.execute("REVOKE ALL ON trap.calls FROM PUBLIC")

    role = ("--app-role", app_role)
    init = dba("init", "--dsn", dsn, *role)
    if planner == "c":
        use_planner(request, odoo_db, planner)
    dba("compile", "--dsn", dsn)
    dba("compile", "--dsn", dsn, "--save-catalog", str(tmp_path / "catalog.json"))
    dba("plan", "--dsn", dsn, *role)
    dba("apply", "--dsn", dsn, *role)
    dba("status", "--dsn", dsn, *role)
    dba("explain", "--dsn", dsn, "--user", "salesman_a", "--model", "sale.order")
    dba("who-can", "--dsn", dsn, "--model", "sale.order", "--id", "33")
    dba("like-leakproof", "--dsn", dsn)
    dba("planner", "--dsn", dsn)
    dba("profile", "export", "--dsn", dsn)
    # a DBA's own alembic project: autogenerate, then a revision run online, for a new rule
    # comparing a varchar column (which the planted `=` would capture in CREATE POLICY)
    project = dba_project(tmp_path / "dba", odoo_db, app_role)
    assert "No new upgrade operations" in alembic(project, "check").stdout
    with connect(dsn) as conn:  # this session too resolves names in pg_catalog only
        add_rule(conn, "a varchar comparison", "[('name', '!=', 'S00001')]")
        conn.commit()
    pgpolicy_revision(project, odoo_db, app_role, "one more rule")
    alembic(project, "upgrade", "head")
    alembic(project, "check")

    ran = scalar(dsn, "SELECT array_agg(DISTINCT left(query, 300)) FROM trap.calls")
    assert scalar(dsn, calls) == 0, f"a planted function ran in a DBA's command: {ran}"
    assert scalar(dsn, "SELECT rolbypassrls FROM pg_roles WHERE rolname = %s", app_role) is False
    assert scalar(dsn, FOREIGN_DEPENDENCIES) == 0
    assert "revoked CREATE on schema public from PUBLIC" in init
    assert scalar(dsn, "SELECT has_schema_privilege(%s, 'public', 'CREATE')", app_role) is False

    with psycopg.connect(app_dsn(odoo_db)) as app:
        assert_rls_effective(app, ["sale_order"])
        assert app.execute("SELECT count(*) FROM public.sale_order").fetchone() == (0,)
        app.execute("SELECT pgpolicy.set_context(15, ARRAY[1], false)")
        seen = app.execute("SELECT count(*) FROM public.sale_order").fetchone()
        assert seen is not None and 0 < seen[0] < 33


def test_status_warns_while_an_app_role_may_create_in_public(
    odoo_db: Database, app_role: str
) -> None:
    dsn = odoo_db.dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    role = ("--app-role", app_role)
    kept = dba("init", "--dsn", dsn, *role, "--keep-public-create")
    assert "revoked" not in kept
    warning = f"WARNING: role {app_role} may create objects in schema public"
    status = CliRunner().invoke(cli, ["status", "--dsn", dsn, *role])
    assert warning in status.output

    assert "revoked CREATE on schema public from PUBLIC" in dba("init", "--dsn", dsn, *role)
    status = CliRunner().invoke(cli, ["status", "--dsn", dsn, *role])
    assert "may create objects" not in status.output


# What an app role that may create in a schema on its own search_path plants to make the
# runtime's readers lie: functions and operators exactly like pg_catalog's, found first.
SHADOWS = """
CREATE FUNCTION {schema}.current_setting(name text, missing_ok boolean) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT CASE name WHEN 'pgpolicy.uid' THEN '1' WHEN 'pgpolicy.su' THEN 'true'
                     ELSE pg_catalog.current_setting(name, missing_ok) END $$;
CREATE FUNCTION {schema}.current_setting(name text) RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT {schema}.current_setting(name, false) $$;
CREATE FUNCTION {schema}.current_query() RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT 'update x set y = 1' $$;
CREATE FUNCTION {schema}.always(a text, b text) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT true $$;
CREATE OPERATOR {schema}.~* (LEFTARG = text, RIGHTARG = text, FUNCTION = {schema}.always);
CREATE OPERATOR {schema}.= (LEFTARG = text, RIGHTARG = text, FUNCTION = {schema}.always);
"""


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_a_schema_the_app_role_creates_in_cannot_change_what_the_runtime_reads(
    enforced_db: Database,
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
    planner: str,
    request: pytest.FixtureRequest,
) -> None:
    """With CREATE on public kept (`--keep-public-create`) or a schema of its own, the app
    role shadows current_setting, current_query and text operators and puts its schema
    first in search_path: the context functions, the plan-time functions and the policies
    still read the real settings (their bodies are bound to pg_catalog when created)."""
    use_planner(request, enforced_db, planner)
    with psycopg.connect(enforced_db.dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(app_role))
        )
    with psycopg.connect(app_dsn(enforced_db), autocommit=True) as app:
        app.execute(SHADOWS.replace("{schema}", "public"))
    with psycopg.connect(app_dsn(enforced_db)) as app:
        assert_rls_effective(app, ["sale_order"])
        app.rollback()
        app.execute("SELECT pgpolicy.set_context(15, ARRAY[1], false)")
        honest = app.execute(
            "SELECT count(*), pgpolicy.uid(), pgpolicy.su() FROM public.sale_order"
        ).fetchone()
        app.rollback()
        assert honest is not None and honest[1:] == (15, False) and 0 < honest[0] < 33
        for path in ("public, pg_catalog", "public, pg_catalog, pgpolicy"):
            app.execute("SELECT pgpolicy.set_context(15, ARRAY[1], false)")
            app.execute(sql.SQL("SET LOCAL search_path = {}").format(sql.SQL(path)))
            assert app.execute(
                "SELECT public.current_setting('pgpolicy.uid', true)"
            ).fetchone() == ("1",)
            seen = app.execute(
                "SELECT count(*), pgpolicy.uid(), pgpolicy.su() FROM public.sale_order"
            ).fetchone()
            app.rollback()
            assert seen == honest, path
            # a fresh session: nothing cached from the honest path
        with psycopg.connect(app_dsn(enforced_db)) as fresh:
            fresh.execute("SET search_path = public, pg_catalog")
            fresh.execute("SELECT pgpolicy.set_context(15, ARRAY[1], false)")
            seen = fresh.execute(
                "SELECT count(*), pgpolicy.uid(), pgpolicy.su() FROM public.sale_order"
            ).fetchone()
            assert seen == honest


# Functions of pgpolicy's schemas whose body resolves names when it runs, under the caller's
# search_path: neither bound at creation (an SQL-standard body), nor run with a pinned path,
# nor C.
UNBOUND_FUNCTIONS = """
SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
 WHERE n.nspname LIKE 'pgpolicy%%'
   AND l.lanname NOT IN ('c', 'internal')
   AND p.prosqlbody IS NULL
   AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp']
 ORDER BY 1
"""


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_every_runtime_function_resolves_names_when_created_or_in_pg_catalog(
    enforced_db: Database, planner: str, request: pytest.FixtureRequest
) -> None:
    """The runtime's, the plan-time functions' and the generated functions' bodies are bound
    when created (SQL-standard bodies, inlined all the same) or run with the path pinned."""
    use_planner(request, enforced_db, planner)
    with psycopg.connect(enforced_db.dsn) as conn:
        total = conn.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname LIKE 'pgpolicy%%'"
        ).fetchone()
        unbound = [name for (name,) in conn.execute(UNBOUND_FUNCTIONS)]
    assert total is not None and total[0] > 100
    assert unbound == [], "\n".join(unbound)
