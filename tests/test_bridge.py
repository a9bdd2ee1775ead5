"""The bridge's decisions, without Odoo, against the real Odoo 18 database with its policies.

A `BridgedCursor` does what the addon's `Cursor.execute` hook does: ask the bridge for the
text to send, then send it, here through psycopg 3 with client-side binding (one query
string, as psycopg2 sends Odoo's queries). Statements executed from `tests/bridge_orm.py`
stand for the ORM's; statements executed from this file for module code. Expected ids
come from the oracle (`shared/odoo18/oracle.json`), with access rights applied as in
`test_oracle`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from psycopg import pq

from odoo_bridge.pgpolicy_bridge.lib.bridge import Bridge, CursorState
from odoo_bridge.pgpolicy_bridge.lib.context import (
    SYSTEM,
    BridgeError,
    Context,
    Principal,
    companies_from_context,
    statement_context,
)
from odoo_bridge.pgpolicy_bridge.lib.health import log_lines, role_health
from odoo_bridge.pgpolicy_bridge.lib.origin import ORM_FILES, PASS_THROUGH, OriginRules
from odoo_bridge.pgpolicy_bridge.lib.registry import loading_registry
from odoo_bridge.pgpolicy_bridge.lib.statements import (
    NoContextError,
    Tokens,
    TransactionState,
    is_transaction_control,
)
from odoo_bridge.pgpolicy_bridge.lib.versions import (
    LAYOUTS,
    SUPPORTED,
    UnsupportedOdoo,
    layout_for,
)
from tests import bridge_orm
from tests.conftest import (
    Database,
    EnforcedTemplate,
    PgServer,
    check_rls_effective,
    create_database,
    drop_database,
)
from tests.test_oracle import allowed_ids

ORM_FILE = os.path.realpath(bridge_orm.__file__)
PROTECTED = ["sale_order", "account_move", "res_partner", "account_analytic_line"]


def orm_file_rules() -> OriginRules:
    return OriginRules(frozenset({ORM_FILE}), frozenset())


class BridgedCursor:
    """One Odoo cursor as the addon sees it: a connection, its bridge state, the hook."""

    def __init__(self, conn: psycopg.Connection[Any], bridge: Bridge) -> None:
        self.conn = conn
        self.bridge = bridge
        self.state = CursorState()

    def execute(self, query: str, params: Any = None) -> psycopg.Cursor[Any]:
        idle = self.conn.info.transaction_status == pq.TransactionStatus.IDLE
        text = self.bridge.prepare(self.state, query, idle, sys._getframe(1))
        cursor = self.conn.cursor()
        try:
            cursor.execute(text, params)
        except BaseException:
            self.state.transaction.undo()
            raise
        if text is not query:
            # psycopg 3 stands on the first result, the set_context call's; psycopg2 (libpq's
            # PQexec, as Odoo runs it) returns the last one: the statement's.
            for _ in range(text.count(";\n") + text.count("; SELECT pgpolicy.")):
                assert cursor.nextset()
        return cursor

    def ids(self, table: str) -> list[int]:
        return [r[0] for r in self.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()]

    def orm_ids(self, table: str) -> list[int]:
        cursor = bridge_orm.orm_execute(self, f"SELECT id FROM {table} ORDER BY id")
        return [r[0] for r in cursor.fetchall()]


@pytest.fixture(scope="module")
def enforced_db(pg_server: PgServer, enforced_template: EnforcedTemplate) -> Iterator[Database]:
    """The Odoo database with the runtime installed and every policy applied, for this module."""
    db = create_database(pg_server, "bridge", template=enforced_template.name)
    yield db
    drop_database(db)


@pytest.fixture
def all_ids(enforced_db: Database) -> dict[str, list[int]]:
    """Every id of the protected tables, read by the superuser (no RLS)."""
    with psycopg.connect(enforced_db.dsn) as conn:
        return {
            t: [r[0] for r in conn.execute(f"SELECT id FROM {t} ORDER BY id").fetchall()]
            for t in PROTECTED
        }


@pytest.fixture
def app(enforced_db: Database) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the app role, with client-side binding (several statements per query)."""
    dsn = enforced_db.server.dsn(enforced_db.name, user=enforced_db.server.app_role())
    with psycopg.connect(dsn, cursor_factory=psycopg.ClientCursor) as conn:
        check_rls_effective(conn, PROTECTED)
        yield conn


@pytest.fixture
def bridge() -> Bridge:
    return Bridge(orm_file_rules())


def user(oracle: dict[str, Any], login: str) -> Principal:
    info = oracle["users"][login]
    return Principal(info["id"], tuple(info["allowed_company_ids"]))


# --- what raw SQL, the ORM and the system block see --------------------------------------


@pytest.mark.parametrize(
    ("login", "model", "table"),
    [
        ("salesman_a", "sale.order", "sale_order"),
        ("portal_user", "sale.order", "sale_order"),
        ("portal_user", "account.move", "account_move"),
        ("accountant_b", "account.move", "account_move"),
        ("salesmgr_ab", "sale.order", "sale_order"),
        ("project_user", "account.analytic.line", "account_analytic_line"),
    ],
)
def test_raw_sql_returns_exactly_what_the_rules_allow(
    app: psycopg.Connection[Any], bridge: Bridge, oracle: dict[str, Any], login: str,
    model: str, table: str,
) -> None:  # fmt: skip
    cursor = BridgedCursor(app, bridge)
    cursor.state.claim(user(oracle, login))
    expected = allowed_ids(oracle, login, model)
    assert cursor.ids(table) == expected
    assert cursor.state.transaction.sent == Context(
        oracle["users"][login]["id"], tuple(oracle["users"][login]["allowed_company_ids"]), False
    )


def test_orm_statements_lift_the_mirrors_and_switch_without_extra_round_trips(
    app: psycopg.Connection[Any], bridge: Bridge, oracle: dict[str, Any],
    all_ids: dict[str, list[int]],
) -> None:  # fmt: skip
    cursor = BridgedCursor(app, bridge)
    cursor.state.claim(user(oracle, "salesman_a"))
    mine = allowed_ids(oracle, "salesman_a", "sale.order")
    assert len(mine) < len(all_ids["sale_order"])

    assert cursor.ids("sale_order") == mine  # raw: the user
    assert cursor.orm_ids("sale_order") == all_ids["sale_order"]  # ORM: mirrors lifted
    assert cursor.orm_ids("sale_order") == all_ids["sale_order"]  # same context: nothing sent
    assert cursor.ids("sale_order") == mine  # back to the user, same transaction
    transaction = cursor.state.transaction
    assert (transaction.statements, transaction.switches) == (3, 2)
    assert app.info.transaction_status == pq.TransactionStatus.INTRANS
    app.rollback()


def test_system_block_sees_everything_and_only_inside(
    app: psycopg.Connection[Any], bridge: Bridge, oracle: dict[str, Any],
    all_ids: dict[str, list[int]],
) -> None:  # fmt: skip
    cursor = BridgedCursor(app, bridge)
    cursor.state.claim(user(oracle, "portal_user"))
    with bridge.system():
        assert cursor.ids("sale_order") == all_ids["sale_order"]
        assert cursor.state.transaction.sent == Context(1, (), True)
    assert cursor.ids("sale_order") == allowed_ids(oracle, "portal_user", "sale.order")


def test_no_principal_sees_nothing(app: psycopg.Connection[Any], bridge: Bridge) -> None:
    cursor = BridgedCursor(app, bridge)
    for table in PROTECTED:
        assert cursor.ids(table) == []
        assert cursor.orm_ids(table) == []
    assert cursor.state.transaction.sent is None


def test_a_pooled_connection_carries_no_context_into_the_next_transaction(
    app: psycopg.Connection[Any], bridge: Bridge, oracle: dict[str, Any],
) -> None:  # fmt: skip
    first = BridgedCursor(app, bridge)
    first.state.claim(user(oracle, "salesmgr_ab"))
    assert first.ids("sale_order") == allowed_ids(oracle, "salesmgr_ab", "sale.order")
    app.commit()
    # The next borrower, without the bridge: no context at all.
    assert app.execute("SELECT pgpolicy.uid(), pgpolicy.su()").fetchone() == (None, False)
    assert app.execute("SELECT count(*) FROM sale_order").fetchone() == (0,)
    app.rollback()
    # The next borrower through the bridge, as another user, on a read-only transaction.
    app.read_only = True
    second = BridgedCursor(app, bridge)
    second.state.claim(user(oracle, "portal_user"))
    assert second.ids("sale_order") == allowed_ids(oracle, "portal_user", "sale.order")
    app.rollback()
    app.read_only = False
    # The same cursor object after a rollback says its context again.
    assert second.ids("account_move") == allowed_ids(oracle, "portal_user", "account.move")
    assert second.state.transaction.statements == 2
    app.rollback()


def test_rollback_to_savepoint_makes_the_context_unknown(
    app: psycopg.Connection[Any], bridge: Bridge, oracle: dict[str, Any],
    all_ids: dict[str, list[int]],
) -> None:  # fmt: skip
    cursor = BridgedCursor(app, bridge)
    cursor.state.claim(user(oracle, "salesman_a"))
    mine = allowed_ids(oracle, "salesman_a", "sale.order")
    assert cursor.orm_ids("sale_order") == all_ids["sale_order"]  # su on, before the savepoint
    cursor.execute('SAVEPOINT "s1"')
    assert cursor.ids("sale_order") == mine  # su off, said inside the savepoint
    cursor.execute('ROLLBACK TO SAVEPOINT "s1"')  # PostgreSQL reverts to su on ...
    assert cursor.state.transaction.sent is None  # ... so the bridge forgets what it said
    assert cursor.ids("sale_order") == mine  # and says it again: the user, not su
    cursor.execute('RELEASE SAVEPOINT "s1"')
    assert cursor.orm_ids("sale_order") == all_ids["sale_order"]
    app.rollback()


def test_companies_of_the_call_narrow_raw_sql_and_foreign_ones_deny(
    app: psycopg.Connection[Any], bridge: Bridge, oracle: dict[str, Any],
) -> None:  # fmt: skip
    cursor = BridgedCursor(app, bridge)
    cursor.state.claim(Principal(16))  # salesmgr_ab, companies 1 and 2
    both = cursor.ids("sale_order")
    assert both == allowed_ids(oracle, "salesmgr_ab", "sale.order")
    with psycopg.connect(app.info.dsn.replace(f"user={app.info.user}", "user=postgres")) as su:
        company_of = dict(su.execute("SELECT id, company_id FROM sale_order").fetchall())
    with bridge.companies(cursor.state, (2,)):
        only_2 = cursor.ids("sale_order")
    assert only_2 and set(only_2) < set(both)
    assert {company_of[i] for i in only_2} == {2}
    cursor.state.claim(Principal(15))  # a claim is made once: still user 16
    assert cursor.state.claimed == Principal(16)
    anonymous = CursorState()
    anonymous.claim(Principal(4), weak=True)  # the public user, until a real claim
    anonymous.claim(Principal(5), weak=True)
    assert anonymous.claimed == Principal(4)
    anonymous.claim(Principal(15))
    anonymous.claim(Principal(16))
    assert anonymous.claimed == Principal(15)
    with bridge.companies(cursor.state, (2,)):
        assert cursor.ids("sale_order") == only_2
    other = BridgedCursor(app, bridge)
    other.state.claim(Principal(15))  # salesman_a is in company 1 only
    app.rollback()
    with bridge.companies(other.state, (2,)):
        assert other.ids("sale_order") == []  # not his company: nothing
    app.rollback()


def test_a_raw_write_keeps_sight_of_its_own_row(
    app: psycopg.Connection[Any], bridge: Bridge, oracle: dict[str, Any],
) -> None:  # fmt: skip
    """Runtime 3: planned_write() sees the UPDATE behind the set_context prefix."""
    cursor = BridgedCursor(app, bridge)
    cursor.state.claim(user(oracle, "salesman_a"))
    [order] = allowed_ids(oracle, "salesman_a", "sale.order")
    # Handing the order to another salesman moves it out of his sight (Odoo allows it).
    rows = cursor.execute(
        "UPDATE sale_order SET user_id = 2, write_uid = 15,"
        " write_date = now() AT TIME ZONE 'UTC' WHERE id = %s RETURNING id",
        [order],
    ).fetchall()
    assert rows == [(order,)]
    assert cursor.state.transaction.statements == 1  # the UPDATE carried the context
    app.rollback()


def test_shadow_mode_reports_what_the_mirrors_would_deny_and_denies_nothing(
    app: psycopg.Connection[Any], oracle: dict[str, Any], all_ids: dict[str, list[int]],
) -> None:  # fmt: skip
    reports: list[str] = []
    app.add_notice_handler(lambda diag: reports.append(diag.message_primary or ""))
    bridge = Bridge(orm_file_rules(), shadow=True)
    cursor = BridgedCursor(app, bridge)
    cursor.state.claim(user(oracle, "salesman_a"))
    mine = allowed_ids(oracle, "salesman_a", "sale.order")
    assert cursor.ids("sale_order") == all_ids["sale_order"]  # nothing denied
    denied = sorted(set(all_ids["sale_order"]) - set(mine))
    shadow = [r for r in reports if r.startswith("pgpolicy shadow: would deny sale_order row ")]
    reported = sorted({int(r.split(" row ")[1].split()[0]) for r in shadow})
    assert reported == denied, [r for r in shadow if " row 33 " in r]
    rule_policies = [r for r in shadow if "(policy pgpolicy_read_rule_" in r]
    assert rule_policies and all("to uid 15" in r for r in shadow)
    reports.clear()
    assert cursor.orm_ids("sale_order") == all_ids["sale_order"]  # the ORM's: lifted, silent
    assert reports == []
    app.rollback()
    # Gates still deny: without a context there is nothing to report and nothing to see.
    nobody = BridgedCursor(app, bridge)
    assert nobody.ids("sale_order") == []
    app.rollback()


# --- the pure parts ------------------------------------------------------------------------


def test_context_text_is_made_of_checked_integers_only() -> None:
    assert Context(15, (1, 2), False).sql() == "SELECT pgpolicy.set_context(15, '{1,2}', false);"
    assert Context(1, (), True).sql() == "SELECT pgpolicy.set_context(1, '{}', true);"
    assert Context(15, (), False, shadow=True).sql() == (
        "SELECT pgpolicy.set_context(15, '{}', false, shadow => true);"
    )
    assert Context(15, (), False).sql("a" * 64, "b" * 64) == (
        f"SELECT pgpolicy.set_context(15, '{{}}', false, token => '{'a' * 64}',"
        f" next_token_hash => '{'b' * 64}');"
    )
    for bad_token in ("A" * 64, "a" * 63, "a'); SELECT 1; --" + "a" * 50):
        with pytest.raises(BridgeError):
            Context(15, (), False).sql(bad_token, "b" * 64)
    for bad in (True, 0, -3, "15", 15.0, 10**9):
        with pytest.raises(BridgeError):
            Context(bad, (), False).sql()  # type: ignore[arg-type]
        with pytest.raises(BridgeError):
            Principal(bad)  # type: ignore[arg-type]
    with pytest.raises(BridgeError):
        Context(15, ("1); DROP TABLE x; --",), False).sql()  # type: ignore[arg-type]


def test_companies_of_a_call_context() -> None:
    assert companies_from_context(None) == ()
    assert companies_from_context({}) == ()
    assert companies_from_context({"lang": "en_US"}) == ()
    assert companies_from_context({"allowed_company_ids": []}) == ()
    assert companies_from_context({"allowed_company_ids": [2, 1]}) == (2, 1)
    for bad in ("1,2", [1, "2"], [True], [0], 3):
        with pytest.raises(BridgeError):
            companies_from_context({"allowed_company_ids": bad})


def test_statement_context_rules() -> None:
    user15 = Principal(15, (1,))
    assert statement_context(None, orm=True) is None
    assert statement_context(user15, orm=False) == Context(15, (1,), False)
    assert statement_context(user15, orm=True) == Context(15, (1,), True)
    assert statement_context(SYSTEM, orm=False) == Context(1, (), True)
    assert statement_context(user15, orm=False, system=True) == Context(1, (), True)


def test_transaction_control_is_never_prefixed() -> None:
    for query in ("SAVEPOINT a", 'ROLLBACK TO SAVEPOINT "x"', "release savepoint a", "COMMIT",
                  "  -- note\n rollback", "/* x */ BEGIN", b"RELEASE SAVEPOINT b"):  # fmt: skip
        assert is_transaction_control(query), query
    for query in ("SELECT 1", "UPDATE t SET a = 1", "WITH x AS (SELECT 1) SELECT 1", "ending"):
        assert not is_transaction_control(query), query
    state = TransactionState()
    ctx = Context(15, (), False)
    sent = state.prepare(b"SELECT 1", ctx, idle=True)
    assert isinstance(sent, bytes)
    assert sent.startswith(b"CLOSE ALL;\nSELECT pgpolicy.set_context(15, '{}', false,")
    assert sent.endswith(b");\nSELECT 1")
    assert state.prepare("SAVEPOINT a", Context(15, (), True), idle=False) == "SAVEPOINT a"
    assert state.sent == ctx
    with pytest.raises(NoContextError):
        state.prepare("SELECT 1", None, idle=False)
    assert state.prepare("SELECT 1", None, idle=True) == "CLOSE ALL;\nSELECT 1"


def test_origin_reads_the_first_frame_that_is_not_a_pass_through(tmp_path: Path) -> None:
    orm = tmp_path / "orm.py"
    orm.write_text(
        "import forward\ndef run(f):\n    return f()\n"
        "def read(f):\n    return forward.execute_query(f)\n"
    )
    forward = tmp_path / "forward.py"
    forward.write_text("import sys\ndef execute_query(f):\n    return f()\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import forward as forward_module  # type: ignore[import-not-found]
        import orm as orm_module  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    rules = OriginRules(
        frozenset({str(orm.resolve())}), frozenset({(str(forward.resolve()), "execute_query")})
    )

    def here() -> bool:
        return rules.from_orm(sys._getframe(1))

    assert orm_module.run(here) is True  # called from the ORM
    assert here() is False  # called from this module
    assert forward_module.execute_query(here) is False  # module code through a pass-through
    assert orm_module.read(here) is True  # the ORM through a pass-through
    assert orm_module.run(lambda: forward_module.execute_query(here)) is False  # module code
    assert rules.from_orm(None) is False


def test_odoo_rules_know_the_orm_files(tmp_path: Path) -> None:
    (tmp_path / "odoo").mkdir()
    (tmp_path / "addons" / "web").mkdir(parents=True)
    odoo = str(tmp_path / "odoo")
    trusting = OriginRules.for_odoo(odoo, [], None)
    assert {odoo, str(tmp_path / "addons")} <= trusting.orm_files
    with pytest.raises(ValueError):
        OriginRules.for_odoo(odoo, trust="everything")
    rules = OriginRules.for_odoo(
        "/srv/odoo/odoo", ["/srv/site/framework"], "/venv/psycopg2", trust="orm"
    )
    assert "/srv/odoo/odoo" not in rules.orm_files
    assert "/srv/odoo/odoo/models.py" in rules.orm_files
    assert "/srv/odoo/odoo/addons/base/models/ir_rule.py" in rules.orm_files
    assert "/srv/site/framework" in rules.orm_files
    assert ("/srv/odoo/odoo/api.py", "execute_query") in rules.pass_through
    assert ("/venv/psycopg2/extras.py", None) in rules.pass_through


# --- Odoo versions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version_info", "series", "call_kw", "users", "cron"),
    [
        ((17, 0, 0, "final", 0, ""), "17.0", "odoo.api", "Users", "ir_cron"),
        ((18, 0, 0, "final", 0, ""), "18.0", "odoo.api", "Users", "ir_cron"),
        ((19, 0, 0, "final", 0, ""), "19.0", "odoo.service.model", "ResUsers", "IrCron"),
    ],
)
def test_the_running_version_chooses_its_hook_points(
    version_info: tuple[object, ...], series: str, call_kw: str, users: str, cron: str
) -> None:
    layout = layout_for(version_info)
    assert (layout.series, layout.major) == (series, int(series[:2]))
    assert (layout.call_kw_module, layout.users_class, layout.cron_class) == (call_kw, users, cron)
    # 17.0's _login returns the uid; 19.0 checks XML-RPC passwords with
    # _check_uid_passwd(uid, passwd), has no `db` before the cron cursor, signals in tables
    assert layout.login_returns_uid is (series == "17.0")
    assert layout.password_check == ("_check_uid_passwd" if series == "19.0" else "check")
    assert layout.password_check_uid_arg == (0 if series == "19.0" else 1)
    assert layout.cron_cursor_arg == (0 if series == "19.0" else 1)
    assert layout.signaling_in_tables is (series == "19.0")
    assert layout.json_route == ("jsonrpc" if series == "19.0" else "json")
    assert layout.json2 is (series == "19.0")  # the JSON-2 API, with a dispatcher of its own


@pytest.mark.parametrize(
    "version_info",
    [(16, 0, 0, "final", 0, ""), (20, 0, 0, "alpha", 1, ""), (17, 2, 0, "final", 0, ""),
     ("saas~18", 4, 0, "final", 0, ""), (18,)],
)  # fmt: skip
def test_any_other_version_is_refused(version_info: tuple[object, ...]) -> None:
    with pytest.raises(UnsupportedOdoo, match=r"not supported|not an Odoo version_info"):
        layout_for(version_info)
    assert SUPPORTED == ("17.0", "18.0", "19.0") == tuple(LAYOUTS) == tuple(ORM_FILES)
    assert tuple(PASS_THROUGH) == SUPPORTED


def test_each_version_knows_its_orm_files() -> None:
    """19.0 moved the ORM into odoo/orm/: its files are the ORM, its registry is not (as
    odoo/modules/registry.py is not in 17.0 and 18.0); the top-level files are re-exports."""
    root = "/srv/odoo/odoo"
    rules = {s: OriginRules.for_odoo(root, [], None, trust="orm", series=s) for s in SUPPORTED}
    for series in ("17.0", "18.0"):
        orm = rules[series].orm_files
        assert {f"{root}/models.py", f"{root}/fields.py", f"{root}/api.py"} <= orm
        assert f"{root}/osv/expression.py" in orm
        assert not any("/orm/" in path for path in orm)
    orm19 = rules["19.0"].orm_files
    assert {f"{root}/orm/models.py", f"{root}/orm/fields.py", f"{root}/orm/domains.py"} <= orm19
    assert {f"{root}/orm/environments.py", f"{root}/orm/fields_relational.py"} <= orm19
    assert f"{root}/orm/registry.py" not in orm19
    assert f"{root}/models.py" not in orm19 and f"{root}/api.py" not in orm19
    for series in SUPPORTED:
        orm = rules[series].orm_files
        assert f"{root}/addons/base/models/ir_rule.py" in orm
        assert f"{root}/addons/base/models/ir_model.py" in orm
        assert f"{root}" not in orm  # trust="orm": not the whole package
        assert (f"{root}/sql_db.py", None) in rules[series].pass_through
    # env.execute_query exists from 18.0 on; execute_query_dict forwards to it
    assert not any(fn for _, fn in rules["17.0"].pass_through)
    assert (f"{root}/api.py", "execute_query_dict") in rules["18.0"].pass_through
    assert (f"{root}/orm/environments.py", "execute_query") in rules["19.0"].pass_through
    assert (f"{root}/orm/environments.py", "execute_query_dict") in rules["19.0"].pass_through
    with pytest.raises(ValueError, match=r"no ORM files known for Odoo 16\.0"):
        OriginRules.for_odoo(root, series="16.0")


def test_the_orm_of_19_is_read_from_its_new_files(tmp_path: Path) -> None:
    """Frames in a tree shaped like 19.0's: the ORM in odoo/orm/, env.execute_query and
    execute_query_dict pass SQL through, module code stays module code."""
    odoo = tmp_path / "odoo"
    (odoo / "orm").mkdir(parents=True)
    (odoo / "orm" / "environments.py").write_text(
        "def execute_query(f):\n    return f()\n"
        "def execute_query_dict(f):\n    return execute_query(f)\n"
    )
    (odoo / "orm" / "models.py").write_text(
        "def search(f):\n    return f()\ndef read_group(f, forward):\n    return forward(f)\n"
    )
    (odoo / "orm" / "registry.py").write_text("def check_signaling(f):\n    return f()\n")
    (odoo / "models.py").write_text("def search(f):\n    return f()\n")  # a re-export
    code: dict[str, dict[str, Any]] = {}
    for name in ("orm/environments.py", "orm/models.py", "orm/registry.py", "models.py"):
        path = odoo / name
        namespace: dict[str, Any] = {}
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        code[name] = namespace
    rules = OriginRules.for_odoo(str(odoo), [], None, trust="orm", series="19.0")

    def here() -> bool:
        return rules.from_orm(sys._getframe(1))

    environments, models = code["orm/environments.py"], code["orm/models.py"]
    assert models["search"](here) is True  # the ORM
    assert models["read_group"](here, environments["execute_query"]) is True  # through it
    assert environments["execute_query"](here) is False  # module code through a pass-through
    assert environments["execute_query_dict"](here) is False  # two pass-throughs
    assert code["orm/registry.py"]["check_signaling"](here) is False  # not the ORM
    # the same code as orm/models.py's search, in another file: another verdict
    assert code["models.py"]["search"](here) is False  # 19.0's top-level files are not
    trusting = OriginRules.for_odoo(str(odoo), [], None, series="19.0")  # trust="odoo"
    assert trusting.from_orm(sys._getframe(0)) is False  # this file is not Odoo's
    assert code["orm/registry.py"]["check_signaling"](
        lambda: trusting.from_orm(sys._getframe(1))
    )  # all of Odoo's code


def test_only_databases_with_the_runtime_get_a_context() -> None:
    bridge = Bridge(orm_file_rules())
    asked: list[str] = []

    def probe(name: str, answer: bool) -> bool:
        asked.append(name)
        return answer

    assert bridge.covers("odoo", lambda: probe("odoo", True))
    assert not bridge.covers("postgres", lambda: probe("postgres", False))
    assert bridge.covers("odoo", lambda: probe("odoo", False))  # asked once per database
    assert asked == ["odoo", "postgres"]


# --- the role's health --------------------------------------------------------------------


def test_health_of_the_app_role_is_enforced(app: psycopg.Connection[Any]) -> None:
    health = role_health(app.cursor())
    assert health.enforced, health.summary()
    assert health.runtime_version == "12"
    assert health.policies > 1000 and health.protected_tables > 100
    assert health.summary().startswith("pgpolicy enforcement active for role pgpolicy_app")
    app.rollback()


def test_health_says_loudly_when_enforcement_is_void(enforced_db: Database) -> None:
    with psycopg.connect(enforced_db.dsn) as superuser:
        health = role_health(superuser.cursor())
        assert not health.enforced
        assert "role postgres is a superuser" in health.summary()
        assert health.summary().startswith("pgpolicy enforcement is VOID")
        superuser.execute("CREATE ROLE bridge_owner NOSUPERUSER BYPASSRLS LOGIN")
        superuser.execute("ALTER TABLE sale_order OWNER TO bridge_owner")
        superuser.execute("ALTER TABLE sale_order NO FORCE ROW LEVEL SECURITY")
        superuser.execute("SET ROLE bridge_owner")
        owner = role_health(superuser.cursor())
        superuser.rollback()
    assert owner.void_reasons() == [
        "role bridge_owner has BYPASSRLS",
        "role bridge_owner owns 1 protected tables without FORCE ROW LEVEL SECURITY (sale_order)",
        "role bridge_owner may not call pgpolicy.set_context (pgpolicy init --app-role)",
    ]


def test_void_is_an_error_only_for_a_serving_process(
    enforced_db: Database, app: psycopg.Connection[Any]
) -> None:
    """The owner role's install or upgrade (-i, -u) logs its void state as a WARNING; a
    serving process as ERROR; relations awaiting apply add a WARNING saying what to do."""
    with psycopg.connect(enforced_db.dsn) as superuser:
        owner = role_health(superuser.cursor())
        assert owner.pending == 0
        assert [level for level, _ in log_lines(owner, maintenance=True)] == [logging.WARNING]
        assert [level for level, _ in log_lines(owner, maintenance=False)] == [logging.ERROR]
        superuser.execute("CREATE TABLE bridge_new_module_table (id integer)")
        superuser.commit()
    serving = role_health(app.cursor())
    app.rollback()
    assert serving.enforced and serving.pending == 1
    lines = log_lines(serving, maintenance=False)
    assert [level for level, _ in lines] == [logging.INFO, logging.WARNING]
    assert lines[1][1].startswith(
        "pgpolicy: 1 relation(s) created since the last `pgpolicy apply` admit only the "
        "system principal until it runs"
    )


def test_health_without_runtime(empty_db: Database, pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.dsn(empty_db.name, user=pg_server.app_role())) as conn:
        health = role_health(conn.cursor())
    assert health.void_reasons() == [
        "the pgpolicy runtime is not installed (pgpolicy init)",
        "no pgpolicy policy is deployed (pgpolicy apply)",
    ]


def test_tokens_follow_savepoints() -> None:
    tokens = Tokens()
    first, first_hash = tokens.next_call()
    assert first is None and len(first_hash) == 64
    tokens.follow(b'SAVEPOINT "Sp 1"')
    second, _ = tokens.next_call()
    third, _ = tokens.next_call()
    assert second is not None and third is not None and second != third
    tokens.follow(b'ROLLBACK TO SAVEPOINT "Sp 1"')
    assert tokens.next_call()[0] == second  # what the database expected at the savepoint
    tokens.follow(b"savepoint INNER")
    tokens.follow(b"release savepoint inner")
    assert tokens.savepoints == [(b"Sp 1", 0)]
    tokens.follow(b"ROLLBACK TO unknown")
    with pytest.raises(BridgeError, match="savepoint the bridge did not see"):
        tokens.next_call()


# --- registry loading -----------------------------------------------------------------------


def registry_class(wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Any:
    """Odoo's way of handing out a registry (`Registry.__new__` and `Registry.new`, the same
    in 17.0, 18.0 and 19.0): `Registry(db)` takes the class lock, and `new`, `@locked`,
    publishes the registry, loads the modules and releases the lock when it returns.
    `new` is wrapped by `wrap`, as the addon wraps it."""

    class Registry:
        _lock = threading.RLock()
        registries: ClassVar[dict[str, Any]] = {}
        loading = threading.Event()

        def __init__(self, db_name: str) -> None:
            self.db_name = db_name

        @classmethod
        def get(cls, db_name: str) -> Any:  # Registry(db_name)
            with cls._lock:
                try:
                    return cls.registries[db_name]
                except KeyError:
                    return cls.new(db_name)

        def new(cls, db_name: str) -> Any:
            with cls._lock:
                registry = cls(db_name)
                cls.registries[db_name] = registry
                cls.loading.set()  # a request arrives while the modules load
                time.sleep(0.2)
                return registry

    Registry.new = classmethod(wrap(Registry.new))  # type: ignore[method-assign,assignment]
    return Registry


def public_user_seen_by_a_waiting_request(
    wrap: Callable[[Callable[..., Any], Callable[[Any], None]], Callable[..., Any]],
) -> int | None:
    """Load a registry in one thread, by `Registry.new` as the server's preload does; in
    another, a request that asked for it meanwhile (`Registry(db)`) looks up the public
    user as soon as it has the registry (an anonymous environment)."""
    public: dict[str, int] = {}

    def loaded(registry: Any) -> None:
        time.sleep(0.5)  # reading base.public_user takes a query
        public[registry.db_name] = 4

    registry_cls = registry_class(lambda original: wrap(original, loaded))
    seen: list[int | None] = []

    def request() -> None:
        registry_cls.loading.wait(10)
        seen.append(public.get(registry_cls.get("odoo").db_name))

    waiting = threading.Thread(target=request)
    waiting.start()
    registry_cls.new("odoo")  # the server loads it at start (`preload_registries`)
    waiting.join(10)
    return seen[0]


def test_a_request_waiting_for_the_registry_gets_it_with_the_public_user_known() -> None:
    """The addon's wrapper of `Registry.new` learns who an anonymous visitor stands for
    before a waiting request has the registry. Loading, then learning after the lock is
    released (as the addon did), gave the request a registry and no public user: its
    anonymous environment claimed nobody, read nothing, and Odoo 17.0 cached that no
    website exists (every page failed until restart, seen on a real 17.0)."""

    def unlocked(original: Callable[..., Any], loaded: Callable[[Any], None]) -> Any:
        def wrapped(cls: Any, *args: Any) -> Any:
            registry = original(cls, *args)
            loaded(registry)
            return registry

        return wrapped

    assert public_user_seen_by_a_waiting_request(unlocked) is None  # the race, reproduced
    assert (
        public_user_seen_by_a_waiting_request(
            lambda original, loaded: loading_registry(original, contextlib.nullcontext, loaded)
        )
        == 4
    )
