"""The compiled policies admit exactly what Odoo 18's ORM allows: 8 users × 124 models × 4 modes.

Ground truth is `shared/odoo18/oracle.json`, produced by a real Odoo server.
Record rules come from the oracle; access rights are applied on top (no ACL
for the mode → no rows). Everything is asked of PostgreSQL itself, through
row-level security, as the app role (see `probe`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import psycopg
import pytest

from tests import probe
from tests.conftest import Database, use_planner

MODES = ("read", "write", "create", "unlink")


def acl_allows(acls: list[dict[str, Any]], groups: set[int], model: str, mode: str) -> bool:
    """Odoo's `ir.model.access.check`: any active row with the perm, for everyone or a group of U."""
    return any(
        a["model"] == model
        and a["active"]
        and a[f"perm_{mode}"]
        and (a["group_id"] is None or a["group_id"] in groups)
        for a in acls
    )


def allowed_ids(oracle: dict[str, Any], login: str, model: str) -> list[int]:
    """What Odoo lets `login` read of `model`: its rules' ids if an access right allows."""
    groups = set(oracle["users"][login]["group_ids"])
    if not acl_allows(oracle["acls"], groups, model, "read"):
        return []
    ids: list[int] = oracle["results"][login][model]["read"]["ids"]
    return ids


def compare_with_oracle(
    db: Database,
    app_role: str,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
    oracle: dict[str, Any],
    denied: Collection[tuple[str, str, str]] = (),
) -> tuple[int, list[str]]:
    """Every (user, model, mode) of `oracle` asked of PostgreSQL as the app role on `db`:
    the number of combinations and those that differ. `denied`: the (user, model, mode)
    where a rule the compiler refuses fails closed, so no rows are expected."""
    acls = oracle["acls"]
    tables = sorted({info["table"] for info in oracle["models"].values()})
    with psycopg.connect(db.dsn, autocommit=True) as superuser:
        probe.install(superuser, tables, app_role)

    mismatches: list[str] = []
    combos = 0
    with psycopg.connect(app_dsn(db)) as app:
        assert_rls_effective(app, tables)
        for login, user in oracle["users"].items():
            groups = set(user["group_ids"])
            for model, info in oracle["models"].items():
                table = info["table"]
                for mode in MODES:
                    allowed = acl_allows(acls, groups, model, mode)
                    admitted = allowed and (login, model, mode) not in denied
                    expected = oracle["results"][login][model][mode]["ids"] if admitted else []
                    app.execute(
                        "SELECT pgpolicy.set_context(%s, %s, false)",
                        [user["id"], user["allowed_company_ids"]],
                    )
                    if mode == "read":
                        got = probe.readable(app, table)
                    elif mode == "write":
                        got = probe.updatable(app, table)
                    elif mode == "unlink":
                        got = probe.deletable(app, table)
                    else:
                        got = probe.insertable(app, table)
                    app.rollback()
                    combos += 1
                    if got != expected:
                        missing = sorted(set(expected) - set(got))[:5]
                        extra = sorted(set(got) - set(expected))[:5]
                        mismatches.append(
                            f"{login} {model} {mode}: missing {missing} extra {extra}"
                        )
    return combos, mismatches


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_policies_match_the_oracle(
    enforced_db: Database,
    app_role: str,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
    oracle: dict[str, Any],
    planner: str,
    request: pytest.FixtureRequest,
) -> None:
    """With either implementation of the plan-time functions (pgpolicy planner on|off)."""
    use_planner(request, enforced_db, planner)
    combos, mismatches = compare_with_oracle(
        enforced_db, app_role, app_dsn, assert_rls_effective, oracle
    )
    assert combos == 3968
    assert not mismatches, f"{len(mismatches)} of {combos} differ:\n" + "\n".join(mismatches)


def test_no_context_sees_nothing(
    enforced_db: Database,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    with psycopg.connect(enforced_db.dsn) as superuser:
        rows = superuser.execute("SELECT count(*) FROM sale_order").fetchone()
        assert rows is not None and rows[0] > 0
    with psycopg.connect(app_dsn(enforced_db)) as app:
        assert_rls_effective(app, ["sale_order", "res_partner"])
        for table in ("sale_order", "res_partner", "account_move", "ir_rule"):
            assert app.execute(f'SELECT count(*) FROM "{table}"').fetchone() == (0,)
