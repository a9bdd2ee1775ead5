"""What the bridge costs per request: Odoo's real requests through a real Odoo 18, two ways.

Four requests the web client sends, as `salesmgr_ab` (user 16, companies 1 and 2):

- `list view`:   `sale.order.web_search_read`, the list view's fields, 80 rows;
- `form read`:   `sale.order.web_read` of one order with its lines (the form view);
- `name search`: `res.partner.name_search` of a few letters, 8 results (a many2one field);
- `write`:       `sale.order.write` of the customer reference of one order.

Two Odoo servers (threaded, no workers) run side by side on the same database:

- `plain`:    Odoo without the bridge, connected as the owner role (a superuser: no
              row-level security applies);
- `enforced`: the bridge loaded, connected as the app role: the bridge's own work and the
              policies, in the default configuration (the SQL plan-time functions unless
              the database was switched with `pgpolicy planner on`).

Rounds alternate between them (plain then enforced, then enforced then plain, ...), each
round a batch of every request in turn, so that drift of the machine weighs on both alike;
the report gives per request type the median of each server and the overhead in ms and %.

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
FORM_VIEW = {
    **LIST_VIEW, "client_order_ref": {}, "validity_date": {}, "note": {},
    "pricelist_id": {"fields": {"display_name": {}}},
    "order_line": {"fields": {"product_id": {"fields": {"display_name": {}}}, "name": {},
                              "product_uom_qty": {}, "price_unit": {}, "price_subtotal": {}}},
}  # fmt: skip
CONFIGS = {
    "plain": (("base", "web"), "owner"),
    "enforced": (("base", "web", "pgpolicy_bridge"), "app"),
}
COMPANIES = [1, 2]
REQUESTS = ("list view", "form read", "name search", "write")


class Requests:
    """The four requests of one user on one server; each returns what it read."""

    def __init__(self, user: OdooSession) -> None:
        self.user = user
        found = self.list_view()
        self.order = int(found["records"][0]["id"])
        self.writes = 0

    def list_view(self) -> Any:
        return self.user.call(
            "sale.order", "web_search_read", [], LIST_VIEW, limit=80, order="date_order desc",
            count_limit=10001, companies=COMPANIES,
        )  # fmt: skip

    def run(self, kind: str) -> Any:
        if kind == "list view":
            return self.list_view()["length"]
        if kind == "form read":
            return self.user.call(
                "sale.order", "web_read", [self.order], FORM_VIEW, companies=COMPANIES
            )[0]["name"]
        if kind == "name search":
            return self.user.call(
                "res.partner", "name_search", name="Deco", limit=8, companies=COMPANIES
            )
        self.writes += 1
        return self.user.call(
            "sale.order", "write", [self.order], {"client_order_ref": f"bench {self.writes}"},
            companies=COMPANIES,
        )  # fmt: skip


def batch(requests: Requests, per_round: int) -> dict[str, list[float]]:
    """`per_round` of each request, interleaved by kind: ms each."""
    times: dict[str, list[float]] = {kind: [] for kind in REQUESTS}
    for _ in range(per_round):
        for kind in REQUESTS:
            started = time.perf_counter()
            requests.run(kind)
            times[kind].append((time.perf_counter() - started) * 1000)
    return times


def answers(requests: Requests) -> dict[str, Any]:
    """What each read request answers (the same on both servers, or the comparison is void)."""
    return {kind: requests.run(kind) for kind in REQUESTS if kind != "write"}


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
    parser.add_argument("--per-round", type=int, default=10, help="of each request")
    parser.add_argument("--warmup", type=int, default=2, help="rounds, not counted")
    parser.add_argument("--rounds", type=int, default=20)
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
    samples: dict[str, dict[str, list[float]]] = {n: {k: [] for k in REQUESTS} for n in CONFIGS}
    with tempfile.TemporaryDirectory(prefix="pgpolicy-bridge-bench-") as workdir:
        servers = {
            name: OdooServer(
                src, python, args.db_host, args.db_port, args.dbname, Path(workdir) / name, load
            )
            for name, (load, _) in CONFIGS.items()
        }
        try:
            for name, server in servers.items():
                server.workdir.mkdir()
                server.start(roles[CONFIGS[name][1]], "--max-cron-threads", "0")
            sessions = {
                name: Requests(OdooSession(server).login("salesmgr_ab"))
                for name, server in servers.items()
            }
            seen = {name: answers(requests) for name, requests in sessions.items()}
            assert seen["plain"] == seen["enforced"], seen
            admin = OdooSession(servers["enforced"]).login("admin")
            before = status(admin)
            for round_ in range(args.warmup + args.rounds):
                order = list(CONFIGS) if round_ % 2 == 0 else list(CONFIGS)[::-1]
                for name in order:
                    times = batch(sessions[name], args.per_round)
                    if round_ >= args.warmup:
                        for kind, values in times.items():
                            samples[name][kind] += values
                print(f"round {round_ + 1}", flush=True)
            after = status(admin)
        finally:
            for server in servers.values():
                server.stop()
    report = summarize(samples)
    report.update(
        {
            "user": "salesmgr_ab (16), companies [1, 2]",
            "answers": seen["plain"],
            "python": platform.python_version(),
            "rounds": args.rounds,
            "per_round": args.per_round,
        }
    )
    if before and after:
        requests = args.rounds * args.per_round * len(REQUESTS)
        report["statements_per_request"] = round(
            (after["statements"] - before["statements"]) / requests, 2
        )
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(markdown(report))


def summarize(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """Per request type: each server's median and p90, the overhead in ms and %."""
    result: dict[str, Any] = {"requests": {}}
    for kind in REQUESTS:
        cells = {}
        for name in CONFIGS:
            values = sorted(samples[name][kind])
            cells[name] = {
                "median_ms": round(statistics.median(values), 3),
                "p90_ms": round(values[int(len(values) * 0.9)], 3),
                "n": len(values),
            }
        plain, enforced = cells["plain"]["median_ms"], cells["enforced"]["median_ms"]
        cells["overhead_ms"] = round(enforced - plain, 3)
        cells["overhead_pct"] = round((enforced - plain) / plain * 100, 1)
        result["requests"][kind] = cells
    return result


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| request | plain ms | enforced ms | overhead ms | overhead % |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, cells in report["requests"].items():
        lines.append(
            f"| {kind} | {cells['plain']['median_ms']:.1f} | {cells['enforced']['median_ms']:.1f}"
            f" | {cells['overhead_ms']:+.1f} | {cells['overhead_pct']:+.1f} % |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
