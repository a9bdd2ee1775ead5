"""What the bridge costs per request: a list-view RPC, through a real Odoo 18, three ways.

The request is the one the web client sends to open the Sales list: `web_search_read` on
`sale.order` with the list view's fields, 80 rows, as `salesmgr_ab` (user 16, companies 1
and 2, who sees 33 orders). Each configuration is one Odoo server (threaded, no workers),
measured after a warm-up; configurations are run in turn, twice, to expose drift:

- `plain`:    Odoo without the bridge, connected as the owner role (a superuser: no
              row-level security applies);
- `bridge`:   the bridge loaded, same superuser role: the bridge's own work (hooks, the
              `set_context` prefix, DISCARD PLANS), with the policies bypassed;
- `enforced`: the bridge loaded, connected as the app role: the bridge and the policies
              (the context gate on every table; mirrors planned away for the ORM's
              statements).

The database is a restored copy of `shared/odoo18/odoo18.dump`; `--prepare` installs the
runtime, applies the policies and sets the test users' password (tests/odoo_run.py).

    PGPOLICY_ODOO_SRC=/path/to/odoo-18 PGPOLICY_ODOO_PYTHON=/path/to/odoo-venv/bin/python \\
    .venv/bin/python bench/bridge.py --db-host /tmp/pg --db-port 5432 --dbname odoo18 --prepare
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from psycopg.conninfo import make_conninfo

from tests.odoo_run import OdooServer, OdooSession, odoo_paths, prepare_database

LIST_VIEW = {
    "name": {}, "date_order": {}, "partner_id": {"fields": {"display_name": {}}},
    "user_id": {"fields": {"display_name": {}}}, "company_id": {"fields": {"display_name": {}}},
    "amount_total": {}, "currency_id": {"fields": {}}, "state": {}, "invoice_status": {},
}  # fmt: skip
CONFIGS = {
    "plain": (("base", "web"), "owner"),
    "bridge": (("base", "web", "pgpolicy_bridge"), "owner"),
    "enforced": (("base", "web", "pgpolicy_bridge"), "app"),
}


def list_view(user: OdooSession) -> int:
    result = user.call(
        "sale.order", "web_search_read", [], LIST_VIEW, limit=80, order="date_order desc",
        count_limit=10001, companies=[1, 2],
    )  # fmt: skip
    return int(result["length"])


def measure(server: OdooServer, requests: int, warmup: int) -> dict[str, Any]:
    user = OdooSession(server).login("salesmgr_ab")
    admin = OdooSession(server).login("admin")
    rows = {list_view(user) for _ in range(warmup)}
    before = status(admin)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        list_view(user)
        times.append((time.perf_counter() - started) * 1000)
    after = status(admin)
    times.sort()
    measured: dict[str, Any] = {
        "rows": sorted(rows),
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[int(len(times) * 0.9)], 3),
        "mean_ms": round(statistics.fmean(times), 3),
    }
    if before and after:
        # The status calls themselves are requests too: two of them between the readings.
        measured["statements_per_request"] = round(
            (after["statements"] - before["statements"]) / (requests + 1), 2
        )
        measured["contexts_per_request"] = round(
            (after["contexts_sent"] - before["contexts_sent"]) / (requests + 1), 2
        )
    return measured


def status(admin: OdooSession) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = admin.call("pgpolicy.bridge", "status")
    except Exception:
        return None  # the bridge is not loaded in this configuration
    return result if "statements" in result else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-host", required=True)
    parser.add_argument("--db-port", type=int, default=5432)
    parser.add_argument("--dbname", required=True)
    parser.add_argument("--superuser", default="postgres", help="for --prepare")
    parser.add_argument("--owner", default="odoo_owner")
    parser.add_argument("--app-role", default="pgpolicy_app")
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("bridge-results.json"))
    args = parser.parse_args()
    paths = odoo_paths()
    if paths is None:
        parser.error("set PGPOLICY_ODOO_SRC and PGPOLICY_ODOO_PYTHON")
    src, python = paths
    if args.prepare:
        dsn = make_conninfo(
            host=args.db_host, port=args.db_port, dbname=args.dbname, user=args.superuser
        )
        prepare_database(dsn, args.app_role, args.owner, python)
    roles = {"owner": args.owner, "app": args.app_role}
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in CONFIGS}
    with tempfile.TemporaryDirectory(prefix="pgpolicy-bridge-bench-") as workdir:
        for round_ in range(args.rounds):
            for name, (load, role) in CONFIGS.items():
                server = OdooServer(
                    src, python, args.db_host, args.db_port, args.dbname, Path(workdir), load
                )
                server.start(roles[role], "--max-cron-threads", "0")
                try:
                    measured = measure(server, args.requests, args.warmup)
                finally:
                    server.stop()
                measured["round"] = round_ + 1
                results[name].append(measured)
                print(name, json.dumps(measured), flush=True)
    summary = {
        name: statistics.median(r["median_ms"] for r in runs) for name, runs in results.items()
    }
    report = {
        "request": "sale.order web_search_read, list view fields, limit 80, as salesmgr_ab",
        "python": platform.python_version(),
        "requests_per_run": args.requests,
        "results": results,
        "median_ms": summary,
        "bridge_overhead_ms": round(summary["bridge"] - summary["plain"], 3),
        "enforced_overhead_ms": round(summary["enforced"] - summary["plain"], 3),
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("median_ms", "bridge_overhead_ms",
                                             "enforced_overhead_ms")}))  # fmt: skip


if __name__ == "__main__":
    main()
