"""The context and the plans it is folded into (issue 13, item 10): the key of a context is
unambiguous, set_context cannot run while a statement is planned, the plan made while the C
library loads is forgotten like the others, and no cursor of an earlier transaction reaches
the bridge's next one. As the app role on the enforced Odoo 18 database, SQL and C.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest

from odoo_bridge.pgpolicy_bridge.lib.context import SYSTEM_CONTEXT, Context
from odoo_bridge.pgpolicy_bridge.lib.statements import TransactionState
from tests import probe
from tests.security.test_context_forgery import (
    FORGE,
    PORTAL,
    SALESMAN,
    Connect,
    UidOf,
    Visible,
    order_ids,
    set_context,
)


def set_by_hand(conn: psycopg.Connection[Any], **settings: str) -> None:
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, true)", [f"pgpolicy.{name}", value])


# --- (f) two contexts, one key ---------------------------------------------------------------


def test_two_contexts_never_share_a_key(
    app: psycopg.Connection[Any], uid_of: UidOf, visible: Visible
) -> None:
    """Until runtime 5 the key joined the settings with '|': a plan made with shadow mode on
    (mirrors admit every row) ran under a context without it that had the same key."""
    portal = visible(PORTAL, "sale.order")
    uid = str(uid_of(PORTAL)[0])
    app.execute("SET plan_cache_mode = force_generic_plan")
    set_by_hand(app, uid=uid, company_ids="1", su="false", profiles="x|y", shadow="true")
    app.execute("PREPARE orders AS SELECT id FROM sale_order")
    assert order_ids(app, "EXECUTE orders") <= portal
    set_by_hand(app, uid=uid, company_ids="1", su="false", profiles="x", shadow="y|true")
    assert order_ids(app, "EXECUTE orders") <= portal
    app.rollback()
    # The keys of contexts set_context establishes: every part length-prefixed.
    keys = []
    for shadow in (False, True):
        app.execute("SELECT pgpolicy.set_context(%s, '{1}', false, %s)", [int(uid), shadow])
        keys.append(app.execute("SELECT pgpolicy.context_key()").fetchone())
        app.rollback()
    part = r"(\d+):([^;]*);"
    for (key,) in keys:
        parts = re.findall(part, key)
        assert re.fullmatch(f"({part}){{8}}", key), key
        assert all(int(length) == len(text) for length, text in parts), key
    assert keys[0] != keys[1]


# --- (g) set_context while a statement is planned ----------------------------------------------


def test_set_context_from_a_function_the_planner_evaluates_is_refused(
    app: psycopg.Connection[Any], uid_of: UidOf, visible: Visible
) -> None:
    """An IMMUTABLE function is evaluated while the statement is planned: values folded
    before and after its set_context call would belong to two contexts."""
    app.execute(
        "CREATE FUNCTION pg_temp.switch() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$"
        " BEGIN PERFORM pgpolicy.set_context(1, '{1}', true); RETURN true; END $$"
    )
    app.commit()
    set_context(app, uid_of, SALESMAN)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="statement of its own"):
        app.execute("SELECT id FROM sale_order WHERE pg_temp.switch()")
    app.rollback()
    set_context(app, uid_of, SALESMAN)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="statement of its own"):
        app.execute(
            "SELECT query_to_xml('select pgpolicy.set_context(1, ''{1}'', true)', false, false, '')"
        )
    app.rollback()


def test_settings_written_while_a_statement_is_planned_give_no_more_rows(
    app: psycopg.Connection[Any], uid_of: UidOf, visible: Visible
) -> None:
    mine = visible(SALESMAN, "sale.order")
    app.execute(
        "CREATE FUNCTION pg_temp.forge() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$"
        f" BEGIN PERFORM {FORGE}; RETURN true; END $$"
    )
    app.commit()
    set_context(app, uid_of, SALESMAN)
    try:
        seen = order_ids(app, "SELECT id FROM sale_order WHERE pg_temp.forge()")
    except psycopg.errors.InsufficientPrivilege:  # the C functions: "the context changed"
        seen = set()
    assert seen <= mine
    app.rollback()


# --- the plan made while the C library loads ---------------------------------------------------


def test_a_plan_made_while_the_library_loads_is_forgotten_by_set_context(
    connect_app: Connect, uid_of: UidOf, visible: Visible
) -> None:
    """The first statement of a session that folds a value loads pgpolicy_planner while it
    is planned, before the library's planner hook is in place: that plan carried no
    invalidation item, and set_context left it cached (denied by the gate: no rows)."""
    conn = connect_app()
    conn.execute("SET plan_cache_mode = force_generic_plan")
    conn.execute("PREPARE orders AS SELECT id FROM sale_order")
    assert order_ids(conn, "EXECUTE orders") == set()  # planned (and kept) for no one
    set_context(conn, uid_of, SALESMAN)
    assert order_ids(conn, "EXECUTE orders") == visible(SALESMAN, "sale.order")
    conn.rollback()


# --- a cursor held from an earlier transaction ------------------------------------------------


def test_the_bridge_closes_cursors_held_from_an_earlier_transaction(
    connect_app: Connect, uid_of: UidOf, visible: Visible
) -> None:
    """A WITH HOLD cursor is materialized when its transaction commits, under that
    transaction's context: the gate cannot deny its rows to a later transaction. The bridge's
    first statement of every transaction closes all cursors."""
    conn = connect_app(cursor_factory=psycopg.ClientCursor)
    declare = "DECLARE {} CURSOR WITH HOLD FOR SELECT id FROM sale_order"
    # The hazard: declared under the system context, read in a transaction without any.
    state = TransactionState()
    conn.execute(state.prepare(declare.format("held"), SYSTEM_CONTEXT, idle=True))
    conn.commit()
    assert len(order_ids(conn, "FETCH ALL FROM held")) == 33
    conn.rollback()
    # Through the bridge: the next transaction's first statement finds no cursor left.
    conn.execute(state.prepare(declare.format("leak"), SYSTEM_CONTEXT, idle=True))
    conn.commit()
    uid, companies = uid_of(SALESMAN)
    text = state.prepare("FETCH ALL FROM leak", Context(uid, tuple(companies), False), idle=True)
    with pytest.raises(psycopg.errors.InvalidCursorName):
        conn.execute(text)
    conn.rollback()
    text = state.prepare("SELECT id FROM sale_order", Context(uid, tuple(companies), False), True)
    with conn.cursor() as cur:
        cur.execute(text)
        while cur.nextset():
            pass
        assert {r[0] for r in cur.fetchall()} == visible(SALESMAN, "sale.order")
    conn.rollback()


# --- one session, user after user ------------------------------------------------------------


def test_one_session_serves_user_after_user_exactly(
    app: psycopg.Connection[Any], oracle: dict[str, Any], uid_of: UidOf, visible: Visible
) -> None:
    """A pooled connection serves the users one transaction each, back and forth: every
    model reads exactly the user's rows every time, whatever plans an earlier user left
    (PostgreSQL 18 caches the plans of SQL functions in the session; a generated function
    that calls a plan-time function must not keep the first user's values)."""
    logins = list(oracle["users"])
    order = logins + logins[::-1] + logins
    wrong = []
    for login in order:
        uid, companies = uid_of(login)
        app.execute("SELECT pgpolicy.set_context(%s, %s, false)", [uid, companies])
        for model, info in oracle["models"].items():
            got = set(probe.readable(app, info["table"]))
            if got != visible(login, model):
                wrong.append(f"{login} {model}: +{sorted(got - visible(login, model))[:3]}"
                             f" -{sorted(visible(login, model) - got)[:3]}")  # fmt: skip
        app.commit()
    assert wrong == [], "\n".join(wrong[:20])


def test_two_portal_users_in_turn_read_what_each_reads_alone(
    app: psycopg.Connection[Any], connect_app: Connect, visible: Visible
) -> None:
    """Portal users 21 (`portal_user`, commercial partner 10) and 7 (`portal`, partner 8)
    read through rules whose ids nest one plan-time function in another (the followers
    `child_of` the user's commercial partner). Served in turn by one session, each reads
    what it reads in a session of its own: PostgreSQL 18 keeps a SQL function's plan in the
    session, and the inner function's value folded into it for one user must not serve the
    next (before the fix, on 18: user 7 read user 21's 5 orders and 21 read 7's tasks)."""
    models = {"sale.order": "sale_order", "project.task": "project_task",
              "project.project": "project_project", "account.move": "account_move"}  # fmt: skip

    def reads(conn: psycopg.Connection[Any], uid: int) -> dict[str, set[int]]:
        conn.execute("SELECT pgpolicy.set_context(%s, '{1}', false)", [uid])
        got = {model: set(probe.readable(conn, table)) for model, table in models.items()}
        conn.commit()
        return got

    alone = {uid: reads(connect_app(), uid) for uid in (21, 7)}
    assert alone[21] == {model: visible("portal_user", model) for model in models}
    assert alone[7] != alone[21]
    wrong = []
    for uid in (21, 7, 21, 7):
        got = reads(app, uid)
        wrong += [f"user {uid} {model}: +{sorted(got[model] - alone[uid][model])[:5]} "
                  f"-{sorted(alone[uid][model] - got[model])[:5]}"
                  for model in models if got[model] != alone[uid][model]]  # fmt: skip
    assert wrong == []
