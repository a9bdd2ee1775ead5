"""Cached plans and set_context since runtime 11: set_context forgets the session's cached plans
only when one may have folded a context (a prepared statement exists, or a statement was
planned with a context folded inside a function: the mark pgpolicy_nested_plans). These tests
try to make a plan folded for one user serve another on the same session, as the app role on
the enforced Odoo 18 database, with each implementation of the plan-time functions. Expected
rows come from the Odoo oracle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import psycopg
import pytest

from odoo_bridge.pgpolicy_bridge.lib.context import Context
from odoo_bridge.pgpolicy_bridge.lib.statements import TransactionState
from tests.conftest import Database
from tests.security.test_context_forgery import (
    PORTAL,
    SALESMAN,
    Connect,
    UidOf,
    Visible,
    order_ids,
    set_context,
)
from tests.security.test_pgbouncer import Bouncer, Observations, bouncer, race  # noqa: F401

MANAGER = "salesmgr_ab"
USERS = (SALESMAN, MANAGER, PORTAL)
MARK = "pgpolicy_nested_plans"

# A function of the application's that reads a protected table as the caller (SECURITY
# INVOKER): PL/pgSQL keeps the plan of its query, folded for the context it was planned in.
FUNCTION = (
    "CREATE FUNCTION public.order_ids_of_caller() RETURNS SETOF integer LANGUAGE plpgsql STABLE"
    " AS $$ BEGIN RETURN QUERY SELECT id FROM public.sale_order; END $$"
)


@pytest.fixture
def with_function(secured_db: Database, app_role: str) -> None:
    with psycopg.connect(secured_db.dsn, autocommit=True) as su:
        su.execute(FUNCTION)
        su.execute(f"GRANT EXECUTE ON FUNCTION public.order_ids_of_caller() TO {app_role}")


def prepared_names(conn: psycopg.Connection[Any]) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM pg_prepared_statements")}


def function_ids(conn: psycopg.Connection[Any]) -> set[int]:
    return order_ids(conn, "SELECT * FROM public.order_ids_of_caller()")


@pytest.mark.usefixtures("with_function")
def test_a_cached_plan_of_one_user_never_serves_another_on_the_same_session(
    connect_app: Connect, uid_of: UidOf, visible: Visible
) -> None:
    """One pooled session, users taking turns, transaction after transaction: a statement
    sent as text, a function's cached plan and a prepared statement's generic plan each give
    the current user's rows, never the previous user's and never none."""
    conn = connect_app(prepare_threshold=None)
    conn.execute("SET plan_cache_mode = force_generic_plan")
    conn.commit()
    for turn, login in enumerate([*USERS, *reversed(USERS), *USERS]):
        expected = visible(login, "sale.order")
        set_context(conn, uid_of, login)
        assert order_ids(conn) == expected, login
        assert function_ids(conn) == expected, login
        if turn == 2:  # from now on a prepared statement lives in the session too
            conn.execute("PREPARE orders AS SELECT id FROM sale_order")
        if turn >= 2:
            assert order_ids(conn, "EXECUTE orders") == expected, login
        (conn.commit if turn % 2 else conn.rollback)()
    assert len({frozenset(visible(login, "sale.order")) for login in USERS}) == len(USERS)


def test_a_prepared_statement_follows_every_context_change(
    connect_app: Connect, uid_of: UidOf, visible: Visible
) -> None:
    """A generic plan kept by a prepared statement, the context changed in the same
    transaction and in the next: each time the rows of the context now set."""
    conn = connect_app(prepare_threshold=None)
    conn.execute("SET plan_cache_mode = force_generic_plan")
    set_context(conn, uid_of, SALESMAN)
    conn.execute("PREPARE orders AS SELECT id FROM sale_order")
    assert order_ids(conn, "EXECUTE orders") == visible(SALESMAN, "sale.order")
    set_context(conn, uid_of, MANAGER)  # same transaction
    assert order_ids(conn, "EXECUTE orders") == visible(MANAGER, "sale.order")
    conn.commit()
    assert order_ids(conn, "EXECUTE orders") == set()  # no context: the gate
    set_context(conn, uid_of, PORTAL)
    assert order_ids(conn, "EXECUTE orders") == visible(PORTAL, "sale.order")
    conn.rollback()


@pytest.mark.usefixtures("with_function")
def test_a_plan_folded_inside_a_function_marks_the_session_even_if_rolled_back(
    connect_app: Connect, uid_of: UidOf, visible: Visible, planner: str
) -> None:
    """The mark outlives a rollback and a read-only transaction (a PREPARE is neither undone
    nor refused there); the next set_context forgets the plans and removes the mark. (The C
    functions need no mark: they forget exactly the plans that folded a context.)"""
    mark = {MARK} if planner == "sql" else set()
    conn = connect_app(prepare_threshold=None)
    conn.execute("BEGIN READ ONLY")
    set_context(conn, uid_of, MANAGER)
    assert function_ids(conn) == visible(MANAGER, "sale.order")
    conn.rollback()
    assert prepared_names(conn) == mark
    set_context(conn, uid_of, SALESMAN)
    assert prepared_names(conn) == set()  # forgotten, then planned again below
    assert function_ids(conn) == visible(SALESMAN, "sale.order")
    assert prepared_names(conn) == mark
    conn.rollback()


def test_statements_sent_as_text_leave_no_mark(
    connect_app: Connect, uid_of: UidOf, visible: Visible
) -> None:
    """What Odoo sends (statements as text: reads of tables with plain and relational rules,
    a join, a write) keeps no plan that folded a context, so set_context keeps the
    session's cached plans: no prepared statement, no mark."""
    conn = connect_app(prepare_threshold=None)
    for login in USERS:
        set_context(conn, uid_of, login)
        assert order_ids(conn) == visible(login, "sale.order")
        conn.execute("SELECT id FROM res_partner").fetchall()
        conn.execute(
            "SELECT l.id FROM sale_order_line l JOIN sale_order o ON o.id = l.order_id"
        ).fetchall()
        conn.execute("UPDATE sale_order SET note = note WHERE id = -1")
        conn.commit()
    assert prepared_names(conn) == set()
    # The bridge's form: CLOSE ALL, its set_context call and the statement in one query string.
    bridge = connect_app(cursor_factory=psycopg.ClientCursor)
    state = TransactionState()
    for login in USERS:
        uid, companies = uid_of(login)
        text = state.prepare(
            "SELECT id FROM sale_order", Context(uid, tuple(companies), False), True
        )
        with bridge.cursor() as cur:
            cur.execute(text)
            while cur.nextset():
                pass
            assert {row[0] for row in cur.fetchall()} == visible(login, "sale.order")
        bridge.commit()
    assert prepared_names(bridge) == set()


@pytest.mark.usefixtures("with_function")
def test_a_plan_kept_past_a_removed_mark_gives_no_rows_never_anothers(
    connect_app: Connect, uid_of: UidOf, visible: Visible, planner: str
) -> None:
    """A client that removes the mark (DEALLOCATE ALL) keeps set_context from forgetting: the
    function's plan, folded for the manager, then runs under the salesman's context. The
    gate denies it (no rows), and the next forgetting plans it again for the one asking."""
    conn = connect_app(prepare_threshold=None)
    set_context(conn, uid_of, MANAGER)
    manager = visible(MANAGER, "sale.order")
    assert function_ids(conn) == manager
    conn.commit()
    conn.execute("DEALLOCATE ALL")
    conn.commit()
    set_context(conn, uid_of, SALESMAN)
    assert order_ids(conn) == visible(SALESMAN, "sale.order")
    kept = function_ids(conn)
    # The C functions forget exactly the plans that folded a context, mark or not.
    assert kept == (set() if planner == "sql" else visible(SALESMAN, "sale.order"))
    assert not kept & (manager - visible(SALESMAN, "sale.order"))
    conn.execute("PREPARE anything AS SELECT 1")  # the next set_context forgets
    set_context(conn, uid_of, SALESMAN)
    assert function_ids(conn) == visible(SALESMAN, "sale.order")
    conn.rollback()


def test_a_value_folded_inside_a_sql_function_follows_the_context(
    secured_db: Database, app_role: str, connect_app: Connect, uid_of: UidOf
) -> None:
    """A SQL function the planner evaluates, which folds a plan-time value in its own
    statement: PostgreSQL 18 keeps that statement's plan for the session, so without the
    mark the uid folded for one user would be the next user's too."""
    with psycopg.connect(secured_db.dsn, autocommit=True) as su:
        su.execute(
            "CREATE FUNCTION public.planned_uid_of_caller() RETURNS integer LANGUAGE sql"
            " IMMUTABLE AS $$ SELECT pgpolicy.planned_uid() $$"
        )
        su.execute(f"GRANT EXECUTE ON FUNCTION public.planned_uid_of_caller() TO {app_role}")
    conn = connect_app(prepare_threshold=None)
    for login in [*USERS, *USERS]:
        set_context(conn, uid_of, login)
        uid = uid_of(login)[0]
        assert conn.execute("SELECT public.planned_uid_of_caller()").fetchone() == (uid,), login
        conn.commit()


# --- PgBouncer, transaction pooling: a hostile client's plans on the shared connections ----


def hostile_plans(dsn: str, stop: threading.Event, seen: Observations) -> None:
    """Plans the function and a prepared statement under the system context (every order),
    then removes the mark, so that the next client's set_context on that server connection
    may keep them."""
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as conn:
        while not stop.is_set():
            try:
                with conn.transaction():
                    conn.execute("SELECT pgpolicy.set_context(1, '{}', true)")
                    conn.execute("SELECT * FROM public.order_ids_of_caller()").fetchall()
                conn.execute("DEALLOCATE ALL")
            except psycopg.Error as exc:
                with seen.lock:
                    seen.errors.append(f"hostile: {exc}")
            with seen.lock:
                seen.transactions["hostile"] += 2


def pooled_client(
    dsn: str, expected: dict[str, set[int]], uid_of: UidOf, seen: Observations, seed: int
) -> None:
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as conn:
        for turn in range(300):
            login = USERS[(seed + turn) % len(USERS)]
            try:
                with conn.transaction():
                    uid, companies = uid_of(login)
                    conn.execute("SELECT pgpolicy.set_context(%s, %s, false)", [uid, companies])
                    text = order_ids(conn)
                    function = function_ids(conn)
            except psycopg.Error as exc:
                with seen.lock:
                    seen.errors.append(f"{login}: {exc}")
                continue
            with seen.lock:
                seen.transactions[login] += 1
                for rows in (text, function):
                    if rows - expected[login]:
                        seen.beyond.append((login, sorted(rows - expected[login])))
                if text != expected[login]:
                    seen.missing.append((login, sorted(expected[login] - text)))
                if function != expected[login]:
                    seen.leftovers += 1  # a kept plan denied by the gate


@pytest.mark.usefixtures("with_function")
def test_transaction_pooling_never_lets_a_kept_plan_serve_another_client(
    bouncer: Bouncer,  # noqa: F811
    app_role: str,
    uid_of: UidOf,
    visible: Visible,
    assert_rls_effective: Callable[..., None],
) -> None:
    dsn = bouncer.dsn("secured", app_role)
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as probe:
        assert_rls_effective(probe, ["sale_order"])
    expected = {login: visible(login, "sale.order") for login in USERS}
    seen = Observations()
    race(
        [partial(pooled_client, dsn, expected, uid_of, seen, seed) for seed in range(3)],
        partial(hostile_plans, dsn, seen=seen),
    )
    assert seen.errors == [], seen.errors[:5]
    assert sum(seen.transactions[login] for login in USERS) == 900, seen.transactions
    assert seen.transactions["hostile"] > 0
    assert seen.beyond == [], seen.beyond[:5]  # never a row of the system context
    assert seen.missing == [], seen.missing[:5]  # statements as text: exactly the user's
