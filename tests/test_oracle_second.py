"""The compiled policies admit exactly what Odoo 18's ORM allows on a second real database.

Ground truth is `tests/data/second/oracle.json`, recorded by `tests/oracles/record_oracle.py
--second` on the database of `tests/data/second/second.dump`, built by
`tests/oracles/build_db.py --second` (see the README there): more modules than the shared
database, a branch company under the second one, users whose requests allow a subset of
their companies, archived records of several models, and custom rules created through the
ORM with every construct Odoo's rule context evaluates. The comparison is `test_oracle`'s;
a rule the compiler refuses must fail closed: its users get no rows where it applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from pgpolicy.compiler.spec import PolicySet
from tests.conftest import (
    Database,
    EnforcedTemplate,
    PgServer,
    create_database,
    drop_database,
    enforced_template_of,
    use_planner,
)
from tests.test_oracle import MODES, acl_allows, compare_with_oracle

# One worker restores the second database (per server), not every worker.
pytestmark = pytest.mark.xdist_group("second")

# Modules the shared database lacks (tests/oracles/build_db.py, SECOND_MODULES).
EXTRA_MODULES = ("mrp", "repair", "maintenance", "event", "fleet", "lunch", "survey")
# The custom rules the compiler refuses, by name (each listed in docs/semantics.md).
REFUSED = {"the request's website [harness]"}
# What the custom rules say, each at least once (the constructs).
CONSTRUCTS = (
    " if user.has_group(",
    "'=?', user.sale_team_id.id",
    "if user.has_group('sales_team.group_sale_salesman_all_leads') else [False]",
    "time.strftime('2096-%m-%d')",
    "time.strftime('2020-%m-%d')",
    "time.strftime('%Y-%m-%d %H:%M:%S')",
    "time.strftime('%Y')",
    "('standard_price', '<', 100)",
    "('product_id.standard_price', '<', 120)",
    "('property_account_position_id.name', 'ilike'",
    "('probability', '>', False)",
    "('tag_ids', 'ilike', 'prod')",
    "('parent_id', '!=', 'Azure Interior')",
    "('organizer_id', 'ilike', 'company')",
    "('partner_id.active', '=', False)",
    "'any', [",
    "'not any', [",
    "'child_of'",
    "'parent_of', company_id",
    ".ids + [False]",
    "and company_id or user.company_id.id",
    "bom_id.product_tmpl_id.categ_id.name",
)


@pytest.fixture(scope="module")
def enforced_second(pg_server: PgServer, second_template: str) -> EnforcedTemplate:
    """The second database enforced once per server (refused rules fail closed)."""
    return enforced_template_of(pg_server, second_template, refusals=True)


@pytest.fixture
def enforced_second_db(
    pg_server: PgServer, enforced_second: EnforcedTemplate
) -> Iterator[Database]:
    db = create_database(pg_server, "enforced_second", template=enforced_second.name)
    yield db
    drop_database(db)


def harness_rules(oracle: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in oracle["rules"] if (r["name"] or "").endswith("[harness]")]


def refused_rule_ids(policy_set: PolicySet) -> set[int]:
    ids = set()
    for error in policy_set.errors:
        assert error.rule is not None and error.rule.source == "ir.rule", str(error)
        assert isinstance(error.rule.id, int)
        ids.add(error.rule.id)
    return ids


def fail_closed(oracle: dict[str, Any], rule_ids: set[int]) -> set[tuple[str, str, str]]:
    """The (user, model, mode) where Odoo applies one of `rule_ids` (the oracle's record of
    the rules involved), where a refused rule denies everything."""
    return {
        (login, model, mode)
        for login, models in oracle["results"].items()
        for model, modes in models.items()
        for mode in MODES
        if rule_ids & set(modes[mode]["rule_ids"])
    }


def test_the_second_database_has_what_it_is_for(
    enforced_second_db: Database, oracle_second: dict[str, Any]
) -> None:
    """More modules than the shared database, a company hierarchy, requests allowing a
    subset of the user's companies, archived rows of several models, the custom rules."""
    with psycopg.connect(enforced_second_db.dsn) as conn:
        installed = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM public.ir_module_module WHERE state = 'installed'"
            )
        }
        branches = conn.execute(
            "SELECT count(*) FROM public.res_company WHERE parent_id IS NOT NULL"
        ).fetchone()
        archived = {
            table: conn.execute(f"SELECT count(*) FROM public.{table} WHERE NOT active").fetchone()
            for table in ("res_partner", "crm_lead", "hr_employee", "product_template",
                          "project_project", "fleet_vehicle", "maintenance_equipment")
        }  # fmt: skip
    assert set(EXTRA_MODULES) <= installed and len(installed) > 118
    assert branches is not None and branches[0] >= 1
    assert all(count is not None and count[0] > 0 for count in archived.values()), archived
    restricted = [
        login
        for login, user in oracle_second["users"].items()
        if set(user["allowed_company_ids"]) < set(user["company_ids"])
    ]
    assert len(restricted) >= 2, restricted
    domains = " ".join(r["domain_force"] or "" for r in harness_rules(oracle_second))
    assert [c for c in CONSTRUCTS if c not in domains] == []
    assert any(not r["active"] for r in harness_rules(oracle_second))


def test_only_the_listed_rules_are_refused(
    enforced_second: EnforcedTemplate, oracle_second: dict[str, Any]
) -> None:
    """The compiler refuses exactly the rules of REFUSED; where they apply, the comparison
    expects no rows, which differs from Odoo's rows in one combination (the figure of
    docs/semantics.md): the denial is observable."""
    by_name = {r["name"]: r["id"] for r in harness_rules(oracle_second)}
    assert refused_rule_ids(enforced_second.policy_set) == {by_name[n] for n in REFUSED}
    denied = fail_closed(oracle_second, {by_name[n] for n in REFUSED})
    assert len(denied) == 4
    users, acls, results = oracle_second["users"], oracle_second["acls"], oracle_second["results"]
    differing = {
        (login, model, mode)
        for login, model, mode in denied
        if acl_allows(acls, set(users[login]["group_ids"]), model, mode)
        and results[login][model][mode]["ids"]
    }
    assert differing == {("ops_user", "fleet.vehicle", "read")}


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_policies_match_the_second_oracle(
    enforced_second_db: Database,
    enforced_second: EnforcedTemplate,
    app_role: str,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
    oracle_second: dict[str, Any],
    planner: str,
    request: pytest.FixtureRequest,
) -> None:
    """Every user × model × mode, with either implementation of the plan-time functions;
    where a refused rule applies, no rows (fail closed)."""
    use_planner(request, enforced_second_db, planner)
    denied = fail_closed(oracle_second, refused_rule_ids(enforced_second.policy_set))
    combos, mismatches = compare_with_oracle(
        enforced_second_db, app_role, app_dsn, assert_rls_effective, oracle_second, denied
    )
    expected = len(oracle_second["users"]) * len(oracle_second["models"]) * len(MODES)
    assert oracle_second["stats"]["combos"] == expected
    assert oracle_second["stats"]["errors"] == 0
    assert combos == expected
    assert not mismatches, f"{len(mismatches)} of {combos} differ:\n" + "\n".join(mismatches)
