"""Which profile domains `pgpolicy check` proves empty: hand-reasoned pairs, each
satisfiable one a near miss of an unsatisfiable one."""

from __future__ import annotations

import pytest

from pgpolicy.odoo.domain import parse_rule_domain
from pgpolicy.odoo.metadata import Catalog, Field, Model
from pgpolicy.profiles.satisfiable import clash


def _field(name: str, ftype: str, **extra: object) -> Field:
    return Field(**{"name": name, "type": ftype, "store": True, **extra})  # type: ignore[arg-type]


ITEM = Model(
    "x.item",
    "x_item",
    {
        f.name: f
        for f in (
            _field("qty", "integer"),
            _field("price", "float"),
            _field("amount", "monetary"),
            _field("day", "date"),
            _field("at", "datetime"),
            _field("state", "selection"),
            _field("ref", "char"),
            _field("done", "boolean"),
            _field("name", "char", translate=True),
            _field("line_ids", "one2many", relation="x.line", relation_field="item_id"),
            _field("line_state", "selection", related="line_ids.state", store=False),
            _field("partner_id", "many2one", relation="x.partner"),
            _field("tag_ids", "many2many", relation="x.tag"),
        )
    },
)
PARTNER = Model("x.partner", "x_partner", {"kind": _field("kind", "selection")})
CATALOG = Catalog({"x.item": ITEM, "x.partner": PARTNER}, (), (), {})

# (domain, empty): every empty domain is one no row of x.item can match
CASES = [
    # equality on one field
    ("[('state', '=', 'draft'), ('state', '=', 'sale')]", True),
    ("[('state', '=', 'draft'), ('state', '=', 'draft')]", False),
    ("[('state', '=', 'draft'), ('state', '!=', 'draft')]", True),
    ("[('state', '=', 'draft'), ('state', '!=', 'sale')]", False),
    ("[('qty', '=', 1), ('qty', '=', 1.0)]", False),  # a float on an integer: not reasoned
    ("[('price', '=', 1), ('price', '=', 1.0)]", False),
    ("[('price', '=', 1), ('price', '=', 2.5)]", True),
    # in / not in
    ("[('state', 'in', [])]", True),
    ("[('state', 'in', ['a', 'b']), ('state', 'in', ['c'])]", True),
    ("[('state', 'in', ['a', 'b']), ('state', 'in', ['b', 'c'])]", False),
    ("[('state', 'in', ['a', 'b']), ('state', 'not in', ['a', 'b', 'c'])]", True),
    ("[('state', 'in', ['a', 'b']), ('state', 'not in', ['a'])]", False),
    ("[('state', 'in', ['a', 'b']), ('state', '!=', 'a'), ('state', '!=', 'b')]", True),
    ("[('state', 'in', ['a', False]), ('state', 'in', ['b', False])]", False),  # both NULL
    ("[('state', 'in', ['a', False]), ('state', '!=', False), ('state', '!=', 'a')]", True),
    # False is NULL
    ("[('state', '=', False), ('state', '=', 'draft')]", True),
    ("[('state', '=', False), ('state', '!=', 'draft')]", False),
    ("[('partner_id', '=', False), ('partner_id', '!=', False)]", True),
    ("[('partner_id', '=', False), ('partner_id', 'in', [1, 2])]", True),
    ("[('partner_id', '=', False), ('partner_id', 'not in', [1, 2])]", False),
    ("[('qty', '=', False), ('qty', '>', 3)]", True),
    # ... except on numbers and strings, where NULL counts as 0 and '' (as in Odoo)
    ("[('qty', '=', False), ('qty', '<', 3)]", False),
    ("[('qty', '=', False), ('qty', '<', 0)]", True),
    ("[('qty', '=', False), ('qty', '=', 0)]", False),
    ("[('qty', '!=', False), ('qty', '=', 0)]", True),
    ("[('qty', 'not in', [0]), ('qty', '=', False)]", True),
    ("[('qty', 'in', [1, 2]), ('qty', '=', False)]", True),
    ("[('price', '=', False), ('price', '>=', 0)]", False),
    ("[('ref', '=', False), ('ref', '=', '')]", False),
    ("[('ref', '!=', False), ('ref', 'in', ['', 'a']), ('ref', '!=', 'a')]", True),
    ("[('state', '=', ''), ('state', '=', False)]", False),  # both admit NULL
    ("[('state', '=', ''), ('state', 'not in', [''])]", False),  # NULL again
    ("[('state', '=', ''), ('state', '!=', '')]", True),
    ("[('state', '=', False), ('state', 'in', ['a', False])]", False),
    ("[('state', 'not in', ['a', False]), ('state', '=', False)]", True),
    # ranges on numbers: integers are discrete, floats are not
    ("[('qty', '>', 10), ('qty', '<', 5)]", True),
    ("[('qty', '>', 5), ('qty', '<', 6)]", True),
    ("[('qty', '>', 5), ('qty', '<', 7)]", False),
    ("[('qty', '>=', 5), ('qty', '<=', 5)]", False),
    ("[('qty', '>=', 5), ('qty', '<=', 5), ('qty', '!=', 5)]", True),
    ("[('qty', '>', 5), ('qty', '<=', 5)]", True),
    ("[('qty', '>=', 5), ('qty', '<', 7), ('qty', 'not in', [5, 6])]", True),
    ("[('qty', '>=', 5), ('qty', '<', 8), ('qty', 'not in', [5, 6])]", False),
    ("[('price', '>', 5), ('price', '<', 6)]", False),
    ("[('amount', '>', 5), ('amount', '<', 6)]", False),
    ("[('price', '>', 10), ('price', '<', 5)]", True),
    ("[('price', '>=', 5.5), ('price', '<=', 5.5)]", False),
    ("[('price', '>', 5.5), ('price', '<=', 5.5)]", True),
    ("[('qty', 'in', [1, 2]), ('qty', '>', 2)]", True),
    ("[('qty', 'in', [1, 3]), ('qty', '>', 2)]", False),
    # dates are discrete, datetimes are not
    ("[('day', '>', '2026-01-01'), ('day', '<', '2026-01-02')]", True),
    ("[('day', '>', '2026-01-01'), ('day', '<', '2026-01-03')]", False),
    ("[('day', '>=', '2026-02-01'), ('day', '<=', '2026-01-31')]", True),
    ("[('at', '>', '2026-01-01 00:00:00'), ('at', '<', '2026-01-01 00:00:01')]", False),
    ("[('at', '>', '2026-01-02 00:00:00'), ('at', '<', '2026-01-01 00:00:00')]", True),
    ("[('at', '>', '2026-01-02'), ('at', '<', '2026-01-01')]", False),  # padded: not reasoned
    # strings: equality only, never their order (the database's collation)
    ("[('ref', '>', 'b'), ('ref', '<', 'a')]", False),
    ("[('ref', '=', 'a'), ('ref', '=', 'A')]", True),
    ("[('ref', '=ilike', 'a'), ('ref', '=', 'b')]", False),
    ("[('name', '=', 'a'), ('name', '=', 'b')]", False),  # translated: not reasoned
    # booleans: = False also matches NULL
    ("[('done', '=', True), ('done', '=', False)]", True),
    ("[('done', '=', True), ('done', '!=', True)]", True),
    ("[('done', '!=', True), ('done', '=', False)]", False),
    ("[('done', '!=', False), ('done', '=', True)]", False),
    # x2many: `=` means some related record, so two values are satisfiable
    ("[('tag_ids', '=', 1), ('tag_ids', '=', 2)]", False),
    ("[('tag_ids', 'in', [1, 2]), ('tag_ids', 'not in', [1, 2, 3])]", True),
    ("[('tag_ids', '=', 1), ('tag_ids', '!=', 1)]", True),
    # placeholders are unknown values, except against their own negation
    ("[('partner_id', '=', __uid__), ('partner_id', '!=', __uid__)]", True),
    ("[('partner_id', '=', __uid__), ('partner_id', '=', 3)]", False),
    ("[('partner_id', '=', __uid__), ('partner_id', '=', user.partner_id.id)]", False),
    ("[('partner_id', '=', __uid__), ('partner_id', '!=', user.partner_id.id)]", False),
    ("[('day', '>', __today__), ('day', '<', __today__)]", False),
    ("[('day', '>=', __today__), ('day', '<', __today__)]", True),
    ("[('partner_id', 'in', company_ids), ('partner_id', 'not in', company_ids)]", True),
    # OR: empty when every branch is; AND over OR: when every branch clashes with the rest
    ("['|', ('qty', '>', 10), ('qty', '<', 5)]", False),
    ("['|', '&', ('qty', '>', 10), ('qty', '<', 5), ('state', 'in', [])]", True),
    ("[('state', '=', 'a'), '|', ('state', '=', 'b'), ('state', '=', 'c')]", True),
    ("[('state', '=', 'a'), '|', ('state', '=', 'b'), ('state', '=', 'a')]", False),
    ("[('state', '=', 'a'), '|', ('state', '=', 'b'), ('ref', '=', 'x')]", False),
    # NOT is pushed down first
    ("[('state', '=', 'a'), '!', ('state', '=', 'a')]", True),
    ("['!', '|', ('qty', '<=', 10), ('qty', '>=', 5)]", True),
    ("['!', '|', ('qty', '<=', 5), ('qty', '>=', 7)]", False),
    ("[('state', '=', 'a'), '!', ('state', 'in', ['a', 'b'])]", True),
    # through a relation
    ("[('partner_id.kind', '=', 'a'), ('partner_id.kind', '=', 'b')]", False),  # two records
    ("[('partner_id', 'any', [('kind', '=', 'a'), ('kind', '=', 'b')])]", True),
    # fields the catalog does not know, or not stored: nothing but `in []`
    ("[('nope', '=', 1), ('nope', '=', 2)]", False),
    ("[('nope', '=', 1), ('nope', '!=', 1)]", False),
    ("[('nope', 'in', [])]", True),
    ("[('line_state', '=', 'a'), ('line_state', '!=', 'a')]", False),  # two lines may differ
    ("[('line_state', '=', 'a'), ('line_state', '=', 'b')]", False),
]


@pytest.mark.parametrize(("domain", "empty"), CASES)
def test_what_is_provably_empty(domain: str, empty: bool) -> None:
    found = clash(parse_rule_domain(domain, placeholders=True), CATALOG, ITEM)
    assert (found is not None) == empty, found


def test_a_clash_names_the_leaves() -> None:
    tree = parse_rule_domain("[('ref', '=', 'x'), ('qty', '>', 5), ('qty', '<', 6)]")
    assert str(clash(tree, CATALOG, ITEM)) == (
        "('qty', '>', 5) and ('qty', '<', 6) contradict each other"
    )
    tree = parse_rule_domain("[('state', 'in', [])]")
    assert str(clash(tree, CATALOG, ITEM)) == "('state', 'in', []) matches nothing"
    tree = parse_rule_domain("[('partner_id.kind', 'in', [])]")
    assert str(clash(tree, CATALOG, ITEM)) == "('partner_id.kind', 'in', []) matches nothing"
    tree = parse_rule_domain("[('partner_id', '=', __uid__), ('partner_id', '!=', __uid__)]", True)
    assert str(clash(tree, CATALOG, ITEM)) == (
        "('partner_id', '=', user.id) and ('partner_id', '!=', user.id) contradict each other"
    )


def test_a_model_the_catalog_lacks_only_has_in_empty() -> None:
    for domain, empty in [
        ("[('state', '=', 'a'), ('state', '=', 'b')]", False),
        ("[('state', '=', 'a'), ('state', '!=', 'a')]", False),
        ("[('state', 'in', [])]", True),
    ]:
        assert (clash(parse_rule_domain(domain), CATALOG, None) is not None) == empty


def _check(text: str) -> list[str]:
    from datetime import UTC, datetime

    from pgpolicy.profiles.check import Directory, check_profiles
    from pgpolicy.profiles.model import parse_profiles

    directory = Directory({"ann": 7, "bob": 8}, {"x.team": frozenset({7})})
    now = datetime(2026, 6, 1, tzinfo=UTC)
    return [str(f) for f in check_profiles(CATALOG, parse_profiles(text), now, directory)]


def _two(first: str, second: str, ann: str = "logins: [ann]", other: str = "logins: [ann]") -> str:
    return (
        "profiles:\n"
        f'  - name: one\n    members: {{{ann}}}\n    models: {{x.item: {{read: "{first}"}}}}\n'
        f'  - name: two\n    members: {{{other}}}\n    models: {{x.item: {{read: "{second}"}}}}\n'
    )


# (first profile's read, second's, members of the second, a conflict is reported)
CONFLICTS = [
    ("[('state', '=', 'a')]", "[('state', '=', 'b')]", "logins: [ann]", True),
    ("[('state', '=', 'a')]", "[('state', '=', 'b')]", "logins: [bob]", False),  # no one in both
    ("[('state', '=', 'a')]", "[('state', '=', 'b')]", "groups: [x.team]", True),  # ann, by group
    ("[('state', '=', 'a')]", "[('state', 'in', ['a', 'b'])]", "logins: [ann]", False),
    ("[('qty', '>', 5)]", "[('qty', '<', 6)]", "logins: [ann]", True),
    ("[('price', '>', 5)]", "[('price', '<', 6)]", "logins: [ann]", False),
    ("[('partner_id', '=', __uid__)]", "[('partner_id', '!=', __uid__)]", "logins: [ann]", True),
    ("[('partner_id', '=', __uid__)]", "[('partner_id', '=', 3)]", "logins: [ann]", False),
]


@pytest.mark.parametrize(("first", "second", "members", "conflict"), CONFLICTS)
def test_conflicting_domains_of_the_same_users(
    first: str, second: str, members: str, conflict: bool
) -> None:
    findings = _check(_two(first, second, other=members))
    conflicts = [f for f in findings if ": conflict: " in f]
    assert len(conflicts) == int(conflict), findings
    assert [f for f in findings if f not in conflicts] == []
    if conflict:
        assert conflicts[0].startswith(f"warning: conflict: one / x.item: read {first} and the ")
        assert "of two match no common row" in conflicts[0]
        assert "for the same users (ann)" in conflicts[0]


def test_an_unsatisfiable_domain_is_reported_alone_not_as_a_conflict() -> None:
    findings = _check(_two("[('qty', '>', 5), ('qty', '<', 6)]", "[('state', '=', 'a')]"))
    assert findings == [
        "warning: unsatisfiable: one / x.item: read [('qty', '>', 5), ('qty', '<', 6)]: never "
        "true: ('qty', '>', 5) and ('qty', '<', 6) contradict each other"
    ]
