"""Read replicas: a real streaming standby (`pg_basebackup -R`) enforces what the primary does.

Odoo 18 sends read-only requests to `db_replica_host` / `db_replica_port`, a hot standby.
The standby is a physical copy: the runtime, the policies, the grants and the context's
key are there. What this checks: the app role on the standby reads nothing without a
context, reads through the bridge (its tokens, its statements, raw SQL and the ORM's) the
same rows as on the primary, which are the oracle's; a context written by hand is none
there either; and `set_context` writes nothing (a standby refuses every write: a
transaction that wrote would fail). With the C plan-time functions too, when the library
can be built (it is loaded from the standby's own library directory).

Its own primary (the test bed's servers run with `wal_level = minimal`), with the Odoo
database restored and enforced, then a standby streaming from it.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from odoo_bridge.pgpolicy_bridge.lib.bridge import Bridge
from odoo_bridge.pgpolicy_bridge.lib.context import SYSTEM
from pgpolicy.deploy.planner import set_planner
from tests.conftest import (
    PgServer,
    as_server_user,
    check_rls_effective,
    create_database,
    enforce,
    install_planner,
    run,
)
from tests.odoo_run import OdooServer, OdooSession, log_problems, odoo_paths, prepare_database
from tests.test_bridge import BridgedCursor, orm_file_rules, user
from tests.test_oracle import allowed_ids

OWNER = "odoo_owner"  # runs `-i` (Odoo refuses to connect as `postgres`)
REPLICATION = {"wal_level": "replica", "max_wal_senders": "4", "hot_standby": "on"}
CASES = [
    ("salesman_a", "sale.order", "sale_order"),
    ("salesmgr_ab", "sale.order", "sale_order"),
    ("portal_user", "sale.order", "sale_order"),
    ("portal_user", "account.move", "account_move"),
    ("accountant_b", "account.move", "account_move"),
]


@dataclass
class Pair:
    primary: PgServer
    standby_dir: Path
    standby_port: int
    dbname: str
    app_role: str

    def dsn(self, on_standby: bool, user: str | None = None) -> str:
        dsn = self.primary.dsn(self.dbname, user=user)
        if on_standby:
            dsn = make_conninfo(dsn, port=self.standby_port)
        return dsn


def configure(datadir: Path, settings: dict[str, str]) -> None:
    with (datadir / "postgresql.auto.conf").open("a") as conf:
        conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())


def pg_ctl(server: PgServer, datadir: Path, *args: str) -> None:
    logfile = datadir.parent / f"{datadir.name}.log"
    run(
        as_server_user([str(server.bindir / "pg_ctl"), *args, "-w", "-t", "120",
                        "-D", str(datadir), "-l", str(logfile)]),
        f"pg_ctl {args[0]} {datadir}", cwd=server.rundir,
    )  # fmt: skip


def wait_for_replay(pair: Pair) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    with psycopg.connect(pair.dsn(False), autocommit=True) as primary:
        # Inserted, not only written: the test servers commit asynchronously.
        target = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
    deadline = time.monotonic() + 120
    with psycopg.connect(pair.dsn(True), autocommit=True) as standby:
        while time.monotonic() < deadline:
            row = standby.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target and target[0]]
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.2)
    raise AssertionError("the standby did not catch up in 2 minutes")


@pytest.fixture(scope="module")
def pair(pg_server: PgServer, shared_dir: Path) -> Iterator[Pair]:
    primary = PgServer.start(pg_server.version)
    standby_dir = primary.rundir / "standby"
    started = False
    try:
        configure(primary.datadir, REPLICATION)
        pg_ctl(primary, primary.datadir, "restart", "-m", "fast")
        template = primary.odoo_template(shared_dir / "odoo18" / "odoo18.dump")
        db = create_database(primary, "replica", template=template)
        app_role = primary.app_role()
        enforce(db.dsn, app_role)
        run(
            as_server_user([str(primary.bindir / "pg_basebackup"), "-D", str(standby_dir), "-R",
                            "-X", "stream", "-h", primary.host, "-p", str(primary.port),
                            "-U", primary.superuser, "--no-sync", "-c", "fast"]),
            "pg_basebackup", cwd=primary.rundir,
        )  # fmt: skip
        standby_port = primary.port + 1000  # same socket directory, another socket
        configure(standby_dir, {"port": str(standby_port)})
        pg_ctl(primary, standby_dir, "start")
        started = True
        result = Pair(primary, standby_dir, standby_port, db.name, app_role)
        wait_for_replay(result)
        yield result
    finally:
        if started:
            stop_standby(primary, standby_dir)
        primary.stop()
        shutil.rmtree(standby_dir, ignore_errors=True)


def stop_standby(server: PgServer, datadir: Path) -> None:
    with contextlib.suppress(RuntimeError):  # already stopped
        pg_ctl(server, datadir, "stop", "-m", "immediate")


def bridged(dsn: str) -> tuple[psycopg.Connection[Any], BridgedCursor]:
    conn = psycopg.connect(dsn, cursor_factory=psycopg.ClientCursor)
    return conn, BridgedCursor(conn, Bridge(orm_file_rules()))


def reads(pair: Pair, on_standby: bool, login: str, table: str, oracle: Any) -> dict[str, Any]:
    """What the app role reads of `table` through the bridge as `login`: raw SQL (module
    code), the ORM's statements, the system block; and the transaction's read-only flag."""
    conn, cursor = bridged(pair.dsn(on_standby, user=pair.app_role))
    with conn:
        check_rls_effective(conn, [table])
        cursor.state.claim(user(oracle, login))
        raw = cursor.ids(table)
        orm = cursor.orm_ids(table)
        read_only = cursor.execute("SHOW transaction_read_only").fetchone()
        conn.rollback()
        with cursor.bridge.system():
            everything = cursor.ids(table)
        conn.rollback()
    return {"raw": raw, "orm": orm, "system": everything, "read_only": read_only}


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_the_standby_enforces_what_the_primary_does(
    pair: Pair, oracle: dict[str, Any], planner: str
) -> None:
    if planner == "c":
        why_not = install_planner(pair.primary)
        if why_not is not None:
            pytest.skip(f"pgpolicy_planner not available: {why_not}")
    assert set_planner(pair.dsn(False), planner) == planner
    wait_for_replay(pair)
    with psycopg.connect(pair.dsn(True)) as standby:
        in_place = standby.execute("SELECT pg_is_in_recovery(), pgpolicy.planner()").fetchone()
        assert in_place == (True, planner)
    restricted = 0
    for login, model, table in CASES:
        primary = reads(pair, False, login, table, oracle)
        replica = reads(pair, True, login, table, oracle)
        assert replica["read_only"] == ("on",)  # a standby: set_context wrote nothing
        assert replica["raw"] == primary["raw"] == allowed_ids(oracle, login, model), login
        assert replica["orm"] == primary["orm"], login
        assert replica["system"] == primary["system"]
        restricted += len(replica["raw"]) < len(replica["system"])
    assert restricted >= 3  # most of them are denied some rows


def test_on_the_standby_no_context_and_a_forged_one_read_nothing(pair: Pair) -> None:
    with psycopg.connect(pair.dsn(True, user=pair.app_role)) as standby:
        check_rls_effective(standby, ["sale_order"])
        count = sql.SQL("SELECT count(*) FROM sale_order")
        assert standby.execute(count).fetchone() == (0,)
        standby.rollback()
        standby.execute("SELECT set_config('pgpolicy.uid', '2', true)")
        standby.execute("SET LOCAL pgpolicy.su = 'true'")
        assert standby.execute(count).fetchone() == (0,)
        standby.rollback()
        # The bridge's lock holds there too: a second set_context without the token fails.
        conn, cursor = bridged(pair.dsn(True, user=pair.app_role))
        with conn:
            cursor.state.claim(SYSTEM)
            assert cursor.ids("sale_order")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is locked"):
                conn.execute("SELECT pgpolicy.set_context(2, '{1}', true)")


@pytest.mark.skipif(
    odoo_paths() is None,
    reason="set PGPOLICY_ODOO_SRC (an Odoo 18 tree) and PGPOLICY_ODOO_PYTHON to run Odoo",
)
@pytest.mark.xdist_group("odoo")
def test_odoo_serves_read_only_requests_from_the_standby(
    pair: Pair, oracle: dict[str, Any], tmp_path: Path
) -> None:
    """Odoo 18 with `db_replica_host` / `db_replica_port` at the standby, the bridge loaded,
    serving as the app role: raw SQL in a read-only request (`@api.readonly`) runs on the
    standby and returns the oracle's ids, as the same request on the primary does; no
    ERROR, and no retry on the primary (Odoo retries a read-only request that tried to
    write on a read/write cursor, with a WARNING)."""
    if pair.primary.version != 15:
        pytest.skip("the Odoo scenarios run once, on PostgreSQL 15")
    paths = odoo_paths()
    assert paths is not None
    src, python = paths
    prepare_database(pair.dsn(False), pair.app_role, OWNER, python)
    server = OdooServer(src, python, pair.primary.host, pair.primary.port, pair.dbname, tmp_path)
    try:
        server.run_once("install", OWNER, "-i", "pgpolicy_bridge,pgpolicy_bridge_probe")
        wait_for_replay(pair)
        server.start(pair.app_role, "--db_replica_host", pair.primary.host,
                     "--db_replica_port", str(pair.standby_port))  # fmt: skip
        for login, model, table in CASES:
            session = OdooSession(server).login(login)
            companies = oracle["users"][login]["allowed_company_ids"]
            replica = session.call("pgpolicy.bridge.probe", "readonly_ids", table,
                                   companies=companies)  # fmt: skip
            assert replica["in_recovery"] is True, login  # served by the standby
            assert replica["ids"] == allowed_ids(oracle, login, model), login
            primary = session.call("pgpolicy.bridge.probe", "raw_ids", table,
                                   companies=companies)  # fmt: skip
            assert primary == replica["ids"], login
        log = server.log_text()
        assert log_problems(log) == []
        assert "retrying with a read/write cursor" not in log
    finally:
        server.stop()
