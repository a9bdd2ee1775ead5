"""The name-search translations of Odoo 17.0 and 19.0 that are pure Python (the SQL they
become is checked against each version's ORM by tests/test_differential.py), and the ORM
facts of each version."""

from __future__ import annotations

from typing import Any

import pytest

from pgpolicy.compiler.predicate import VERSION_NAME_SEARCHES, parse_tax_name_17
from pgpolicy.errors import CompileError
from pgpolicy.odoo import orm
from pgpolicy.odoo.domain import Leaf, Node

# What Odoo 17.0's `AccountTax._parse_name_search` (addons/account/models/account_tax.py)
# returns for each input, recorded by running that function.
ODOO17_PARSED_TAX_NAMES = {
    "0EUM": "0%E%U%M",
    "21M": "2%1%M",
    '21" M"': "2%1% M%",
    '21" M"co': "2%1% M%c%o",
    "15%": "1%5",
    "My": "M%y",
    "": "",
    "a b-c": "a%b%c",
    '"x%y"z': "%x_y%z",
}


@pytest.mark.parametrize("name", sorted(ODOO17_PARSED_TAX_NAMES))
def test_tax_names_are_parsed_as_odoo17_parses_them(name: str) -> None:
    assert parse_tax_name_17(name) == ODOO17_PARSED_TAX_NAMES[name]


def default(op: str, value: Any) -> Node:
    """The default search, as a marker leaf."""
    return Leaf("default", op, value)


@pytest.mark.parametrize("version", [17, 19])
@pytest.mark.parametrize("value", ["2", "13", "202", "-15", "ab", "1/2"])
def test_a_rate_value_babel_cannot_parse_is_the_default_search(version: int, value: str) -> None:
    """Fewer than three numbers and no ISO date: `parse_date` fails on every babel version
    and language, and returns the value unchanged."""
    rates = VERSION_NAME_SEARCHES[version]["res.currency.rate"]
    assert rates(default, "ilike", value) == default("ilike", value)


@pytest.mark.parametrize("version", [17, 19])
@pytest.mark.parametrize("value", ["1/2/24", "2024-01-02", "20240102", "3.4.2025"])
def test_a_rate_value_that_may_be_a_date_is_refused(version: int, value: str) -> None:
    rates = VERSION_NAME_SEARCHES[version]["res.currency.rate"]
    with pytest.raises(CompileError, match="localized date parse"):
        rates(default, "ilike", value)


def test_each_version_has_its_own_facts() -> None:
    """The facts differ where the versions do (17.0 stored `code` on account.account where
    18.0 searches `code_store` through an override; 19.0 names stock moves by `reference`),
    and a version without facts has none (never another version's)."""
    assert orm.default_name_fields(18, "stock.move") == ("name",)
    assert orm.default_name_fields(19, "stock.move") == ("reference",)
    assert orm.name_search_fields(17, "res.country", set()) is None  # overridden in 17.0
    assert orm.name_search_fields(18, "res.country", set()) == ("name", "code")
    with pytest.raises(ValueError, match=r"no ORM facts for Odoo 16\.0"):
        orm.default_name_fields(16, "res.partner")
