"""The bridge in a real Odoo 18, with every policy applied: everyday work, raw SQL, the pool.

Opt-in: set `PGPOLICY_ODOO_SRC` to an unmodified Odoo 18.0 source tree and
`PGPOLICY_ODOO_PYTHON` to a Python that has its requirements (see docs/bridge.md). Runs on
PostgreSQL 15, the version the shared database was made with.

One Odoo server serves the whole module: installed and upgraded by the owner role
(`odoo_owner`, a superuser here), then serving as the app role (`pgpolicy_app`: no superuser, no BYPASSRLS,
owns nothing), which the policies hold. The oracle's users log in with a password set
here and work through JSON-RPC and the portal, as the web client would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgpolicy.profiles.model import parse_profiles
from pgpolicy.profiles.store import save_profiles
from tests.conftest import (
    APP_ROLE,
    PgServer,
    check_rls_effective,
    create_database,
    deploy_profiles,
    drop_database,
    enforce,
)
from tests.odoo_run import (
    OdooServer,
    OdooSession,
    RpcError,
    log_problems,
    odoo_paths,
    prepare_database,
)
from tests.test_bridge_profiles import TWO
from tests.test_oracle import allowed_ids
from tests.test_profiles import BIG_ORDERS, COMPANY_2_ORDERS

pytestmark = [
    pytest.mark.skipif(
        odoo_paths() is None,
        reason="set PGPOLICY_ODOO_SRC (an Odoo 18 tree) and PGPOLICY_ODOO_PYTHON to run Odoo",
    ),
    pytest.mark.xdist_group("odoo"),  # one worker, so one Odoo server serves the module
]
# The role that owns the schema and runs `-i` / `-u` (Odoo refuses to connect as `postgres`).
OWNER = "odoo_owner"


@pytest.fixture(scope="module")
def odoo(
    pg_server: PgServer, odoo_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OdooServer, str]]:
    """A running Odoo with the bridge, serving as the app role; and the superuser dsn."""
    if pg_server.version != 15:
        pytest.skip("the Odoo scenarios run once, on PostgreSQL 15")
    paths = odoo_paths()
    assert paths is not None
    src, python = paths
    app_role = pg_server.app_role()
    db = create_database(pg_server, "odoo_bridge", template=odoo_template)
    workdir = tmp_path_factory.mktemp("odoo")
    server = OdooServer(src, python, pg_server.host, pg_server.port, db.name, workdir)
    try:
        prepare_database(db.dsn, app_role, OWNER, python)
        # The owner role installs and upgrades (DDL); the bridge is loaded all along.
        server.run_once("install", OWNER, "-i", "pgpolicy_bridge,pgpolicy_bridge_probe")
        server.run_once("upgrade", OWNER, "-u", "pgpolicy_bridge_probe")
        # A module installed while enforcement is active: its tables are protected from the
        # moment they exist; then the documented step, `pgpolicy init` and `apply`.
        server.run_once("module", OWNER, "-i", "maintenance")
        NEW_MODULE["installed"] = new_module_state(db.dsn, app_role)
        enforce(db.dsn, app_role)
        NEW_MODULE["applied"] = new_module_state(db.dsn, app_role)
        server.start(app_role)
        yield server, db.dsn
    finally:
        server.stop()
        drop_database(db)


# What the tables of the module installed by the fixture looked like, right after its
# install and after `pgpolicy apply`.
NEW_MODULE: dict[str, dict[str, Any]] = {}
NEW_TABLE = "maintenance_equipment"


def new_module_state(dsn: str, app_role: str) -> dict[str, Any]:
    """The new table's RLS flags and policies, its rows, and what the app role reads of it
    without a context and as the administrator (uid 2)."""
    with psycopg.connect(dsn) as conn:
        flags = conn.execute(
            "SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", [NEW_TABLE]
        ).fetchone()
        policies = {
            name
            for (name,) in conn.execute(
                "SELECT policyname FROM pg_policies WHERE tablename = %s", [NEW_TABLE]
            )
        }
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(NEW_TABLE)))
        total = rows.fetchone()
        pending = conn.execute("SELECT pgpolicy.pending_count()").fetchone()
    app_dsn = make_conninfo(dsn, user=app_role)
    with psycopg.connect(app_dsn) as app:
        check_rls_effective(app, [NEW_TABLE])
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(NEW_TABLE))
        unseen = app.execute(query).fetchone()
        app.rollback()
        app.execute("SELECT pgpolicy.set_context(2, '{1}', false)")
        admin = app.execute(query).fetchone()
    return {
        "rls": flags and flags[0],
        "policies": policies,
        "rows": total and total[0],
        "pending": pending and pending[0],
        "no_context": unseen and unseen[0],
        "admin": admin and admin[0],
    }


def session(odoo: tuple[OdooServer, str], login: str) -> OdooSession:
    return OdooSession(odoo[0]).login(login)


def superuser_rows(odoo: tuple[OdooServer, str], query: str, *params: Any) -> list[Any]:
    with psycopg.connect(odoo[1]) as conn:
        return conn.execute(query, params).fetchall()


def companies(oracle: dict[str, Any], login: str) -> list[int]:
    ids: list[int] = oracle["users"][login]["allowed_company_ids"]
    return ids


# --- in order: what the database says, then everyday work, then the log ------------------


def test_the_role_state_is_reported(odoo: tuple[OdooServer, str]) -> None:
    void = "WARNING {} odoo.addons.pgpolicy_bridge.hooks: pgpolicy enforcement is VOID: role"
    void += " odoo_owner is a superuser (expected for the owner role while it installs or"
    void += " upgrades modules; serve through the app role)"
    for phase in ("install", "upgrade", "module"):  # the owner role: a WARNING, not an ERROR
        log = odoo[0].log_text(phase)
        assert "pgpolicy bridge loaded" in log
        assert void.format(odoo[0].dbname) in log
        assert log_problems(log) == [], phase
    log = odoo[0].log_text("serve")
    assert "pgpolicy bridge loaded" in log
    active = f"INFO {odoo[0].dbname} odoo.addons.pgpolicy_bridge.hooks: pgpolicy enforcement"
    assert active + " active for role pgpolicy_app: runtime 9," in log
    status = session(odoo, "admin").call("pgpolicy.bridge", "status")
    assert status["enforced"] is True and status["bridge_loaded"] is True
    assert status["role"] == "pgpolicy_app" and status["runtime_version"] == "10"
    assert status["pending"] == 0


def test_a_module_installed_while_enforced_is_protected_until_apply(
    odoo: tuple[OdooServer, str],
) -> None:
    """`-i maintenance` by the owner role: its tables admit only the system principal from
    the moment they exist, the bridge reminds to apply; `apply` gives them their compiled
    policies (Odoo's access rights and rules of the new module)."""
    installed, applied = NEW_MODULE["installed"], NEW_MODULE["applied"]
    assert installed["rls"] and installed["policies"] == {"pgpolicy_pending"}
    assert installed["pending"] > 0
    assert installed["no_context"] == 0 and installed["admin"] == 0
    reminder = "relation(s) created since the last `pgpolicy apply` admit only the system"
    assert reminder in odoo[0].log_text("module")
    assert applied["rls"] and applied["pending"] == 0
    assert "pgpolicy_pending" not in applied["policies"]
    assert "pgpolicy_context" in applied["policies"]
    assert applied["no_context"] == 0
    assert applied["admin"] == applied["rows"]  # the administrator manages equipment


@pytest.mark.parametrize("login", ["salesman_a", "salesmgr_ab", "accountant_b", "project_user",
                                   "portal_user"])  # fmt: skip
def test_raw_sql_in_a_request_returns_exactly_the_rule_allowed_ids(
    odoo: tuple[OdooServer, str], oracle: dict[str, Any], login: str
) -> None:
    user = session(odoo, login)
    restricted = 0
    for model, table in (("sale.order", "sale_order"), ("account.move", "account_move")):
        every = [r[0] for r in superuser_rows(odoo, f"SELECT id FROM {table} ORDER BY id")]
        raw = user.call(
            "pgpolicy.bridge.probe", "raw_ids", table, companies=companies(oracle, login)
        )
        assert raw == allowed_ids(oracle, login, model), (login, table)
        restricted += len(raw) < len(every)
        assert user.call("pgpolicy.bridge.probe", "system_ids", table) == every
    assert restricted  # every one of these users is denied some orders or invoices
    context = user.call("pgpolicy.bridge.probe", "context", companies=companies(oracle, login))
    assert context == {
        "uid": oracle["users"][login]["id"],
        "su": False,
        "company_ids": companies(oracle, login),
    }


def test_the_pooled_connection_carries_no_context_into_the_next_request(
    odoo: tuple[OdooServer, str], oracle: dict[str, Any]
) -> None:
    manager = session(odoo, "salesmgr_ab")
    portal = session(odoo, "portal_user")
    for _ in range(3):
        assert len(manager.call("pgpolicy.bridge.probe", "raw_ids", "sale_order")) > 5
        pooled = portal.call("pgpolicy.bridge.probe", "pooled_connection")
        assert pooled["uid"] is None and pooled["setting"] in ("", None)
        assert (pooled["sale_orders"], pooled["partners"]) == (0, 0)  # no context: nothing
        assert portal.call("pgpolicy.bridge.probe", "raw_ids", "sale_order") == allowed_ids(
            oracle, "portal_user", "sale.order"
        )


def test_a_salesman_creates_edits_and_confirms_a_quotation(
    odoo: tuple[OdooServer, str], oracle: dict[str, Any]
) -> None:
    user = session(odoo, "salesman_a")
    [partner] = user.call("res.partner", "search", [("is_company", "=", True)], limit=1)
    [product] = user.call("product.product", "search", [("sale_ok", "=", True)], limit=1)
    order = user.call("sale.order", "create", {
        "partner_id": partner, "order_line": [(0, 0, {"product_id": product, "product_uom_qty": 3})],
    })  # fmt: skip
    user.call("sale.order", "write", [order], {"note": "Edited through the bridge"})
    user.call("sale.order", "action_confirm", [order])
    listed = user.call(
        "sale.order",
        "web_search_read",
        [],
        {"name": {}, "state": {}, "user_id": {}},
        companies=[1],
    )
    mine = {r["id"]: r for r in listed["records"]}
    assert mine[order]["state"] == "sale"
    raw = user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=[1])
    assert raw == sorted([*allowed_ids(oracle, "salesman_a", "sale.order"), order])
    assert sorted(mine) == raw  # the ORM and the database agree


def test_a_portal_user_opens_his_orders_and_invoices(
    odoo: tuple[OdooServer, str], oracle: dict[str, Any]
) -> None:
    portal = session(odoo, "portal_user")
    orders = allowed_ids(oracle, "portal_user", "sale.order")
    confirmed = superuser_rows(
        odoo, "SELECT id, name FROM sale_order WHERE id = ANY(%s) AND state = 'sale' ORDER BY id",
        orders,
    )  # fmt: skip
    invoices = superuser_rows(
        odoo, "SELECT id, name FROM account_move WHERE id = ANY(%s) AND state = 'posted'"
        " AND move_type = 'out_invoice' ORDER BY id",
        allowed_ids(oracle, "portal_user", "account.move"),
    )  # fmt: skip
    assert confirmed and invoices
    status, body = portal.page("/my/orders")
    assert status == 200 and all(name in body for _, name in confirmed)
    status, body = portal.page("/my/invoices")
    assert status == 200 and all(name in body for _, name in invoices)
    assert portal.page(f"/my/orders/{confirmed[0][0]}")[0] == 200
    assert portal.page(f"/my/invoices/{invoices[0][0]}")[0] == 200


def test_an_accountant_posts_an_invoice_in_company_2(odoo: tuple[OdooServer, str]) -> None:
    user = session(odoo, "accountant_b")
    [partner] = user.call("res.partner", "search", [("is_company", "=", True)], limit=1,
                          companies=[2])  # fmt: skip
    move = user.call("account.move", "create", {
        "move_type": "out_invoice", "partner_id": partner,
        "invoice_line_ids": [(0, 0, {"name": "Bridge consulting", "quantity": 2, "price_unit": 75})],
    }, companies=[2])  # fmt: skip
    user.call("account.move", "action_post", [move], companies=[2])
    [read] = user.call("account.move", "read", [move], ["state", "company_id", "amount_untaxed"],
                       companies=[2])  # fmt: skip
    assert read["state"] == "posted" and read["company_id"][0] == 2
    assert read["amount_untaxed"] == 150
    assert move in user.call("pgpolicy.bridge.probe", "raw_ids", "account_move", companies=[2])


def test_a_multi_company_manager_switches_companies(
    odoo: tuple[OdooServer, str], oracle: dict[str, Any]
) -> None:
    user = session(odoo, "salesmgr_ab")
    company_of = dict(superuser_rows(odoo, "SELECT id, company_id FROM sale_order"))
    for chosen in ([1], [2], [2, 1], [1, 2]):
        listed = user.call("sale.order", "web_search_read", [], {"company_id": {}},
                           companies=chosen)  # fmt: skip
        seen = {r["company_id"] for r in listed["records"]}
        assert seen and seen <= set(chosen)
        raw = user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=chosen)
        assert raw and {company_of[i] for i in raw} <= set(chosen)
        context = user.call("pgpolicy.bridge.probe", "context", companies=chosen)
        assert context["company_ids"] == chosen
    everything = user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=[1, 2])
    only_2 = user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=[2])
    assert set(only_2) == {i for i in everything if company_of[i] == 2}


def test_a_project_user_logs_time(odoo: tuple[OdooServer, str]) -> None:
    # In the shared database project_user (Project / User) may not log time at all: Odoo
    # itself refuses it. The administrator makes him a timesheet user with an employee.
    admin = session(odoo, "admin")
    [group] = admin.call("ir.model.data", "search_read",
                         [("module", "=", "hr_timesheet"), ("name", "=", "group_hr_timesheet_user")],
                         ["res_id"])  # fmt: skip
    admin.call("res.users", "write", [20], {"groups_id": [(4, group["res_id"])]})
    if not admin.call("hr.employee", "search", [("user_id", "=", 20)]):
        admin.call("hr.employee", "create", {"name": "Project User", "user_id": 20,
                                             "company_id": 1})  # fmt: skip
    user = session(odoo, "project_user")
    [project] = user.call("project.project", "search", [("allow_timesheets", "=", True)],
                          limit=1, companies=[1])  # fmt: skip
    line = user.call("account.analytic.line", "create", {
        "project_id": project, "name": "Bridge review", "unit_amount": 1.5,
    }, companies=[1])  # fmt: skip
    [read] = user.call("account.analytic.line", "read", [line], ["unit_amount", "user_id"],
                       companies=[1])  # fmt: skip
    assert read["unit_amount"] == 1.5 and read["user_id"][0] == 20
    raw = user.call("pgpolicy.bridge.probe", "raw_ids", "account_analytic_line", companies=[1])
    assert line in raw


def test_the_crons_run(odoo: tuple[OdooServer, str]) -> None:
    done = "Job 'Base: Auto-vacuum internal data' (1) completed"
    deadline = time.monotonic() + 180
    while done not in odoo[0].log_text() and time.monotonic() < deadline:
        time.sleep(2)
    assert done in odoo[0].log_text()
    [(lastcall,)] = superuser_rows(
        odoo, "SELECT lastcall FROM ir_cron WHERE id = (SELECT res_id FROM ir_model_data"
        " WHERE module = 'base' AND name = 'autovacuum_job')",
    )  # fmt: skip
    assert lastcall is not None


def test_the_log_has_no_error(odoo: tuple[OdooServer, str]) -> None:
    log = odoo[0].log_text("serve")
    assert "Job 'Base: Auto-vacuum internal data' (1) completed" in log
    assert log_problems(log) == []


SUSPENDED = """
profiles:
  - name: suspended
    members: {logins: [project_user]}
    deny_login: true
"""


def test_a_profile_refuses_sign_in_and_the_refusal_is_recorded(
    odoo: tuple[OdooServer, str],
) -> None:
    """A deny_login profile is data: stored, it refuses at once; removed, sign-in works."""
    assert session(odoo, "project_user").uid == 20
    with psycopg.connect(odoo[1]) as conn:
        save_profiles(conn, parse_profiles(SUSPENDED))
    try:
        with pytest.raises(RpcError, match="AccessDenied"):
            session(odoo, "project_user")
        assert session(odoo, "salesman_a").uid == 15  # a non-member is unaffected
        attempts = superuser_rows(odoo, "SELECT uid, profiles FROM pgpolicy.login_attempt")
        assert attempts == [(20, ["suspended"])]
        log = odoo[0].log_text("serve")
        assert "pgpolicy: sign-in of uid 20 refused by an access profile" in log
    finally:
        with psycopg.connect(odoo[1]) as conn:
            save_profiles(conn, ())
    assert session(odoo, "project_user").uid == 20


def test_a_user_narrows_his_profiles_for_the_session(odoo: tuple[OdooServer, str]) -> None:
    """The selector route: a subset narrows raw SQL, a name not his is refused, clearing
    brings every profile back; the choice lives in the HTTP session."""
    manager = session(odoo, "salesmgr_ab")

    def raw_ids(user: OdooSession = manager) -> set[int]:
        return set(user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order"))

    odoo_ids = raw_ids()  # Odoo's rules alone (the orders earlier scenarios made included)
    deploy_profiles(odoo[1], APP_ROLE, TWO)
    try:
        status, body = manager.page("/pgpolicy/profiles")
        assert status == 200, body
        assert json.loads(body) == {"profiles": ["big-orders", "company-two"], "enabled": None}
        big = {r[0] for r in superuser_rows(odoo, BIG_ORDERS)}
        two = {r[0] for r in superuser_rows(odoo, COMPANY_2_ORDERS)}
        assert odoo_ids & big - two and odoo_ids & two - big  # each admits what the other not
        assert raw_ids() == odoo_ids & (big | two)
        chosen = manager.rpc("/pgpolicy/profiles", {"profiles": ["big-orders"]})
        assert chosen["enabled"] == ["big-orders"], chosen
        assert raw_ids() == odoo_ids & big
        refused = manager.rpc("/pgpolicy/profiles", {"profiles": ["someone-else"]})
        assert "not a profile of the current user: someone-else" in refused["error"]
        assert refused["enabled"] == ["big-orders"]  # the choice is left as it was
        assert raw_ids() == odoo_ids & big
        other = session(odoo, "salesmgr_ab")  # another sign-in: every profile
        assert raw_ids(other) == odoo_ids & (big | two)
        cleared = manager.rpc("/pgpolicy/profiles", {"profiles": None})
        assert cleared["enabled"] is None
        assert raw_ids() == odoo_ids & (big | two)
    finally:
        deploy_profiles(odoo[1], APP_ROLE, "profiles: []\n")
    assert raw_ids() == odoo_ids


def test_shadow_mode_reports_instead_of_denying(
    odoo: tuple[OdooServer, str], oracle: dict[str, Any]
) -> None:
    """Last: the same server again, with `pgpolicy_bridge_shadow = True`."""
    server = odoo[0]
    server.stop()
    config = server.workdir / "shadow.conf"
    config.write_text("[options]\npgpolicy_bridge_shadow = True\n")
    server.start("pgpolicy_app", "--config", str(config), phase="shadow")
    assert "(SHADOW MODE: mirrors report what they would deny, and deny nothing)" in (
        server.log_text()
    )
    user = session(odoo, "portal_user")
    every = [r[0] for r in superuser_rows(odoo, "SELECT id FROM sale_order ORDER BY id")]
    mine = allowed_ids(oracle, "portal_user", "sale.order")
    assert user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=[1]) == every
    assert (
        sorted(user.call("sale.order", "search", [], companies=[1])) == mine
    )  # the ORM: as before
    reported = {
        int(line.split(" sale_order row ")[1].split()[0])
        for line in server.log_text().splitlines()
        if "WARNING" in line
        and "pgpolicy shadow: would deny sale_order row " in line
        and "to uid 21 " in line
    }
    # psycopg2 keeps a connection's last 50 messages: at most 50 reports per statement.
    assert reported and reported <= set(every) - set(mine)
    assert user.call("pgpolicy.bridge.probe", "pooled_connection")["sale_orders"] == 0
