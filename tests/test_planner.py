"""The plan-time functions in C (sql/planner/, `pgpolicy planner on`) fold what the SQL ones
fold, and set_context() still makes every plan that folded a context be made again.

The C functions compute uid, su, the context key, shadow mode, the system principal and
"UPDATE or INSERT" from the settings and the statement text themselves, so each is compared
with the SQL implementation on valid and malformed contexts; the readers that query tables
they call through a per-statement memo. Enforcement with them on is checked against the
oracle (tests/test_oracle.py) and by the context tests (tests/test_context.py), which run
with both implementations.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgpolicy.deploy import runtime
from pgpolicy.deploy.planner import planner_in_use, set_planner
from pgpolicy.errors import PgPolicyError
from tests.conftest import Database
from tests.test_context import oracle_ids
from tests.test_runtime import traces

pytestmark = pytest.mark.usefixtures("planner_library")

SETTINGS = ("uid", "company_ids", "su", "profiles", "shadow")

# Contexts set_context establishes: uid, companies, su, shadow.
SET_CONTEXTS = [
    (15, [1], False, False),
    (15, [], False, False),
    (16, [1, 2], False, False),
    (16, [2, 1], False, False),
    (16, [2], False, False),  # a company of the user
    (15, [2], False, False),  # not one of the user's companies
    (1, [], True, False),  # the system principal
    (1, [1], False, False),
    (15, [1], True, False),
    (15, [1], False, True),  # shadow mode
    (123456789, [1], False, False),  # a well-formed uid no user has
]

# Settings written by hand, in set_context's form or not: never a context (runtime 6);
# None: never set.
CONTEXTS = [
    ("15", "1", "false", None, None),
    ("15", "default", "false", None, None),
    ("16", "1,2", "false", None, None),
    ("16", "2,1", "false", "", ""),
    ("16", "2", "false", None, None),  # a company of the user
    ("15", "2", "false", None, None),  # not one of the user's companies
    ("1", "default", "true", None, None),  # the system principal
    ("1", "1", "false", None, None),
    ("15", "1", "true", None, None),
    ("15", "1", "false", None, "true"),  # shadow mode
    ("15", "1", "false", "sales,extra", "false"),
    ("123456789", "1", "false", None, None),  # a well-formed uid no user has
    ("", "1", "false", None, "true"),
    ("abc", "1", "false", None, None),
    ("0", "1", "false", None, None),
    ("015", "1", "false", None, None),
    ("1234567890", "1", "false", None, None),
    ("-15", "1", "false", None, None),
    ("15\n", "1", "false", None, None),
    (" 15", "1", "false", None, None),
    ("15", "", "false", None, None),
    ("15", "1,", "false", None, None),
    ("15", ",1", "false", None, None),
    ("15", "1,,2", "false", None, None),
    ("15", "01", "false", None, None),
    ("15", "1;2", "false", None, None),
    ("15", "{1}", "false", None, None),
    ("15", "Default", "false", None, None),
    ("15", "1", "TRUE", None, None),
    ("15", "1", "t", None, None),
    ("15", "1", "", None, None),
    ("15", "1", None, None, None),
    (None, "1", "false", None, None),
    (None, None, None, None, None),
]

# Every plan-time function, as a policy calls it, and the run-time readers beside them.
FOLDED = """
SELECT pgpolicy.planned_uid(), pgpolicy.planned_su(), pgpolicy.planned_context_key(),
       pgpolicy.planned_company_ids(), pgpolicy.planned_company_id(),
       pgpolicy.planned_group_ids(), pgpolicy.planned_system(), pgpolicy.planned_shadow(),
       pgpolicy.planned_write(), pgpolicy.planned_in_groups('{1}'),
       pgpolicy.planned_in_groups('{21,22}'), pgpolicy.planned_in_groups('{999999}'),
       pgpolicy.planned_in_groups('{}'), pgpolicy.planned_in_groups(NULL),
       pgpolicy.planned_in_groups('{NULL,1}'),
       pgpolicy.uid(), pgpolicy.su(), pgpolicy.context_key(), pgpolicy.company_ids(),
       pgpolicy.company_id(), pgpolicy.group_ids()
"""

WRITES = [
    "INSERT INTO scratch VALUES (1) RETURNING pgpolicy.planned_write()",
    "  insert into scratch values (1) returning pgpolicy.planned_write()",
    "UPDATE scratch SET x = x RETURNING pgpolicy.planned_write()",
    "\nUpdate\tscratch SET x = x RETURNING pgpolicy.planned_write()",
    "SELECT pgpolicy.set_context(15, '{1}', false); "
    "UPDATE scratch SET x = x RETURNING pgpolicy.planned_write()",
    "SELECT set_config('pgpolicy.shadow', 'true', true); "
    "SELECT pgpolicy.set_context(15, '{1}', false); "
    "INSERT INTO scratch VALUES (2) RETURNING pgpolicy.planned_write()",
    "WITH v AS (SELECT 1) INSERT INTO scratch SELECT 1 FROM v RETURNING pgpolicy.planned_write()",
    "SELECT pgpolicy.planned_write()",
    "SELECT pgpolicy.set_context(15, '{1}', false); SELECT pgpolicy.planned_write()",
    "/* comment */ UPDATE scratch SET x = x RETURNING pgpolicy.planned_write()",
]


# The transaction a key is bound to (backend pid, start): differs between any two sessions.
BOUND_TO = re.compile(r"^\d+:\d+;\d+:\d+;")


def without_transaction(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """`row` with the keys (planned_context_key(), context_key()) cut of their transaction."""
    return tuple(
        BOUND_TO.sub("", value) if i in (2, 17) and isinstance(value, str) else value
        for i, value in enumerate(row)
    )


def folded_values(dsn: str, context: tuple[Any, ...]) -> tuple[Any, ...]:
    """What the plan-time functions fold, and the readers read, under `context` (settings
    by hand, or set_context's arguments), in a new session (so that a setting never written
    reads as unset)."""
    with psycopg.connect(dsn) as conn:
        if isinstance(context[0], int):
            conn.execute("SELECT pgpolicy.set_context(%s, %s, %s, %s)", list(context))
        else:
            for name, value in zip(SETTINGS, context, strict=True):
                if value is not None:
                    conn.execute("SELECT set_config(%s, %s, true)", [f"pgpolicy.{name}", value])
        row = conn.execute(FOLDED).fetchone()
        assert row is not None
        return without_transaction(tuple(row))


def write_flags(dsn: str) -> list[bool]:
    """planned_write() as folded in each statement of WRITES, run as one query string."""
    flags = []
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE scratch (x integer)")
        conn.execute("INSERT INTO scratch VALUES (0)")
        for statement in WRITES:
            with conn.cursor() as cur:
                cur.execute(statement.encode())  # bytes: the simple query protocol, as psycopg2
                while cur.nextset():  # the last statement's result
                    pass
                row = cur.fetchone()
            assert row is not None and isinstance(row[0], bool), statement
            flags.append(row[0])
            conn.rollback()
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS scratch (x integer)")
            conn.execute("INSERT INTO scratch VALUES (0)")
    return flags


def test_c_folds_what_sql_folds(enforced_db: Database) -> None:
    """Same values from both implementations, and each equal to its run-time reader."""
    contexts: list[tuple[Any, ...]] = [*SET_CONTEXTS, *CONTEXTS]
    assert set_planner(enforced_db.dsn, "sql") == "sql"
    by_sql = [folded_values(enforced_db.dsn, context) for context in contexts]
    sql_writes = write_flags(enforced_db.dsn)
    assert set_planner(enforced_db.dsn, "c") == "c"
    by_c = [folded_values(enforced_db.dsn, context) for context in contexts]
    assert write_flags(enforced_db.dsn) == sql_writes
    for context, sql_row, c_row in zip(contexts, by_sql, by_c, strict=True):
        assert c_row == sql_row, context
        planned, readers = c_row[:6], c_row[15:]
        assert planned[:3] == readers[:3] and planned[3:6] == readers[3:6], context
    # The cases are not all alike: valid and refused contexts, writes and reads.
    assert sql_writes == [True] * 6 + [False] * 4
    valid = [row for row in by_c if row[0] is not None]
    assert len(valid) == len(SET_CONTEXTS) == 11
    assert all(row[0] is None and row[2] is None for row in by_c[len(SET_CONTEXTS) :])
    assert {row[6] for row in by_c} == {True, False}  # the system principal, once
    assert {row[7] for row in by_c} == {True, False}  # shadow mode


def planner_in_use_of(db: Database) -> str:
    with psycopg.connect(db.dsn) as conn:
        return planner_in_use(conn)


def test_cached_plans_follow_set_context(
    enforced_db: Database,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
    shared_dir: Path,
) -> None:
    """A PL/pgSQL function's cached plan and a prepared statement, run for one user then
    another in the same session: each time the second user's rows, never none."""
    set_planner(enforced_db.dsn, "c")
    with psycopg.connect(enforced_db.dsn, autocommit=True) as su:
        su.execute(
            "CREATE FUNCTION public.order_ids() RETURNS integer[] LANGUAGE plpgsql STABLE "
            "AS $$ BEGIN RETURN ARRAY(SELECT id FROM sale_order ORDER BY id); END $$"
        )
    users = [("salesman_a", 15, [1]), ("salesmgr_ab", 16, [1, 2])] * 2
    with psycopg.connect(app_dsn(enforced_db)) as app:
        assert_rls_effective(app, ["sale_order"])
        app.execute("PREPARE orders AS SELECT id FROM sale_order ORDER BY id")
        for login, uid, companies in users:
            expected = oracle_ids(shared_dir, login, "sale.order")
            app.execute("SELECT pgpolicy.set_context(%s, %s, false)", [uid, companies])
            for _ in range(6):  # past PostgreSQL's switch to a generic plan
                assert [r[0] for r in app.execute("EXECUTE orders")] == expected, login
                assert app.execute("SELECT public.order_ids()").fetchone() == (expected,), login
            app.commit()


def test_switching_back_restores_the_sql_functions(enforced_db: Database) -> None:
    """on then off: every plan-time function as it was (definition, comment, grants)."""
    functions = """
        SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid), p.proacl::text,
               obj_description(p.oid, 'pg_proc')
          FROM pg_proc p WHERE p.pronamespace = 'pgpolicy'::regnamespace
         ORDER BY 1
    """
    set_planner(enforced_db.dsn, "sql")
    with psycopg.connect(enforced_db.dsn) as conn:
        before = conn.execute(functions).fetchall()
    assert set_planner(enforced_db.dsn, "c") == "c"
    with psycopg.connect(enforced_db.dsn) as conn:
        during = conn.execute(functions).fetchall()
    assert set_planner(enforced_db.dsn, "sql") == "sql"
    with psycopg.connect(enforced_db.dsn) as conn:
        assert conn.execute(functions).fetchall() == before
    changed = [b[0] for b, d in zip(before, during, strict=True) if b != d]
    assert len(changed) == 14 and "pgpolicy.forget_context_plans()" in changed


def test_planner_command(enforced_db: Database) -> None:
    def pgpolicy(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pgpolicy", "--dsn", enforced_db.dsn, *args],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    set_planner(enforced_db.dsn, "sql")
    assert pgpolicy("planner").stdout == "plan-time functions: SQL\n"
    on = pgpolicy("planner", "on")
    assert (on.returncode, on.stdout) == (0, "plan-time functions: C (pgpolicy_planner)\n")
    assert json.loads(pgpolicy("planner", "show", "--format", "json").stdout) == {"planner": "c"}
    status = pgpolicy("status", "--app-role", "pgpolicy_app")
    assert "runtime: 12; plan-time functions: c" in status.stdout
    assert pgpolicy("planner", "off").stdout == "plan-time functions: SQL\n"


def test_planner_errors_change_nothing(
    enforced_db: Database, odoo_db: Database, app_dsn: Callable[[Any], str]
) -> None:
    before = planner_in_use_of(enforced_db)
    with pytest.raises(PgPolicyError, match="only a superuser"):
        set_planner(app_dsn(enforced_db), "sql" if before == "c" else "c")
    assert planner_in_use_of(enforced_db) == before
    with pytest.raises(PgPolicyError, match="needs the pgpolicy runtime version 5"):
        set_planner(odoo_db.dsn, "c")
    with psycopg.connect(odoo_db.dsn) as conn:
        assert traces(conn) == {}


def test_downgrade_puts_the_sql_functions_back(odoo_db: Database, app_role: str) -> None:
    runtime.install(odoo_db.dsn, [app_role])
    set_planner(odoo_db.dsn, "c")
    runtime.uninstall(odoo_db.dsn)
    with psycopg.connect(odoo_db.dsn) as conn:
        assert traces(conn) == {}
