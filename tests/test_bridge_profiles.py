"""The enabled subset of access profiles through the bridge, without Odoo.

The choice a user makes for a session travels on the principal; the bridge sends
`set_profiles` behind `set_context` in the same query string. Names are checked in Python
(they become statement text) and by the database (only the user's own). Expected ids: the
oracle's (what Odoo allows) intersected with the profile domains, asked of PostgreSQL as
superuser with the equivalent WHERE written by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import pq

from odoo_bridge.pgpolicy_bridge.lib.bridge import Bridge
from odoo_bridge.pgpolicy_bridge.lib.context import (
    BridgeError,
    Context,
    Principal,
    check_profiles,
    session_choice,
    session_profiles,
)
from odoo_bridge.pgpolicy_bridge.lib.profile_choice import check_choice, profile_names
from tests.conftest import check_rls_effective, deploy_profiles
from tests.test_bridge import BridgedCursor, orm_file_rules
from tests.test_profiles import (
    BIG,
    BIG_ORDERS,
    COMPANY_2_ORDERS,
    SALESMGR,
    oracle_ids,
    superuser_ids,
)

TWO = (
    BIG
    + """\
  - name: company-two
    members: {logins: [salesmgr_ab]}
    models:
      sale.order:
        read: "[('company_id', '=', 2)]"
  - name: someone-else
    members: {logins: [stock_user]}
    models:
      sale.order:
        read: "[('id', '=', 0)]"
"""
)


# --- pure: what becomes statement text ----------------------------------------------------


def test_the_enabled_subset_follows_set_context_in_the_same_text() -> None:
    context = Context(16, (1, 2), False, profiles=("big-orders", "company_2"))
    assert context.sql() == (
        "SELECT pgpolicy.set_context(16, '{1,2}', false,"
        " profiles => ARRAY['big-orders','company_2']::text[]);"
    )
    shadow = Context(16, (), True, shadow=True, profiles=("a",))
    assert shadow.sql() == (
        "SELECT pgpolicy.set_context(16, '{}', true, shadow => true,"
        " profiles => ARRAY['a']::text[]);"
    )
    assert Context(16, (1,), False).sql() == "SELECT pgpolicy.set_context(16, '{1}', false);"


@pytest.mark.parametrize(
    "bad",
    [
        [],
        "big-orders",
        ["a'); SELECT 1; --"],
        ["100%"],
        ["Big"],
        ["1st"],
        [""],
        ["a,b"],
        ["a" * 64],
        [None],
        ["a", "a"],
        ["p" + str(i) for i in range(101)],
    ],
)
def test_profile_names_outside_the_safe_charset_are_refused(bad: object) -> None:
    with pytest.raises(BridgeError, match="enabled profiles"):
        check_profiles(bad)
    with pytest.raises(BridgeError, match="enabled profiles"):
        Principal(16, profiles=bad)  # type: ignore[arg-type]


def test_the_session_choice_belongs_to_its_user_and_a_malformed_one_denies() -> None:
    choice = session_choice(16, ["big-orders"])
    assert choice == {"uid": 16, "profiles": ["big-orders"]}
    assert session_profiles(choice, 16) == ("big-orders",)
    assert session_profiles(None, 16) is None  # no choice: all the user's profiles
    assert session_profiles(choice, 15) is None  # another user's choice: not theirs
    assert session_choice(16, None) is None  # clearing
    for malformed in (["big-orders"], {"uid": 16}, {"uid": "16", "profiles": ["a"]},
                      {"uid": 16, "profiles": ["a'"]}, {"uid": 16, "profiles": []},
                      {"uid": 16, "profiles": ["a"], "more": 1}):  # fmt: skip
        with pytest.raises(BridgeError):
            session_profiles(malformed, 16)
    principal = Principal(16, (1,), ("a",))
    assert principal.with_companies((2,)) == Principal(16, (2,), ("a",))


# --- through row-level security, as the app role -------------------------------------------


@pytest.fixture
def profiled_db(enforced_db: Any, app_role: str) -> Any:
    deploy_profiles(enforced_db.dsn, app_role, TWO)
    return enforced_db


@pytest.fixture
def app(profiled_db: Any, app_dsn: Callable[[Any], str]) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_dsn(profiled_db), cursor_factory=psycopg.ClientCursor) as conn:
        check_rls_effective(conn, ["sale_order"])
        yield conn


def cursor_for(app: psycopg.Connection[Any], principal: Principal) -> BridgedCursor:
    cursor = BridgedCursor(app, Bridge(orm_file_rules()))
    cursor.state.claim(principal)
    return cursor


def test_the_enabled_subset_narrows_and_never_widens(
    app: psycopg.Connection[Any], profiled_db: Any, shared_dir: Any
) -> None:
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    big, two = superuser_ids(profiled_db, BIG_ORDERS), superuser_ids(profiled_db, COMPANY_2_ORDERS)
    assert odoo & big - two and odoo & two - big  # each profile admits rows the other does not

    everyone = cursor_for(app, Principal(SALESMGR, (1, 2)))
    assert set(everyone.ids("sale_order")) == odoo & (big | two)  # two profiles OR
    app.rollback()
    only_big = cursor_for(app, Principal(SALESMGR, (1, 2), ("big-orders",)))
    assert set(only_big.ids("sale_order")) == odoo & big
    assert only_big.state.transaction.statements == 1  # one prefix: set_context with the profiles
    app.rollback()
    only_two = cursor_for(app, Principal(SALESMGR, (1, 2), ("company-two",)))
    assert set(only_two.ids("sale_order")) == odoo & two
    app.rollback()


def test_a_name_not_the_users_is_refused_by_the_database(app: psycopg.Connection[Any]) -> None:
    for names in (("someone-else",), ("no-such-profile",), ("big-orders", "someone-else")):
        cursor = cursor_for(app, Principal(SALESMGR, (1, 2), names))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a profile of user 16"):
            cursor.ids("sale_order")
        app.rollback()
        assert cursor.state.transaction.sent is None  # said again with the next statement


def test_the_selectors_questions(app: psycopg.Connection[Any]) -> None:
    cursor = app.cursor()
    assert profile_names(cursor) is None  # no context: nobody to ask about
    app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")
    assert profile_names(cursor) == ["big-orders", "company-two"]
    assert check_choice(cursor, ["company-two"]) == ("company-two",)
    with pytest.raises(BridgeError, match="someone-else"):
        check_choice(cursor, ["someone-else"])
    app.rollback()
    with pytest.raises(BridgeError):
        check_choice(cursor, ["it's"])  # refused before it reaches the database
    assert app.info.transaction_status == pq.TransactionStatus.IDLE


def test_a_write_behind_both_calls_keeps_sight_of_its_own_row(
    app: psycopg.Connection[Any], profiled_db: Any, shared_dir: Any
) -> None:
    """Runtime 4: planned_write() sees the UPDATE behind set_context and set_profiles."""
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    order = min(odoo & superuser_ids(profiled_db, BIG_ORDERS))
    cursor = cursor_for(app, Principal(SALESMGR, (1, 2), ("big-orders",)))
    # Lowering the amount moves the order out of the profile's domain: the new row is no
    # longer readable, except to the statement writing it.
    rows = cursor.execute(
        "UPDATE sale_order SET amount_total = 1, write_uid = 16,"
        " write_date = now() AT TIME ZONE 'UTC' WHERE id = %s RETURNING id",
        [order],
    ).fetchall()
    assert rows == [(order,)]
    assert cursor.state.transaction.sent == Context(SALESMGR, (1, 2), False, False, ("big-orders",))
    assert order not in cursor.ids("sale_order")  # a later read: out of the domain
    app.rollback()
