"""The compiled policies admit exactly what Odoo 17.0's ORM allows, on a real 17.0 database.

Ground truth is `tests/data/odoo17/oracle.json`, recorded by `tests/oracles/record_oracle.py`
on the database of `tests/data/odoo17/odoo17.dump` (see its README). The catalog read from
that database says 17.0 (`ir_module_module`), so the compiler follows 17.0's semantics
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

# One worker restores the 17.0 database (per server), not every worker.
pytestmark = pytest.mark.xdist_group("odoo17")


def test_the_catalog_says_17(enforced17_db: Database) -> None:
    with psycopg.connect(enforced17_db.dsn) as conn:
        catalog = read_catalog(conn)
    assert (catalog.series, catalog.major) == ("17.0", 17)
    assert catalog.odoo_version is not None and catalog.odoo_version.startswith("17.0.")


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_policies_match_the_odoo17_oracle(
    enforced17_db: Database,
    app_role: str,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
    oracle17: dict[str, Any],
    planner: str,
    request: pytest.FixtureRequest,
) -> None:
    """Every user × model × mode, with either implementation of the plan-time functions."""
    use_planner(request, enforced17_db, planner)
    combos, mismatches = compare_with_oracle(
        enforced17_db, app_role, app_dsn, assert_rls_effective, oracle17
    )
    expected = len(oracle17["users"]) * len(oracle17["models"]) * 4
    assert oracle17["stats"]["combos"] == expected and oracle17["stats"]["errors"] == 0
    assert combos == expected
    assert not mismatches, f"{len(mismatches)} of {combos} differ:\n" + "\n".join(mismatches)
