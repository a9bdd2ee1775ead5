"""Attacks on the context: each as the app role on the enforced Odoo 18 database, with row-level
security asserted effective, with the SQL and the C plan-time functions.

salesman_a (uid 15, company 1) may read 1 of the 33 sale orders, portal_user 5 (the Odoo
oracle). An attack succeeds when any statement returns an order its user may not read, or
when a context it forged outlives it. Since runtime 6 only `pgpolicy.set_context` in the
current transaction establishes a context (docs/semantics.md, "An unforgeable context").
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from odoo_bridge.pgpolicy_bridge.lib.context import Context
from odoo_bridge.pgpolicy_bridge.lib.statements import TransactionState

SALESMAN = "salesman_a"
PORTAL = "portal_user"
Connect = Callable[..., psycopg.Connection[Any]]
Visible = Callable[[str, str], set[int]]
UidOf = Callable[[str], tuple[int, list[int]]]

# The forged context, as an injected fragment writes it: the system principal.
FORGE = "set_config('pgpolicy.uid', '1', true) || set_config('pgpolicy.su', 'true', true)"


def order_ids(conn: psycopg.Connection[Any], query: str = "SELECT id FROM sale_order") -> set[int]:
    return {row[0] for row in conn.execute(query)}


def last_result(cur: psycopg.Cursor[Any]) -> list[tuple[Any, ...]]:
    """The rows of the last statement of a query string of several."""
    while cur.nextset():
        pass
    return cur.fetchall()


def set_context(conn: psycopg.Connection[Any], uid_of: UidOf, login: str) -> None:
    uid, companies = uid_of(login)
    conn.execute("SELECT pgpolicy.set_context(%s, %s, false)", [uid, companies])


def bridge_call(uid_of: UidOf, login: str, token: str | None, su: bool = False) -> tuple[str, str]:
    """A bridge-style set_context call presenting `token`, and the next secret it registers."""
    uid, companies = uid_of(login)
    secret = secrets.token_hex(32)
    call = (
        f"SELECT pgpolicy.set_context({uid}, '{{{','.join(map(str, companies))}}}', "
        f"{'true' if su else 'false'}"
    )
    if token is not None:
        call += f", token => '{token}'"
    call += f", next_token_hash => '{hashlib.sha256(secret.encode()).hexdigest()}');"
    return call, secret


# --- (a) a context forged inside one statement --------------------------------------------


def test_a_forged_context_inside_query_to_xml_sees_no_more_than_the_user(
    app: psycopg.Connection[Any], uid_of: UidOf, visible: Visible
) -> None:
    """Issue 13, item 4: an injected sub-select writes the settings, then query_to_xml plans
    a query under them."""
    set_context(app, uid_of, SALESMAN)
    mine = visible(SALESMAN, "sale.order")
    assert order_ids(app) == mine and len(mine) == 1
    xml = app.execute(
        "SELECT query_to_xml('select id from sale_order' || left(v, 0), false, false, '')::text"
        f" FROM (SELECT {FORGE} AS v) AS injected"
    ).fetchone()
    assert xml is not None
    seen = {int(i) for i in re.findall(r"<id>(\d+)</id>", xml[0])}
    assert seen <= mine, sorted(seen - mine)
    # The forged settings do not stay for the rest of the transaction either.
    assert order_ids(app) <= mine
    assert app.execute("SELECT pgpolicy.uid(), pgpolicy.su()").fetchone() in (
        (None, False),
        (uid_of(SALESMAN)[0], False),
    )
    app.rollback()


def test_a_forged_context_inside_ts_stat_sees_no_more_than_the_user(
    app: psycopg.Connection[Any], uid_of: UidOf, visible: Visible
) -> None:
    set_context(app, uid_of, SALESMAN)
    mine = visible(SALESMAN, "sale.order")
    rows = app.execute(
        "SELECT s.word FROM (SELECT " + FORGE + " AS v) AS injected,"
        " ts_stat('select to_tsvector(''simple'', id::text) from sale_order' || left(v, 0)) s"
    ).fetchall()
    seen = {int(word) for (word,) in rows}
    assert seen <= mine, sorted(seen - mine)
    assert order_ids(app) <= mine
    app.rollback()


# --- (b) leftover session state on a pooled connection --------------------------------------


def test_session_settings_left_by_a_client_give_the_next_transaction_nothing(
    connect_app: Connect,
) -> None:
    """Issue 13, item 5: SET at session level, then a transaction without set_context."""
    conn = connect_app(autocommit=True)
    for name, value in (("uid", "1"), ("company_ids", "1"), ("su", "true"), ("shadow", "true")):
        conn.execute(f"SET pgpolicy.{name} = '{value}'")
    with conn.transaction():
        assert order_ids(conn) == set()
        assert conn.execute("SELECT pgpolicy.uid(), pgpolicy.context_key()").fetchone() == (
            None,
            None,
        )


# --- (c) a session-level shadow mode left for the next user ---------------------------------


def test_a_session_shadow_mode_does_not_reach_the_next_users_context(
    connect_app: Connect, uid_of: UidOf, visible: Visible
) -> None:
    """Issue 13, item 5: shadow mode at session level, then a correct set_context."""
    conn = connect_app(autocommit=True)
    conn.execute("SELECT set_config('pgpolicy.shadow', 'true', false)")
    with conn.transaction():
        set_context(conn, uid_of, PORTAL)
        portal = visible(PORTAL, "sale.order")
        assert len(portal) == 5
        assert order_ids(conn) == portal


# --- (d) a seal copied into a later transaction ----------------------------------------------


def test_a_copied_seal_replayed_later_gives_nothing(connect_app: Connect, uid_of: UidOf) -> None:
    names = ("uid", "company_ids", "su", "profiles", "shadow", "lock", "seal")
    conn = connect_app(autocommit=True)
    with conn.transaction():
        conn.execute("SELECT pgpolicy.set_context(1, '{}', true)")  # everything, here
        assert len(order_ids(conn)) == 33
        copied = [
            conn.execute("SELECT current_setting(%s, true)", [f"pgpolicy.{n}"]).fetchone()
            for n in names
        ]
    values = [row[0] if row else None for row in copied]
    # In a later transaction of the same session, transaction-local ...
    with conn.transaction():
        for name, value in zip(names, values, strict=True):
            conn.execute("SELECT set_config(%s, %s, true)", [f"pgpolicy.{name}", value or ""])
        assert order_ids(conn) == set()
    # ... or at session level, read by the next transactions.
    for name, value in zip(names, values, strict=True):
        conn.execute("SELECT set_config(%s, %s, false)", [f"pgpolicy.{name}", value or ""])
    with conn.transaction():
        assert order_ids(conn) == set()
    # In another session.
    other = connect_app(autocommit=True)
    with other.transaction():
        for name, value in zip(names, values, strict=True):
            other.execute("SELECT set_config(%s, %s, true)", [f"pgpolicy.{name}", value or ""])
        assert order_ids(other) == set()


# --- (e) the bridge's context, locked with one-time tokens ------------------------------------


def attempt(conn: psycopg.Connection[Any], text: str) -> Exception | None:
    """Run `text` in a savepoint; the error it raised, if any."""
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(text)
    except psycopg.Error as exc:
        return exc
    return None


def test_injected_sql_cannot_change_a_locked_context(
    app: psycopg.Connection[Any], uid_of: UidOf, visible: Visible
) -> None:
    mine = visible(SALESMAN, "sale.order")
    first, secret = bridge_call(uid_of, SALESMAN, None)
    # The bridge's first statement of the transaction, injected: the injected statements
    # come after its set_context call in the same query string.
    injected = [
        "SELECT pgpolicy.set_context(1, ARRAY[1], true)",
        f"SELECT pgpolicy.set_context(1, ARRAY[1], true, token => '{secrets.token_hex(32)}',"
        f" next_token_hash => '{'0' * 64}')",
        # the token the bridge's call presented, read from the statement's own text
        "SELECT pgpolicy.set_context(1, ARRAY[1], true, token => substring(current_query()"
        " from 'token => ''([0-9a-f]{64})'''), next_token_hash => repeat('0', 64))",
        "SELECT pgpolicy.set_context(1, ARRAY[1], true, token => (SELECT substring(a.query"
        " from 'token => ''([0-9a-f]{64})''') FROM pg_stat_activity a"
        " WHERE a.pid = pg_backend_pid()), next_token_hash => repeat('0', 64))",
        # erase the settings, then set a context as a transaction's first call would
        "SELECT set_config('pgpolicy.seal', '', true), set_config('pgpolicy.lock', '', true);"
        " SELECT pgpolicy.set_context(1, ARRAY[1], true)",
        "SELECT pgpolicy.set_profiles(ARRAY['x'])",
    ]
    with app.cursor() as cur:
        cur.execute(first + " SELECT id FROM sale_order")
        assert {r[0] for r in last_result(cur)} == mine
    for text in injected:
        # A later statement of the transaction ...
        assert attempt(app, text) is not None, text
        assert order_ids(app) == mine, text
        # ... or behind the bridge's next switch, in the same query string: the token that
        # switch presents is in the text, and spent.
        switch, _next = bridge_call(uid_of, SALESMAN, secret, su=False)
        assert attempt(app, switch + " " + text) is not None, text
        assert order_ids(app) == mine, text
    app.rollback()


def test_a_spent_token_read_from_the_text_cannot_change_the_context(
    app: psycopg.Connection[Any], uid_of: UidOf, visible: Visible
) -> None:
    mine = visible(SALESMAN, "sale.order")
    first, secret = bridge_call(uid_of, SALESMAN, None)
    app.execute(first)
    switch, _next = bridge_call(uid_of, SALESMAN, secret, su=False)
    steal = (
        "SELECT pgpolicy.set_context(1, ARRAY[1], true, token => substring(current_query()"
        " from 'token => ''([0-9a-f]{64})'''), next_token_hash => repeat('0', 64))"
    )
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="locked"),
        app.cursor() as cur,
    ):
        cur.execute(switch + " " + steal)
    app.rollback()
    app.execute(first)
    app.execute("SELECT set_config('pgpolicy.seal', '', true)")  # erased after the lock
    assert order_ids(app) == set()
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="was locked"):
        app.execute("SELECT pgpolicy.set_context(1, ARRAY[1], true)")
    app.rollback()
    # Without a lock (psql, tools), set_context works as it always did.
    set_context(app, uid_of, SALESMAN)
    assert order_ids(app) == mine
    app.execute("SELECT pgpolicy.set_context(1, '{}', true)")
    assert len(order_ids(app)) == 33
    app.rollback()


def test_the_bridge_follows_savepoints_with_its_tokens(
    app: psycopg.Connection[Any], uid_of: UidOf, visible: Visible
) -> None:
    """ROLLBACK TO SAVEPOINT brings the database back to the token it expected then: the
    bridge presents that one with its next statement, and its context keeps working."""
    uid, companies = uid_of(SALESMAN)
    user, su = Context(uid, tuple(companies), False), Context(uid, tuple(companies), True)
    mine = visible(SALESMAN, "sale.order")
    state = TransactionState()

    def run(query: str, context: Context, idle: bool = False) -> set[int]:
        with app.cursor() as cur:
            cur.execute(state.prepare(query, context, idle))
            while cur.nextset():
                pass
            return {r[0] for r in cur.fetchall()} if cur.description else set()

    assert run("SELECT id FROM sale_order", user, idle=True) == mine
    run('SAVEPOINT "a"', su)
    assert len(run("SELECT id FROM sale_order", su)) == 33  # superuser mode: mirrors lifted
    run("savepoint b", user)
    assert run("SELECT id FROM sale_order", user) == mine
    run('ROLLBACK TO SAVEPOINT "a"', user)  # back to the token of before "a"
    assert run("SELECT id FROM sale_order", user) == mine
    assert len(run("SELECT id FROM sale_order", su)) == 33
    run('RELEASE SAVEPOINT "a"', su)
    assert run("SELECT id FROM sale_order", user) == mine
    assert state.switches >= 4
    app.rollback()
