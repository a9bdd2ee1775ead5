"""Access profiles on the real Odoo 18 database, through row-level security as the app role.

What Odoo's ORM allows comes from `shared/odoo18/oracle.json`; what a profile domain
selects is asked of PostgreSQL as superuser with the equivalent WHERE written by hand.
A member must see exactly their intersection; everyone else what the oracle says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgpolicy import runtime
from pgpolicy.apply import apply_policy_set
from pgpolicy.introspect import read_catalog
from pgpolicy.policy import PolicySet, build_policy_set
from pgpolicy.profile_store import read_profiles, save_profiles
from pgpolicy.profiles import parse_profiles
from tests.conftest import check_rls_effective

SALESMGR, STOCK_USER, SALESMAN = 16, 18, 15  # salesmgr_ab, stock_user, salesman_a
BIG_ORDERS = "SELECT id FROM sale_order WHERE amount_total > 1000"
COMPANY_2_ORDERS = "SELECT id FROM sale_order WHERE company_id = 2"


def oracle_ids(shared: Path, login: str, model: str, mode: str = "read") -> set[int]:
    oracle = json.loads((shared / "odoo18" / "oracle.json").read_text())
    return set(oracle["results"][login][model][mode]["ids"])


def superuser_ids(db: Any, query: str) -> set[int]:
    with psycopg.connect(db.dsn) as conn:
        return {row[0] for row in conn.execute(query)}


@pytest.fixture
def deploy(
    odoo_db: Any, app_role: str, grant_app: Callable[[Any], None]
) -> Callable[[str], PolicySet]:
    """`deploy(yaml)`: store the profiles and apply every policy, as `pgpolicy apply` does."""
    runtime.install(odoo_db.dsn, [app_role])
    grant_app(odoo_db)

    def run(text: str) -> PolicySet:
        with psycopg.connect(odoo_db.dsn) as conn:
            save_profiles(conn, parse_profiles(text))
            conn.commit()
            policy_set = build_policy_set(read_catalog(conn), [app_role], read_profiles(conn))
        assert not policy_set.errors, [str(e) for e in policy_set.errors]
        apply_policy_set(odoo_db.dsn, policy_set, [app_role])
        return policy_set

    return run


@pytest.fixture
def app(odoo_db: Any, app_dsn: Callable[[Any], str]) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_dsn(odoo_db)) as conn:
        yield conn


def visible(
    app: psycopg.Connection[Any],
    uid: int,
    companies: list[int],
    table: str = "sale_order",
    su: bool = False,
) -> set[int]:
    """The ids `uid` reads in a fresh transaction, through row-level security."""
    app.rollback()
    check_rls_effective(app, [table])
    app.execute("SELECT pgpolicy.set_context(%s, %s, %s)", [uid, companies, su])
    ids = {row[0] for row in app.execute(f"SELECT id FROM {table}")}
    app.rollback()
    return ids


def superuser(db: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(db.dsn, autocommit=True)


BIG = """
profiles:
  - name: big-orders
    members: {logins: [salesmgr_ab]}
    models:
      sale.order:
        read: "[('amount_total', '>', 1000)]"
"""


def test_a_member_sees_odoo_rules_and_the_profile(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    odoo_db: Any,
    shared_dir: Path,
) -> None:
    deploy(BIG)
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    big = superuser_ids(odoo_db, BIG_ORDERS)
    assert odoo & big and odoo - big  # the profile restricts, and something remains
    assert visible(app, SALESMGR, [1, 2]) == odoo & big
    # a non-member is unaffected, on this model and others
    assert visible(app, STOCK_USER, [1]) == oracle_ids(shared_dir, "stock_user", "sale.order")
    assert visible(app, SALESMGR, [1, 2], "crm_lead") == oracle_ids(
        shared_dir, "salesmgr_ab", "crm.lead"
    )
    # a profile that is not strict is lifted in superuser mode, as Odoo's own rules are
    everything = superuser_ids(odoo_db, "SELECT id FROM sale_order")
    assert visible(app, SALESMGR, [1, 2], su=True) == everything


def test_membership_by_group_and_two_profiles_or(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    odoo_db: Any,
    shared_dir: Path,
) -> None:
    deploy(
        BIG
        + """
  - name: chicago
    members: {groups: [sales_team.group_sale_manager]}
    models:
      sale.order:
        read: "[('company_id', '=', 2)]"
"""
    )
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    big = superuser_ids(odoo_db, BIG_ORDERS)
    chicago = superuser_ids(odoo_db, COMPANY_2_ORDERS)
    assert big - chicago and chicago - big
    assert visible(app, SALESMGR, [1, 2]) == odoo & (big | chicago)


def test_membership_is_data_no_ddl(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    odoo_db: Any,
    shared_dir: Path,
) -> None:
    deploy(BIG.replace("salesmgr_ab", "nobody_yet"))
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    assert visible(app, SALESMGR, [1, 2]) == odoo
    with superuser(odoo_db) as conn:
        policies_before = conn.execute("SELECT oid, xmin::text FROM pg_policy ORDER BY 1").fetchall()
        conn.execute(
            "INSERT INTO pgpolicy.profile_member VALUES ('big-orders', 'login', 'salesmgr_ab')"
        )
    assert visible(app, SALESMGR, [1, 2]) == odoo & superuser_ids(odoo_db, BIG_ORDERS)
    with superuser(odoo_db) as conn:
        conn.execute("DELETE FROM pgpolicy.profile_member WHERE ref = 'salesmgr_ab'")
        assert conn.execute("SELECT oid, xmin::text FROM pg_policy ORDER BY 1").fetchall() == (
            policies_before
        )
        audit = conn.execute(
            "SELECT action, object, profile, new->>'ref', old->>'ref', by_role::text"
            " FROM pgpolicy.profile_audit WHERE object = 'member' ORDER BY id"
        ).fetchall()
    assert visible(app, SALESMGR, [1, 2]) == odoo
    assert audit[-2:] == [
        ("INSERT", "member", "big-orders", "salesmgr_ab", None, "postgres"),
        ("DELETE", "member", "big-orders", None, "salesmgr_ab", "postgres"),
    ]


def test_strict_profile_holds_under_su(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    odoo_db: Any,
    shared_dir: Path,
) -> None:
    deploy(BIG.replace("    models:", "    strict: true\n    models:"))
    big = superuser_ids(odoo_db, BIG_ORDERS)
    everything = superuser_ids(odoo_db, "SELECT id FROM sale_order")
    assert visible(app, SALESMGR, [1, 2], su=True) == big  # Odoo's rules lifted, the gate holds
    assert visible(app, SALESMGR, [1, 2]) == oracle_ids(shared_dir, "salesmgr_ab", "sale.order") & big
    assert visible(app, 1, [1], su=True) == everything  # the system principal


def test_validity_window_switches_at_the_boundary(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    odoo_db: Any,
    shared_dir: Path,
) -> None:
    """The window is data: set it a moment ahead, then let real time cross both ends."""
    deploy(BIG)
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    big = superuser_ids(odoo_db, BIG_ORDERS)
    with superuser(odoo_db) as conn:
        policies = conn.execute("SELECT oid, xmin::text FROM pg_policy ORDER BY 1").fetchall()
        row = conn.execute(
            "UPDATE pgpolicy.profile SET active_from = now() + interval '2 seconds',"
            " active_until = now() + interval '4 seconds' WHERE name = 'big-orders'"
            " RETURNING active_from, active_until"
        ).fetchone()
    assert row is not None
    start, end = row

    def wait_until(moment: datetime) -> None:
        time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.05)

    assert datetime.now(UTC) < start
    # before the window: the profile applies but grants nothing yet (fail closed)
    assert visible(app, SALESMGR, [1, 2]) == set()
    wait_until(start)
    assert visible(app, SALESMGR, [1, 2]) == odoo & big
    wait_until(end)
    assert visible(app, SALESMGR, [1, 2]) == set()
    assert visible(app, STOCK_USER, [1]) == oracle_ids(shared_dir, "stock_user", "sale.order")
    with superuser(odoo_db) as conn:
        assert conn.execute("SELECT oid, xmin::text FROM pg_policy ORDER BY 1").fetchall() == (
            policies
        )


def test_deny_by_default_hides_unlisted_models(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    shared_dir: Path,
) -> None:
    deploy(
        """
profiles:
  - name: orders-only
    members: {logins: [salesmgr_ab]}
    deny_by_default: true
    models:
      sale.order: {}
"""
    )
    assert visible(app, SALESMGR, [1, 2]) == oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    assert visible(app, SALESMGR, [1, 2], "crm_lead") == set()
    assert visible(app, SALESMGR, [1, 2], "res_partner") == set()
    assert visible(app, STOCK_USER, [1], "res_partner") == oracle_ids(
        shared_dir, "stock_user", "res.partner"
    )
