"""The bridge in a real Odoo 17.0, 18.0 and 19.0, with every policy applied: everyday work,
raw SQL, the pool.

Opt-in, per version: set `PGPOLICY_ODOO17_SRC` / `PGPOLICY_ODOO17_PYTHON`,
`PGPOLICY_ODOO_SRC` / `PGPOLICY_ODOO_PYTHON` (or `PGPOLICY_ODOO18_*`) and
`PGPOLICY_ODOO19_SRC` / `PGPOLICY_ODOO19_PYTHON` to an unmodified Odoo source tree of that
version and a Python that has its requirements (see docs/bridge.md); a version whose
variables are not set is skipped. Runs on every server of the test bed (PostgreSQL 15 and
18), with the SQL plan-time functions or, with `PGPOLICY_TEST_PLANNER=c`, the C ones (the
library installed on the servers): 18.0 on the shared database (`shared/odoo18`), 17.0 and
19.0 on theirs (`tests/data/odoo17`, `tests/data/odoo19`), each checked against its own
oracle.

One Odoo server per version serves the module's tests: installed and upgraded by the owner
role (`odoo_owner`, a superuser here), then serving as the app role (`pgpolicy_app`: no
superuser, no BYPASSRLS, owns nothing), which the policies hold. The oracle's users log in
with a password set here and work through JSON-RPC and the portal, as the web client would.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgpolicy.profiles.model import parse_profiles
from pgpolicy.profiles.store import save_profiles
from tests.conftest import (
    APP_ROLE,
    REPO_ROOT,
    PgServer,
    check_rls_effective,
    create_database,
    deploy_profiles,
    drop_database,
    enforce,
)
from tests.odoo_run import (
    ODOO_SERIES,
    OdooServer,
    OdooSession,
    RpcError,
    log_problems,
    odoo_env_names,
    odoo_paths,
    password_hash,
    prepare_database,
)
from tests.test_bridge_profiles import TWO
from tests.test_oracle import acl_allows, allowed_ids
from tests.test_profiles import BIG_ORDERS

pytestmark = pytest.mark.xdist_group("odoo")  # one worker, so one Odoo server at a time
# The role that owns the schema and runs `-i` / `-u` (Odoo refuses to connect as `postgres`).
OWNER = "odoo_owner"


@dataclass(frozen=True)
class Version:
    """What differs between the versions' databases and logs (not the bridge: lib/versions)."""

    series: str
    data: str  # the directory of the dump and the oracle: under shared/ or tests/data/
    second_company: int  # the company of accountant_b and of the [harness] records
    groups_field: str  # res.users' groups (19.0 renamed groups_id)
    cron_done: str  # the log line of a cron job that completed, as a regex
    json2: bool = False  # the JSON-2 API (/json/2/<model>/<method>)

    def data_dir(self, shared_dir: Path) -> Path:
        if self.series == "18.0":
            return shared_dir / self.data
        return REPO_ROOT / "tests" / "data" / self.data


VACUUM = "Base: Auto-vacuum internal data"
VERSIONS = {
    "17.0": Version("17.0", "odoo17", 2, "groups_id", rf"Job done: `{VACUUM}`"),
    "18.0": Version("18.0", "odoo18", 2, "groups_id", rf"Job '{VACUUM}' \(\d+\) completed"),
    "19.0": Version(
        "19.0", "odoo19", 3, "group_ids", rf"Job '{VACUUM}' \(\d+\) (fully|partially) done", True
    ),
}
assert tuple(VERSIONS) == ODOO_SERIES


@dataclass
class Odoo:
    """One version's running Odoo with the bridge, serving as the app role."""

    server: OdooServer
    dsn: str  # the superuser's, on the same database
    version: Version
    oracle: dict[str, Any]
    planner: str  # the plan-time functions in place: `sql` or `c` (PGPOLICY_TEST_PLANNER)
    new_module: dict[str, dict[str, Any]] = field(default_factory=dict)

    def uid(self, login: str) -> int:
        uid: int = self.oracle["users"][login]["id"]
        return uid

    @property
    def c2(self) -> int:
        return self.version.second_company


def planner_wanted() -> str:
    """The plan-time functions the test bed puts in place (`enforce`): `c` when
    PGPOLICY_TEST_PLANNER=c (the library must be installed on the server), else `sql`."""
    return "c" if os.environ.get("PGPOLICY_TEST_PLANNER") == "c" else "sql"


def planner_in_place(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT pgpolicy.planner()").fetchone()
    assert row is not None
    return str(row[0])


def load_oracle(directory: Path) -> dict[str, Any]:
    """The oracle of a version's database, with the access rights it is read with."""
    data: dict[str, Any] = json.loads((directory / "oracle.json").read_text())
    data["acls"] = json.loads((directory / "acl.json").read_text())["acls"]
    return data


@pytest.fixture(scope="module", params=ODOO_SERIES)
def odoo(
    request: pytest.FixtureRequest,
    pg_server: PgServer,
    shared_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Odoo]:
    """A running Odoo of one version with the bridge, serving as the app role."""
    version = VERSIONS[request.param]
    paths = odoo_paths(version.series)
    if paths is None:
        names = " or ".join(f"{src} and {python}" for src, python in odoo_env_names(version.series))
        pytest.skip(f"set {names} to run Odoo {version.series}")
    src, python = paths
    data = version.data_dir(shared_dir)
    template = pg_server.odoo_template(data / f"{version.data}.dump", f"{version.data}_template")
    app_role = pg_server.app_role()
    db = create_database(pg_server, f"bridge{version.series[:2]}", template=template)
    workdir = tmp_path_factory.mktemp(f"odoo{version.series[:2]}")
    server = OdooServer(src, python, pg_server.host, pg_server.port, db.name, workdir)
    run = Odoo(server, db.dsn, version, load_oracle(data), planner_wanted())
    try:
        prepare_database(db.dsn, app_role, OWNER, python)
        # The owner role installs and upgrades (DDL); the bridge is loaded all along.
        server.run_once("install", OWNER, "-i", "pgpolicy_bridge,pgpolicy_bridge_probe")
        server.run_once("upgrade", OWNER, "-u", "pgpolicy_bridge_probe")
        # A module installed while enforcement is active: its tables are protected from the
        # moment they exist; then the documented step, `pgpolicy init` and `apply`.
        server.run_once("module", OWNER, "-i", "maintenance")
        run.new_module["installed"] = new_module_state(db.dsn, app_role)
        enforce(db.dsn, app_role)
        assert planner_in_place(db.dsn) == run.planner
        run.new_module["applied"] = new_module_state(db.dsn, app_role)
        server.start(app_role)
        yield run
    finally:
        server.stop()
        drop_database(db)


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


def session(odoo: Odoo, login: str) -> OdooSession:
    return OdooSession(odoo.server).login(login)


def superuser_rows(odoo: Odoo, query: str, *params: Any) -> list[Any]:
    with psycopg.connect(odoo.dsn) as conn:
        return conn.execute(query, params).fetchall()


def companies(odoo: Odoo, login: str) -> list[int]:
    ids: list[int] = odoo.oracle["users"][login]["allowed_company_ids"]
    return ids


# --- in order: what the database says, then everyday work, then the log ------------------


def test_the_role_state_is_reported(odoo: Odoo) -> None:
    void = "WARNING {} odoo.addons.pgpolicy_bridge.hooks: pgpolicy enforcement is VOID: role"
    void += " odoo_owner is a superuser"
    void += " (expected for the owner role while it installs or upgrades modules; serve"
    void += " through the app role)"
    for phase in ("install", "upgrade", "module"):  # the owner role: a WARNING, not an ERROR
        log = odoo.server.log_text(phase)
        assert "pgpolicy bridge loaded" in log
        assert void.format(odoo.server.dbname) in log
        assert log_problems(log) == [], phase
    log = odoo.server.log_text("serve")
    assert "pgpolicy bridge loaded" in log
    active = f"INFO {odoo.server.dbname} odoo.addons.pgpolicy_bridge.hooks: pgpolicy enforcement"
    assert active + " active for role pgpolicy_app: runtime 12," in log
    assert f"pgpolicy bridge loaded for Odoo {odoo.version.series}:" in log
    status = session(odoo, "admin").call("pgpolicy.bridge", "status")
    assert status["enforced"] is True and status["bridge_loaded"] is True
    assert status["role"] == "pgpolicy_app" and status["runtime_version"] == "12"
    assert status["pending"] == 0
    assert planner_in_place(odoo.dsn) == odoo.planner  # what the scenarios run with


def test_a_module_installed_while_enforced_is_protected_until_apply(
    odoo: Odoo,
) -> None:
    """`-i maintenance` by the owner role: its tables admit only the system principal from
    the moment they exist, the bridge reminds to apply; `apply` gives them their compiled
    policies (Odoo's access rights and rules of the new module)."""
    installed = odoo.new_module["installed"]
    assert installed["rls"] and installed["policies"] == {"pgpolicy_pending"}
    assert installed["pending"] > 0
    assert installed["no_context"] == 0 and installed["admin"] == 0
    reminder = "relation(s) created since the last `pgpolicy apply` admit only the system"
    assert reminder in odoo.server.log_text("module")
    applied = odoo.new_module["applied"]
    assert applied["rls"] and applied["pending"] == 0
    assert "pgpolicy_pending" not in applied["policies"]
    assert "pgpolicy_context" in applied["policies"]
    assert applied["no_context"] == 0
    assert applied["admin"] == applied["rows"]  # the administrator manages equipment


@pytest.mark.parametrize("login", ["salesman_a", "salesmgr_ab", "accountant_b", "project_user",
                                   "portal_user"])  # fmt: skip
def test_raw_sql_in_a_request_returns_exactly_the_rule_allowed_ids(odoo: Odoo, login: str) -> None:
    """Raw SQL in module code: the user's record rules AND access rights, as the oracle of
    the version's own database says (`allowed_ids`)."""
    oracle = odoo.oracle
    user = session(odoo, login)
    context = user.call("pgpolicy.bridge.probe", "context", companies=companies(odoo, login))
    assert context == {"uid": odoo.uid(login), "su": False, "company_ids": companies(odoo, login)}
    restricted = 0
    for model, table in (("sale.order", "sale_order"), ("account.move", "account_move")):
        every = [r[0] for r in superuser_rows(odoo, f"SELECT id FROM {table} ORDER BY id")]
        raw = user.call("pgpolicy.bridge.probe", "raw_ids", table, companies=companies(odoo, login))
        assert raw == allowed_ids(oracle, login, model), (login, table)
        restricted += len(raw) < len(every)
        assert user.call("pgpolicy.bridge.probe", "system_ids", table) == every
    assert restricted  # every one of these users is denied some orders or invoices


@pytest.mark.parametrize("login", ["salesman_a", "salesmgr_ab", "accountant_b", "project_user",
                                   "portal_user"])  # fmt: skip
def test_the_orm_filters_as_before(odoo: Odoo, login: str) -> None:
    """What the ORM returns through the bridge is what the version's ORM allowed when the
    oracle was recorded, without the bridge: the ORM is unchanged."""
    user = session(odoo, login)
    groups = set(odoo.oracle["users"][login]["group_ids"])
    for model in ("sale.order", "account.move"):
        if not acl_allows(odoo.oracle["acls"], groups, model, "read"):
            with pytest.raises(RpcError, match="AccessError"):  # no access right: refused
                user.call(model, "search", [], companies=companies(odoo, login))
            continue
        found = user.call(model, "search", [], companies=companies(odoo, login))
        assert sorted(found) == allowed_ids(odoo.oracle, login, model), (login, model)


# The oracle's other kinds of user, on what their work is about (before any scenario
# creates transfers or employees): raw SQL and the ORM both give the version's oracle.
STOCK_AND_HR = [("stock_user", "stock.picking", "stock_picking"),
                ("hr_officer", "hr.employee", "hr_employee")]  # fmt: skip


@pytest.mark.parametrize(("login", "model", "table"), STOCK_AND_HR)
def test_a_stock_user_and_an_hr_officer_read_exactly_their_records(
    odoo: Odoo, login: str, model: str, table: str
) -> None:
    """A stock user's transfers and an HR officer's employees: raw SQL in the request
    returns the rules AND access rights of the oracle, and so does the ORM (archived
    records included, as the oracle was recorded)."""
    user = session(odoo, login)
    chosen = companies(odoo, login)
    expected = allowed_ids(odoo.oracle, login, model)
    assert expected  # the access rights let each read his model
    every = [r[0] for r in superuser_rows(odoo, f"SELECT id FROM {table} ORDER BY id")]
    assert len(expected) < len(every)  # and the rules deny him some records
    raw = user.call("pgpolicy.bridge.probe", "raw_ids", table, companies=chosen)
    assert raw == expected, (login, table)
    found = user.call(model, "search", [], companies=chosen, context={"active_test": False})
    assert sorted(found) == expected, (login, model)
    assert user.call("pgpolicy.bridge.probe", "system_ids", table) == every


def test_the_pooled_connection_carries_no_context_into_the_next_request(odoo: Odoo) -> None:
    manager = session(odoo, "salesmgr_ab")
    portal = session(odoo, "portal_user")
    for _ in range(3):
        assert len(manager.call("pgpolicy.bridge.probe", "raw_ids", "sale_order")) > 5
        pooled = portal.call("pgpolicy.bridge.probe", "pooled_connection")
        assert pooled["uid"] is None and pooled["setting"] in ("", None)
        assert (pooled["sale_orders"], pooled["partners"]) == (0, 0)  # no context: nothing
        assert portal.call("pgpolicy.bridge.probe", "raw_ids", "sale_order") == allowed_ids(
            odoo.oracle, "portal_user", "sale.order"
        )


NAME_FIELDS = {
    "crm.lead": ["name"],
    "res.partner": ["complete_name", "email", "ref", "vat", "company_registry"],
}


def test_name_search_goes_through_the_search_function(odoo: Odoo) -> None:
    """`name_search` of crm.lead and res.partner answers what a search on the name fields
    answers, in the same order, for a salesman and a multi-company manager. On 18.0 it runs
    through `pgpolicy_search.<table>` (the display-name search becomes `id IN (...)`: the
    routing follows 18.0's `_search_display_name`); on 17.0 and 19.0 it is the ORM's own."""
    routed = odoo.version.series == "18.0"
    for login, chosen in (("salesman_a", [1]), ("salesmgr_ab", [1, odoo.c2])):
        user = session(odoo, login)
        for model, fields in NAME_FIELDS.items():
            for value in ("a", "Azure", "lead", "@", "zz-none", "%", "_"):
                if routed:
                    domain = user.call("pgpolicy.bridge.probe", "display_name_domain", model,
                                       value, companies=chosen)  # fmt: skip
                    assert domain[0][:2] == ["id", "in"], (model, value, domain)
                found = user.call(model, "name_search", value, limit=50, companies=chosen)
                leaves = ["|"] * (len(fields) - 1) + [[f, "ilike", value] for f in fields]
                expected = user.call(model, "search", leaves, limit=50, companies=chosen)
                assert [record_id for record_id, _ in found] == expected, (login, model, value)
    if not routed:
        return
    # not routed: a model whose display-name search is its own (res.users), an empty value
    admin = session(odoo, "admin")
    for model, value in (("res.users", "a"), ("crm.lead", "")):
        domain = admin.call("pgpolicy.bridge.probe", "display_name_domain", model, value)
        assert not domain or domain[0][:2] != ["id", "in"], (model, value, domain)


def test_a_salesman_creates_edits_and_confirms_a_quotation(odoo: Odoo) -> None:
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
    assert sorted(mine) == sorted([*allowed_ids(odoo.oracle, "salesman_a", "sale.order"), order])
    raw = user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=[1])
    assert raw == sorted([*allowed_ids(odoo.oracle, "salesman_a", "sale.order"), order])
    assert sorted(mine) == raw  # the ORM and the database agree


def test_a_stock_user_validates_a_receipt(odoo: Odoo) -> None:
    """A receipt created, confirmed and validated by the stock user: done, and raw SQL in
    his request lists the transfers the ORM lists him, the new one among them."""
    user = session(odoo, "stock_user")
    [kind] = user.call("stock.picking.type", "search",
                       [("code", "=", "incoming"), ("company_id", "=", 1)], limit=1,
                       companies=[1])  # fmt: skip
    [(source, destination)] = superuser_rows(
        odoo, "SELECT coalesce(t.default_location_src_id, d.res_id), t.default_location_dest_id"
        " FROM stock_picking_type t, ir_model_data d WHERE t.id = %s"
        " AND d.module = 'stock' AND d.name = 'stock_location_suppliers'", kind,
    )  # fmt: skip
    [product] = user.call("product.product", "search_read",
                          [("type", "=", "consu"), ("tracking", "=", "none")], ["uom_id"],
                          limit=1, companies=[1])  # fmt: skip
    move = {
        "product_id": product["id"], "product_uom": product["uom_id"][0], "product_uom_qty": 4,
        "location_id": source, "location_dest_id": destination,
    }  # fmt: skip
    if odoo.version.series != "19.0":  # 19.0's stock moves have no name
        move["name"] = "Bridge receipt"
    picking = user.call("stock.picking", "create", {
        "picking_type_id": kind, "location_id": source, "location_dest_id": destination,
        "move_ids": [(0, 0, move)],
    }, companies=[1])  # fmt: skip
    user.call("stock.picking", "action_confirm", [picking], companies=[1])
    user.call("stock.picking", "button_validate", [picking], companies=[1])
    [read] = user.call("stock.picking", "read", [picking], ["state"], companies=[1])
    assert read["state"] == "done"
    orm = sorted(user.call("stock.picking", "search", [], companies=[1]))
    assert picking in orm
    assert user.call("pgpolicy.bridge.probe", "raw_ids", "stock_picking", companies=[1]) == orm


def test_a_portal_user_opens_his_orders_and_invoices(odoo: Odoo) -> None:
    portal = session(odoo, "portal_user")
    orders = allowed_ids(odoo.oracle, "portal_user", "sale.order")
    confirmed = superuser_rows(
        odoo, "SELECT id, name FROM sale_order WHERE id = ANY(%s) AND state = 'sale' ORDER BY id",
        orders,
    )  # fmt: skip
    invoices = superuser_rows(
        odoo, "SELECT id, name FROM account_move WHERE id = ANY(%s) AND state = 'posted'"
        " AND move_type = 'out_invoice' ORDER BY id",
        allowed_ids(odoo.oracle, "portal_user", "account.move"),
    )  # fmt: skip
    assert confirmed and invoices
    status, body = portal.page("/my/orders")
    assert status == 200 and all(name in body for _, name in confirmed)
    status, body = portal.page("/my/invoices")
    assert status == 200 and all(name in body for _, name in invoices)
    assert portal.page(f"/my/orders/{confirmed[0][0]}")[0] == 200
    assert portal.page(f"/my/invoices/{invoices[0][0]}")[0] == 200


def test_an_accountant_posts_an_invoice_in_the_second_company(odoo: Odoo) -> None:
    user = session(odoo, "accountant_b")
    c2 = odoo.c2
    [partner] = user.call("res.partner", "search", [("is_company", "=", True)], limit=1,
                          companies=[c2])  # fmt: skip
    move = user.call("account.move", "create", {
        "move_type": "out_invoice", "partner_id": partner,
        "invoice_line_ids": [(0, 0, {"name": "Bridge consulting", "quantity": 2, "price_unit": 75})],
    }, companies=[c2])  # fmt: skip
    user.call("account.move", "action_post", [move], companies=[c2])
    [read] = user.call("account.move", "read", [move], ["state", "company_id", "amount_untaxed"],
                       companies=[c2])  # fmt: skip
    assert read["state"] == "posted" and read["company_id"][0] == c2
    assert read["amount_untaxed"] == 150
    assert move in user.call("pgpolicy.bridge.probe", "raw_ids", "account_move", companies=[c2])


def test_a_multi_company_manager_switches_companies(odoo: Odoo) -> None:
    user = session(odoo, "salesmgr_ab")
    c2 = odoo.c2
    company_of = dict(superuser_rows(odoo, "SELECT id, company_id FROM sale_order"))
    for chosen in ([1], [c2], [c2, 1], [1, c2]):
        listed = user.call("sale.order", "web_search_read", [], {"company_id": {}},
                           companies=chosen)  # fmt: skip
        seen = {r["company_id"] for r in listed["records"]}
        assert seen and seen <= set(chosen)
        context = user.call("pgpolicy.bridge.probe", "context", companies=chosen)
        assert context["company_ids"] == chosen
        raw = user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=chosen)
        assert raw and {company_of[i] for i in raw} <= set(chosen)
    everything = user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=[1, c2])
    only_2 = user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=[c2])
    assert set(only_2) == {i for i in everything if company_of[i] == c2}


def json2(odoo: Odoo, key: str, model: str, method: str, body: dict[str, Any]) -> Any:
    """A call of 19.0's JSON-2 API (`/json/2/<model>/<method>`, bearer API key)."""
    request = urllib.request.Request(
        f"{odoo.server.url}/json/2/{model}/{method}",
        json.dumps(body).encode(),
        {
            "Content-Type": "application/json",
            "Authorization": f"bearer {key}",
            "X-Odoo-Database": odoo.server.dbname,  # no session: say which database
        },
    )
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.loads(answer.read())


def test_a_json2_call_carries_its_companies(odoo: Odoo) -> None:
    """19.0's JSON-2 API calls the method without call_kw: the bridge reads the allowed
    companies of the body's context in its dispatcher."""
    if not odoo.version.json2:
        pytest.skip(f"Odoo {odoo.version.series} has no JSON-2 API")
    uid, c2 = odoo.uid("salesmgr_ab"), odoo.c2
    key = secrets.token_hex(20)  # what res.users.apikeys._generate makes, stored as it does
    with psycopg.connect(odoo.dsn) as conn:
        conn.execute(
            "INSERT INTO res_users_apikeys (name, user_id, scope, key, index)"
            " VALUES ('pgpolicy bridge test', %s, NULL, %s, %s)",
            [uid, password_hash(odoo.server.python, key), key[:8]],
        )
    company_of = dict(superuser_rows(odoo, "SELECT id, company_id FROM sale_order"))
    for chosen in ([1], [c2], [c2, 1]):
        body = {"context": {"allowed_company_ids": chosen}}
        context = json2(odoo, key, "pgpolicy.bridge.probe", "context", body)
        assert context == {"uid": uid, "su": False, "company_ids": chosen}
        raw = json2(odoo, key, "pgpolicy.bridge.probe", "raw_ids", {**body, "table": "sale_order"})
        assert raw and {company_of[i] for i in raw} <= set(chosen)
    everyone = json2(odoo, key, "pgpolicy.bridge.probe", "context", {})
    assert everyone["uid"] == uid and sorted(everyone["company_ids"]) == sorted([1, c2])


def test_a_project_user_logs_time(odoo: Odoo) -> None:
    # In the shared database project_user (Project / User) may not log time at all: Odoo
    # itself refuses it. The administrator makes him a timesheet user with an employee.
    admin = session(odoo, "admin")
    [group] = admin.call("ir.model.data", "search_read",
                         [("module", "=", "hr_timesheet"), ("name", "=", "group_hr_timesheet_user")],
                         ["res_id"])  # fmt: skip
    uid = odoo.uid("project_user")
    admin.call("res.users", "write", [uid], {odoo.version.groups_field: [(4, group["res_id"])]})
    if not admin.call("hr.employee", "search", [("user_id", "=", uid)]):
        admin.call("hr.employee", "create", {"name": "Project User", "user_id": uid,
                                             "company_id": 1})  # fmt: skip
    user = session(odoo, "project_user")
    [project] = user.call("project.project", "search", [("allow_timesheets", "=", True)],
                          limit=1, companies=[1])  # fmt: skip
    line = user.call("account.analytic.line", "create", {
        "project_id": project, "name": "Bridge review", "unit_amount": 1.5,
    }, companies=[1])  # fmt: skip
    [read] = user.call("account.analytic.line", "read", [line], ["unit_amount", "user_id"],
                       companies=[1])  # fmt: skip
    assert read["unit_amount"] == 1.5 and read["user_id"][0] == uid
    raw = user.call("pgpolicy.bridge.probe", "raw_ids", "account_analytic_line", companies=[1])
    assert line in raw


def test_the_crons_run(odoo: Odoo) -> None:
    done = re.compile(odoo.version.cron_done)
    deadline = time.monotonic() + 180
    while not done.search(odoo.server.log_text()) and time.monotonic() < deadline:
        time.sleep(2)
    assert done.search(odoo.server.log_text())
    job = "(SELECT res_id FROM ir_model_data WHERE module = 'base' AND name = 'autovacuum_job')"
    [(lastcall,)] = superuser_rows(odoo, f"SELECT lastcall FROM ir_cron WHERE id = {job}")
    if odoo.version.series == "19.0" and lastcall is None:
        # 19.0 stops a job after its time budget ("partially done", on a loaded machine)
        # and sets lastcall only once it is fully done; what it did is in its progress
        [(vacuumed,)] = superuser_rows(
            odoo, f"SELECT coalesce(sum(done), 0) FROM ir_cron_progress WHERE cron_id = {job}"
        )
        assert vacuumed > 0
    else:
        assert lastcall is not None


def test_the_log_has_no_error(odoo: Odoo) -> None:
    """What this server served (the scenarios before this one on the same test process; with
    several processes each has its own server, and the crons may have run on another) left
    no error and no refusal by the database in its log."""
    log = odoo.server.log_text("serve")
    assert re.search(r'"(GET|POST) /', log), "the server served no request"
    assert log_problems(log) == []


SUSPENDED = """
profiles:
  - name: suspended
    members: {logins: [project_user]}
    deny_login: true
"""


def test_a_profile_refuses_sign_in_and_the_refusal_is_recorded(
    odoo: Odoo,
) -> None:
    """A deny_login profile is data: stored, it refuses at once; removed, sign-in works."""
    uid = odoo.uid("project_user")
    assert session(odoo, "project_user").uid == uid
    with psycopg.connect(odoo.dsn) as conn:
        save_profiles(conn, parse_profiles(SUSPENDED))
    try:
        with pytest.raises(RpcError, match="AccessDenied"):
            session(odoo, "project_user")
        assert session(odoo, "salesman_a").uid == odoo.uid("salesman_a")  # a non-member
        attempts = superuser_rows(odoo, "SELECT uid, profiles FROM pgpolicy.login_attempt")
        assert attempts == [(uid, ["suspended"])]
        log = odoo.server.log_text("serve")
        assert f"pgpolicy: sign-in of uid {uid} refused by an access profile" in log
    finally:
        with psycopg.connect(odoo.dsn) as conn:
            save_profiles(conn, ())
    assert session(odoo, "project_user").uid == uid


SECOND_COMPANY_ORDERS = "SELECT id FROM sale_order WHERE company_id = %s"


def two_profiles(second_company: int) -> str:
    """The profiles of test_bridge_profiles, `company-two` on the version's second company."""
    text = TWO.replace("[('company_id', '=', 2)]", f"[('company_id', '=', {second_company})]")
    assert second_company == 2 or text != TWO
    return text


def test_a_user_narrows_his_profiles_for_the_session(odoo: Odoo) -> None:
    """The selector route: a subset narrows raw SQL, a name not his is refused, clearing
    brings every profile back; the choice lives in the HTTP session."""
    manager = session(odoo, "salesmgr_ab")

    def raw_ids(user: OdooSession = manager) -> set[int]:
        return set(user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order"))

    odoo_ids = raw_ids()  # Odoo's rules alone (the orders earlier scenarios made included)
    deploy_profiles(odoo.dsn, APP_ROLE, two_profiles(odoo.c2))
    try:
        status, body = manager.page("/pgpolicy/profiles")
        assert status == 200, body
        assert json.loads(body) == {"profiles": ["big-orders", "company-two"], "enabled": None}
        big = {r[0] for r in superuser_rows(odoo, BIG_ORDERS)}
        two = {r[0] for r in superuser_rows(odoo, SECOND_COMPANY_ORDERS, odoo.c2)}
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
        deploy_profiles(odoo.dsn, APP_ROLE, "profiles: []\n")
    assert raw_ids() == odoo_ids


def test_shadow_mode_reports_instead_of_denying(odoo: Odoo) -> None:
    """Last: the same server again, with `pgpolicy_bridge_shadow = True`."""
    # the portal user's orders as the ORM and the policies give them now (the oracle's,
    # and those earlier scenarios made for his company, as on 19.0)
    mine = sorted(session(odoo, "portal_user").call("sale.order", "search", [], companies=[1]))
    assert set(allowed_ids(odoo.oracle, "portal_user", "sale.order")) <= set(mine)
    server = odoo.server
    server.stop()
    config = server.workdir / "shadow.conf"
    config.write_text("[options]\npgpolicy_bridge_shadow = True\n")
    server.start("pgpolicy_app", "--config", str(config), phase="shadow")
    assert "(SHADOW MODE: mirrors report what they would deny, and deny nothing)" in (
        server.log_text()
    )
    user = session(odoo, "portal_user")
    every = [r[0] for r in superuser_rows(odoo, "SELECT id FROM sale_order ORDER BY id")]
    assert user.call("pgpolicy.bridge.probe", "raw_ids", "sale_order", companies=[1]) == every
    assert (
        sorted(user.call("sale.order", "search", [], companies=[1])) == mine
    )  # the ORM: as before
    reported = {
        int(line.split(" sale_order row ")[1].split()[0])
        for line in server.log_text().splitlines()
        if "WARNING" in line
        and "pgpolicy shadow: would deny sale_order row " in line
        and f"to uid {odoo.uid('portal_user')} " in line
    }
    # psycopg2 keeps a connection's last 50 messages: at most 50 reports per statement.
    assert reported and reported <= set(every) - set(mine)
    assert user.call("pgpolicy.bridge.probe", "pooled_connection")["sale_orders"] == 0
    # Every scenario's serving log, and the restart's: no error, no refusal by the database.
    assert log_problems(server.log_text("serve")) == []
    assert log_problems(server.log_text("shadow")) == []
