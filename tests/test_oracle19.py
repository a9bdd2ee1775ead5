"""The compiled policies admit exactly what Odoo 19.0's ORM allows, on a real 19.0 database.

Ground truth is `tests/data/odoo19/oracle.json`, recorded by `tests/oracles/record_oracle.py`
on the database of `tests/data/odoo19/odoo19.dump` (see its README). The catalog read from
that database says 19.0 (`ir_module_module`), so the compiler follows 19.0's semantics
(docs/semantics.md, "Odoo versions"); the comparison is the one of `test_oracle`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from pgpolicy.odoo.metadata import read_catalog
from tests.conftest import Database, use_planner
from tests.test_oracle import compare_with_oracle

# One worker restores the 19.0 database (per server), not every worker.
pytestmark = pytest.mark.xdist_group("odoo19")


def test_the_catalog_says_19(enforced19_db: Database) -> None:
    with psycopg.connect(enforced19_db.dsn) as conn:
        catalog = read_catalog(conn)
    assert (catalog.series, catalog.major) == ("19.0", 19)
    assert catalog.odoo_version is not None and catalog.odoo_version.startswith("19.0.")


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_policies_match_the_odoo19_oracle(
    enforced19_db: Database,
    app_role: str,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
    oracle19: dict[str, Any],
    planner: str,
    request: pytest.FixtureRequest,
) -> None:
    """Every user × model × mode, with either implementation of the plan-time functions."""
    use_planner(request, enforced19_db, planner)
    combos, mismatches = compare_with_oracle(
        enforced19_db, app_role, app_dsn, assert_rls_effective, oracle19
    )
    expected = len(oracle19["users"]) * len(oracle19["models"]) * 4
    assert oracle19["stats"]["combos"] == expected and oracle19["stats"]["errors"] == 0
    assert combos == expected
    assert not mismatches, f"{len(mismatches)} of {combos} differ:\n" + "\n".join(mismatches)
