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

from pgpolicy.compiler.spec import PolicySet
from tests.conftest import check_rls_effective, deploy_profiles

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
def deploy(enforced_db: Any, app_role: str) -> Callable[[str], PolicySet]:
    """`deploy(yaml)`: store the profiles and apply every policy, as `pgpolicy apply` does
    (on a database whose Odoo rules are applied already: only the profiles' policies change)."""
    return lambda text: deploy_profiles(enforced_db.dsn, app_role, text)


@pytest.fixture
def app(enforced_db: Any, app_dsn: Callable[[Any], str]) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_dsn(enforced_db)) as conn:
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
    enforced_db: Any,
    shared_dir: Path,
) -> None:
    deploy(BIG)
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    big = superuser_ids(enforced_db, BIG_ORDERS)
    assert odoo & big and odoo - big  # the profile restricts, and something remains
    assert visible(app, SALESMGR, [1, 2]) == odoo & big
    # decided when the statement is planned: the member's plan holds their profile domain,
    # a non-member's does not, and neither calls a planned_ function at run time
    app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")
    member_plan = "\n".join(r[0] for r in app.execute("EXPLAIN SELECT id FROM sale_order"))
    app.rollback()
    app.execute("SELECT pgpolicy.set_context(18, '{1}', false)")
    other_plan = "\n".join(r[0] for r in app.execute("EXPLAIN SELECT id FROM sale_order"))
    app.rollback()
    assert "amount_total > " in member_plan and "amount_total" not in other_plan
    assert "planned_" not in member_plan + other_plan
    # a non-member is unaffected, on this model and others
    assert visible(app, STOCK_USER, [1]) == oracle_ids(shared_dir, "stock_user", "sale.order")
    assert visible(app, SALESMGR, [1, 2], "crm_lead") == oracle_ids(
        shared_dir, "salesmgr_ab", "crm.lead"
    )
    # a profile that is not strict is lifted in superuser mode, as Odoo's own rules are
    everything = superuser_ids(enforced_db, "SELECT id FROM sale_order")
    assert visible(app, SALESMGR, [1, 2], su=True) == everything


def test_membership_by_group_and_two_profiles_or(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    enforced_db: Any,
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
    big = superuser_ids(enforced_db, BIG_ORDERS)
    chicago = superuser_ids(enforced_db, COMPANY_2_ORDERS)
    assert big - chicago and chicago - big
    assert visible(app, SALESMGR, [1, 2]) == odoo & (big | chicago)


def test_membership_is_data_no_ddl(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    enforced_db: Any,
    shared_dir: Path,
) -> None:
    deploy(BIG.replace("salesmgr_ab", "nobody_yet"))
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    assert visible(app, SALESMGR, [1, 2]) == odoo
    with superuser(enforced_db) as conn:
        policies_before = conn.execute(
            "SELECT oid, xmin::text FROM pg_policy ORDER BY 1"
        ).fetchall()
        conn.execute(
            "INSERT INTO pgpolicy.profile_member VALUES ('big-orders', 'login', 'salesmgr_ab')"
        )
    assert visible(app, SALESMGR, [1, 2]) == odoo & superuser_ids(enforced_db, BIG_ORDERS)
    with superuser(enforced_db) as conn:
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
    enforced_db: Any,
    shared_dir: Path,
) -> None:
    deploy(BIG.replace("    models:", "    strict: true\n    models:"))
    big = superuser_ids(enforced_db, BIG_ORDERS)
    everything = superuser_ids(enforced_db, "SELECT id FROM sale_order")
    assert visible(app, SALESMGR, [1, 2], su=True) == big  # Odoo's rules lifted, the gate holds
    assert (
        visible(app, SALESMGR, [1, 2]) == oracle_ids(shared_dir, "salesmgr_ab", "sale.order") & big
    )
    assert visible(app, 1, [1], su=True) == everything  # the system principal


def test_validity_window_switches_at_the_boundary(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    enforced_db: Any,
    shared_dir: Path,
) -> None:
    """The window is data: set it a moment ahead, then let real time cross both ends."""
    deploy(BIG)
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    big = superuser_ids(enforced_db, BIG_ORDERS)
    with superuser(enforced_db) as conn:
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
    with superuser(enforced_db) as conn:
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


# --- placeholders: resolved when the query runs -----------------------------------------------


def one_domain(domain: str, groups: str = "sales_team.group_sale_salesman") -> str:
    return f"""
profiles:
  - name: placeholders
    members: {{groups: [{groups}]}}
    models:
      sale.order:
        read: "{domain}"
"""


def test_context_placeholders(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    enforced_db: Any,
    shared_dir: Path,
) -> None:
    deploy(one_domain("[('user_id', '=', __uid__)]"))
    for login, uid, companies in (("salesmgr_ab", SALESMGR, [1, 2]), ("salesman_a", SALESMAN, [1])):
        own = superuser_ids(enforced_db, f"SELECT id FROM sale_order WHERE user_id = {uid}")
        assert visible(app, uid, companies) == oracle_ids(shared_dir, login, "sale.order") & own
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    deploy(one_domain("[('company_id', '=', __cid__)]"))
    for current in (1, 2):
        expected = odoo & superuser_ids(
            enforced_db, f"SELECT id FROM sale_order WHERE company_id = {current}"
        )
        assert expected
        assert visible(app, SALESMGR, [current, 3 - current]) == expected
    deploy(one_domain("[('company_id', 'in', __company_ids__)]"))
    assert visible(app, SALESMGR, [2]) == odoo & superuser_ids(enforced_db, COMPANY_2_ORDERS)
    assert visible(app, SALESMGR, [1, 2]) == odoo


def local_dates(today: Any) -> dict[str, Any]:
    """Each date placeholder for a local `today`, by the calendar (Python's, not the code's)."""

    def month_start(day: Any) -> Any:
        return day.replace(day=1)

    def next_month(day: Any) -> Any:
        return (month_start(day) + timedelta(days=32)).replace(day=1)

    quarter = month_start(today).replace(month=(today.month - 1) // 3 * 3 + 1)
    next_quarter = next_month(next_month(next_month(quarter)))
    return {
        "__today__": today,
        "__yesterday__": today - timedelta(days=1),
        "__tomorrow__": today + timedelta(days=1),
        "__week_start__": today - timedelta(days=today.weekday()),
        "__week_end__": today + timedelta(days=6 - today.weekday()),
        "__month_start__": month_start(today),
        "__month_end__": next_month(today) - timedelta(days=1),
        "__quarter_start__": quarter,
        "__quarter_end__": next_quarter - timedelta(days=1),
        "__year_start__": today.replace(month=1, day=1),
        "__year_end__": today.replace(month=12, day=31),
        "__last_7_days__": today - timedelta(days=7),
        "__last_30_days__": today - timedelta(days=30),
        "__last_90_days__": today - timedelta(days=90),
        "__last_365_days__": today - timedelta(days=365),
    }


ZONES = ("Pacific/Kiritimati", "Etc/GMT+12")  # UTC+14 and UTC-12: never the same date


def test_date_placeholders_follow_the_clock_and_the_users_zone(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    enforced_db: Any,
    shared_dir: Path,
) -> None:
    """Each placeholder against orders dated one second either side of its boundary, for a
    user in two time zones a day apart (their clock moves; the policy stays)."""
    from zoneinfo import ZoneInfo

    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    with superuser(enforced_db) as conn:
        now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        # Two orders per placeholder and zone, either side of its boundary (UTC, naive).
        order_ids = sorted(odoo)
        names = list(local_dates(now.date()))
        slots: dict[tuple[str, str], tuple[int, int]] = {}
        for i, (zone, name) in enumerate((z, n) for z in ZONES for n in names):
            slots[zone, name] = (
                order_ids[(2 * i) % len(order_ids)],
                order_ids[(2 * i + 1) % len(order_ids)],
            )
    assert len(order_ids) >= 30
    for name in names:
        deploy(one_domain(f"[('date_order', '>=', {name})]"))
        for zone in ZONES:
            with superuser(enforced_db) as conn:
                conn.execute(
                    "UPDATE res_partner SET tz = %s WHERE id = (SELECT partner_id FROM res_users WHERE id = %s)",
                    [zone, SALESMGR],
                )
                local_today = now.astimezone(ZoneInfo(zone)).date()
                boundary = datetime.combine(
                    local_dates(local_today)[name], datetime.min.time(), ZoneInfo(zone)
                )
                boundary_utc = boundary.astimezone(UTC).replace(tzinfo=None)
                before, at = slots[zone, name]
                conn.execute(
                    "UPDATE sale_order SET date_order = %s WHERE id = %s",
                    [boundary_utc - timedelta(seconds=1), before],
                )
                conn.execute(
                    "UPDATE sale_order SET date_order = %s WHERE id = %s", [boundary_utc, at]
                )
                expected = odoo & {
                    row[0]
                    for row in conn.execute(
                        "SELECT id FROM sale_order WHERE date_order >= %s", [boundary_utc]
                    )
                }
            got = visible(app, SALESMGR, [1, 2])
            assert at in got and before not in got, (name, zone)
            assert got == expected, (name, zone)


def test_a_date_compared_with_a_datetime_covers_the_whole_local_day(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    enforced_db: Any,
    shared_dir: Path,
) -> None:
    """`<= __today__` on a datetime includes today's last second, as Odoo pads date strings."""
    from zoneinfo import ZoneInfo

    deploy(one_domain("[('date_order', '<=', __today__)]"))
    zone = ZONES[0]
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    first, second = sorted(odoo)[:2]
    with superuser(enforced_db) as conn:
        conn.execute(
            "UPDATE res_partner SET tz = %s WHERE id = (SELECT partner_id FROM res_users WHERE id = %s)",
            [zone, SALESMGR],
        )
        now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
        today = now.astimezone(ZoneInfo(zone)).date()
        tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), ZoneInfo(zone))
        midnight = tomorrow.astimezone(UTC).replace(tzinfo=None)
        conn.execute(
            "UPDATE sale_order SET date_order = %s WHERE id = %s",
            [midnight - timedelta(seconds=1), first],
        )
        conn.execute("UPDATE sale_order SET date_order = %s WHERE id = %s", [midnight, second])
    got = visible(app, SALESMGR, [1, 2])
    assert first in got and second not in got


# --- field write locks ------------------------------------------------------------------------

LOCKS = """
profiles:
  - name: frozen-refs
    members: {logins: [salesmgr_ab]}
    models:
      sale.order:
        locked_fields: [client_order_ref, partner_id]
"""


def test_locked_fields_refuse_changes_by_members_only(
    deploy: Callable[[str], PolicySet], app: psycopg.Connection[Any], enforced_db: Any
) -> None:
    deploy(LOCKS)
    with superuser(enforced_db) as conn:
        row = conn.execute(
            "SELECT client_order_ref, partner_id FROM sale_order WHERE id = 33"
        ).fetchone()
    assert row is not None
    ref, partner = row

    def update(uid: int, companies: list[int], assignment: str, su: bool = False) -> int:
        app.rollback()
        check_rls_effective(app, ["sale_order"])
        app.execute("SELECT pgpolicy.set_context(%s, %s, %s)", [uid, companies, su])
        count = app.execute(f"UPDATE sale_order SET {assignment} WHERE id = 33").rowcount
        app.rollback()
        return count

    with pytest.raises(
        psycopg.errors.InsufficientPrivilege,
        match=r"profile frozen-refs locks field client_order_ref of sale\.order",
    ):
        update(SALESMGR, [1, 2], "client_order_ref = 'changed'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="locks field partner_id"):
        update(SALESMGR, [1, 2], "partner_id = partner_id + 1")
    # unchanged values, other fields, non-members and superuser mode pass
    assert (
        update(
            SALESMGR, [1, 2], f"client_order_ref = client_order_ref, partner_id = {int(partner)}"
        )
        == 1
    )
    assert update(SALESMGR, [1, 2], "note = 'free to change'") == 1
    assert update(SALESMAN, [1], "client_order_ref = 'changed'") == 1
    assert update(SALESMGR, [1, 2], "client_order_ref = 'changed'", su=True) == 1
    # the ORM's own statement shape is refused too
    app.rollback()
    app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="locks field client_order_ref"):
        app.execute(
            'UPDATE "sale_order" SET "client_order_ref" = "__tmp"."v", "write_uid" = 16, '
            "\"write_date\" = (now() AT TIME ZONE 'UTC') "
            'FROM (VALUES (33, \'new\')) AS "__tmp"("id", "v") WHERE "sale_order"."id" = "__tmp"."id"'
        )
    app.rollback()
    assert ref != "changed"


EXPLAINED = """
profiles:
  - name: big-orders
    members: {logins: [salesmgr_ab]}
    models:
      sale.order:
        read: "[('amount_total', '>', 1000)]"
        delete: false
"""


def test_explain_and_who_can_count_what_the_profile_policies_enforce(
    deploy: Callable[[str], PolicySet],
    app: psycopg.Connection[Any],
    enforced_db: Any,
    shared_dir: Path,
) -> None:
    from click.testing import CliRunner

    from pgpolicy.audit.explain import user_by_id
    from pgpolicy.cli import cli

    deploy(EXPLAINED)
    with psycopg.connect(enforced_db.dsn) as conn:
        companies = list(user_by_id(conn, SALESMGR, "salesmgr_ab").company_ids)

    def explained(mode: str) -> dict[str, Any]:
        result = CliRunner().invoke(
            cli,
            ["--dsn", enforced_db.dsn, "--format", "json", "explain",
             "--user", "salesmgr_ab", "--model", "sale.order", "--mode", mode],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.output)
        return data

    read = explained("read")
    seen = visible(app, SALESMGR, companies)  # what the app role reads through RLS
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    assert seen == odoo & superuser_ids(enforced_db, BIG_ORDERS) and seen != odoo
    assert read["rows"] == len(seen)  # Odoo's rules AND the profile, as enforced
    [profile] = read["profiles"]
    assert profile == {
        "name": "big-orders", "member_by": ["login salesmgr_ab"], "in_window": True,
        "active_from": None, "active_until": None, "companies": None, "in_company": True,
        "strict": False, "deny_by_default": False,
        "access": "[('amount_total', '>', 1000)]",
        "toggles": {"write": True, "create": True, "delete": False},
        "restricts": True, "grants": True,
    }  # fmt: skip
    assert "planned_profile_in_force('big-orders'" in read["profile_policy"]
    # delete: false — explain counts nothing, and the app role deletes nothing
    assert explained("unlink")["rows"] == 0
    app.execute("SELECT pgpolicy.set_context(%s, %s, false)", [SALESMGR, companies])
    assert app.execute("DELETE FROM sale_order").rowcount == 0
    app.rollback()

    def readers(record: int) -> set[str]:
        result = CliRunner().invoke(
            cli,
            ["--dsn", enforced_db.dsn, "--format", "json", "who-can",
             "--model", "sale.order", "--id", str(record)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return {row["login"] for row in json.loads(result.output) if "read" in row["modes"]}

    inside, outside = min(seen), min(odoo - seen)
    assert "salesmgr_ab" in readers(inside) and inside in seen
    assert "salesmgr_ab" not in readers(outside) and outside not in visible(
        app, SALESMGR, companies
    )
    # a non-member is unaffected by the profile: who-can agrees with RLS for them too
    with psycopg.connect(enforced_db.dsn) as conn:
        stock_companies = list(user_by_id(conn, STOCK_USER, "stock_user").company_ids)
    for record in (inside, outside):
        stock_sees = record in visible(app, STOCK_USER, stock_companies)
        assert ("stock_user" in readers(record)) == stock_sees
    text = CliRunner().invoke(
        cli,
        ["--dsn", enforced_db.dsn, "explain", "--user", "salesmgr_ab", "--model", "sale.order"],
    )  # fmt: skip
    assert text.exit_code == 0, text.output
    assert "profile big-orders: restricts to [('amount_total', '>', 1000)]" in text.output
    assert f"rows: {len(seen)} of " in text.output
