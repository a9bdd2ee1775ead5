"""The bridge's routing of Odoo's name search to the name-search functions, without Odoo.

The decision (`routed_fields`) is plain data; the routed search runs against the Odoo 18
database with its policies, through a `BridgedCursor` (tests/test_bridge.py) whose origin
rules count `tests/bridge_orm.py` and the addon's `lib/search.py` as the ORM, as the addon's
`post_load` does: the ids the function returns, put in the ORM's statement as `id IN (...)`,
give the ORM's statement's own answer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from odoo_bridge.pgpolicy_bridge.lib import search as bridge_search
from odoo_bridge.pgpolicy_bridge.lib.bridge import Bridge
from odoo_bridge.pgpolicy_bridge.lib.origin import OriginRules
from odoo_bridge.pgpolicy_bridge.lib.search import (
    NameSearch,
    SearchFunction,
    call_statement,
    ids_domain,
    parse_catalog,
    pattern,
    routed_fields,
)
from tests import bridge_orm
from tests.conftest import Database, EnforcedTemplate, PgServer, create_database, drop_database
from tests.test_bridge import ORM_FILE, BridgedCursor, user
from tests.test_oracle import allowed_ids

ORDERS = SearchFunction("sale_order", "sale.order", ("name",))
PARTNERS = SearchFunction(
    "res_partner", "res.partner", ("complete_name", "email", "ref", "vat", "company_registry")
)


# --- the decision, as data ----------------------------------------------------------------


def test_a_default_ilike_search_is_routed() -> None:
    assert routed_fields(ORDERS, "sale.order", "ilike", "S0012", ["name"], True, False) == ("name",)
    fields = list(PARTNERS.fields)
    assert routed_fields(PARTNERS, "res.partner", "ilike", "azure", fields, True, False) == (
        PARTNERS.fields
    )


@pytest.mark.parametrize(
    ("operator", "value", "names", "default", "unaccent", "why"),
    [
        ("like", "S0012", ["name"], True, False, "like is case-sensitive"),
        ("not ilike", "S0012", ["name"], True, False, "negative"),
        ("=ilike", "S0012", ["name"], True, False, "no wildcards added"),
        ("=", "S0012", ["name"], True, False, "equality"),
        ("ilike", "", ["name"], True, False, "empty: Odoo drops the condition"),
        ("ilike", False, ["name"], True, False, "not a string"),
        ("ilike", ["S0012"], ["name"], True, False, "a list"),
        ("ilike", "a\x00b", ["name"], True, False, "a NUL character"),
        ("ilike", "S0012", ["name"], False, False, "the model overrides its search"),
        ("ilike", "S0012", ["name"], True, True, "unaccent compares unaccented"),
        ("ilike", "S0012", ["name", "client_order_ref"], True, False, "a field it lacks"),
        ("ilike", "S0012", [], True, False, "no name field"),
    ],
)
def test_anything_else_is_odoo_own_search(
    operator: str, value: object, names: list[str], default: bool, unaccent: bool, why: str
) -> None:
    assert routed_fields(ORDERS, "sale.order", operator, value, names, default, unaccent) is None, (
        why
    )


def test_no_function_or_another_model_is_not_routed() -> None:
    assert routed_fields(None, "sale.order", "ilike", "x", ["name"], True, False) is None
    # a model sharing the table (ir.actions.*): its own search, not the table's model's
    assert routed_fields(ORDERS, "sale.order.line", "ilike", "x", ["name"], True, False) is None
    # some of the fields only (res.partner without its email): not the model's search
    assert (
        routed_fields(PARTNERS, "res.partner", "ilike", "x", ["complete_name"], True, False) is None
    )


def test_the_catalog_comes_from_pgpolicy_comments_only() -> None:
    rows = [
        ("sale_order", '{"source": "pgpolicy", "model": "sale.order", "fields": ["name"]}'),
        ("hand_made", None),
        ("edited", '{"model": "x", "fields": ["name"]}'),
        ("broken", "{not json"),
        ("no_fields", '{"source": "pgpolicy", "model": "x", "fields": []}'),
        ("odd", '{"source": "pgpolicy", "model": "x", "fields": [1]}'),
    ]
    assert parse_catalog(rows) == {"sale_order": ORDERS}


def test_pattern_statement_and_domain() -> None:
    assert pattern("50%_off\\") == "%50%_off\\%"  # as Odoo's ilike: nothing escaped
    assert call_statement('we"ird') == 'SELECT * FROM pgpolicy_search."we""ird"(%s, %s::text[], %s)'
    assert ids_domain([3, 1, 2]) == [("id", "in", [1, 2, 3])]
    assert ids_domain(list(range(5)), max_ids=4) is None
    assert ids_domain([], max_ids=4) == [("id", "in", [])]


# --- the routed search against the database --------------------------------------------------


@pytest.fixture(scope="module")
def enforced_db(pg_server: PgServer, enforced_template: EnforcedTemplate) -> Iterator[Database]:
    db = create_database(pg_server, "bridge_search", template=enforced_template.name)
    yield db
    drop_database(db)


@pytest.fixture
def cursor(enforced_db: Database, assert_rls_effective: Any) -> Iterator[BridgedCursor]:
    dsn = enforced_db.server.dsn(enforced_db.name, user=enforced_db.server.app_role())
    with psycopg.connect(dsn, cursor_factory=psycopg.ClientCursor) as conn:
        assert_rls_effective(conn, ["sale_order", "res_partner"])
        rules = OriginRules(
            frozenset({ORM_FILE, os.path.realpath(bridge_search.__file__)}),
            frozenset({(os.path.realpath(__file__), "execute")}),  # OdooCursor: passes SQL on
        )
        yield BridgedCursor(conn, Bridge(rules))


class OdooCursor:
    """What the addon's search gets: Odoo's cursor (execute, then fetchall)."""

    def __init__(self, bridged: BridgedCursor) -> None:
        self.bridged = bridged
        self.last: psycopg.Cursor[Any] | None = None

    def execute(self, query: str, params: Any = None) -> None:
        self.last = self.bridged.execute(query, params)

    def fetchall(self) -> list[tuple[Any, ...]]:
        assert self.last is not None
        return self.last.fetchall()


def orm_ids(cursor: BridgedCursor, query: str, params: Any) -> list[int]:
    return [row[0] for row in bridge_orm.orm_execute(cursor, query, params).fetchall()]


@pytest.mark.parametrize("login", ["salesman_a", "portal_user", "accountant_b"])
def test_the_routed_search_is_the_orm_statement_answer(
    cursor: BridgedCursor, oracle: dict[str, Any], login: str
) -> None:
    """`id IN (the function's ids)` in the ORM's statement = the ORM's statement with the
    ILIKE, for each user (the function's statement runs with the ORM's superuser mode)."""
    cursor.state.claim(user(oracle, login))
    searcher = NameSearch()
    functions = searcher.functions("db", OdooCursor(cursor))
    assert functions["sale_order"] == ORDERS and functions["res_partner"] == PARTNERS
    routed = 0
    for function in (ORDERS, PARTNERS, functions["crm_lead"], functions["account_move"]):
        terms = " OR ".join(f"{field} ILIKE %s" for field in function.fields)
        for value in ("S00", "a", "mitchell", "@", "zzz-none", "%", "_", "\\"):
            fields = routed_fields(function, function.model, "ilike", value,
                                   function.fields, True, False)  # fmt: skip
            assert fields == function.fields
            domain = searcher.search(OdooCursor(cursor), function.table, fields, value)
            assert cursor.state.transaction.sent is not None and cursor.state.transaction.sent.su
            params = [pattern(value)] * len(function.fields)
            plain = orm_ids(cursor, f"SELECT id FROM {function.table} WHERE {terms} ORDER BY id",
                            params)  # fmt: skip
            if domain is None:  # more than MAX_IDS matches: Odoo's own statement
                assert len(plain) > bridge_search.MAX_IDS
                continue
            [(_, _, ids)] = domain
            via = orm_ids(cursor, f"SELECT id FROM {function.table} WHERE id = ANY(%s) "
                          "ORDER BY id", [ids])  # fmt: skip
            assert via == plain, (login, function.table, value)
            routed += 1
    assert routed >= 20


def test_too_many_matches_fall_back(cursor: BridgedCursor, oracle: dict[str, Any]) -> None:
    cursor.state.claim(user(oracle, "salesman_a"))
    searcher = NameSearch(max_ids=3)
    assert searcher.search(OdooCursor(cursor), "sale_order", ["name"], "S") is None
    found = searcher.search(OdooCursor(cursor), "sale_order", ["name"], "zzz-none")
    assert found == [("id", "in", [])]


def test_raw_sql_calling_the_function_gets_the_user_rows(
    cursor: BridgedCursor, oracle: dict[str, Any]
) -> None:
    """Module code calling the function itself runs as the user: the user's rows only."""
    cursor.state.claim(user(oracle, "salesman_a"))
    got = [row[0] for row in cursor.execute(call_statement("sale_order"), ["%", None, None])]
    assert cursor.state.transaction.sent is not None and not cursor.state.transaction.sent.su
    assert sorted(got) == allowed_ids(oracle, "salesman_a", "sale.order")
