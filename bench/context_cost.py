"""What the sealed context costs each statement (runtime 6 against runtime 5).

On an enforced Odoo database (the shared dump is enough: the cost is per statement, not per
row), as the app role for salesman_a, in each of `--runs` transactions, interleaved over the
queries, medians in ms:

- set_context: the call, timed by the client over the local socket (runtime 6 computes the
  seal, and on a transaction's first call looks for the lock);
- first / next: the server's planning time of the query as the first statement after
  set_context and again (the plan-time functions check the seal: in SQL at every call,
  in C once per transaction and context);
- execute: the server's execution time (the gate checks the seal once per statement).

Run it on the database as it is (whatever runtime revision and plan-time functions are in
place) and compare:

    .venv/bin/python bench/context_cost.py --dsn "host=... dbname=... user=postgres" \
        --app-role pgpolicy_app --runs 200
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

QUERIES = {
    "sale_order list": "SELECT id FROM sale_order ORDER BY date_order DESC, id DESC LIMIT 80",
    "res_partner list": "SELECT id, name FROM res_partner ORDER BY name LIMIT 80",
    "order lines join": (
        "SELECT l.id FROM sale_order_line l JOIN sale_order o ON o.id = l.order_id"
        " WHERE o.state = 'sale' ORDER BY l.id LIMIT 80"
    ),
}
SET_CONTEXT = "SELECT pgpolicy.set_context(15, '{1}', false)"


def explain(cur: psycopg.Cursor[Any], query: str, analyze: bool) -> dict[str, Any]:
    options = "ANALYZE, SUMMARY, FORMAT JSON" if analyze else "SUMMARY, FORMAT JSON"
    cur.execute(f"EXPLAIN ({options}) {query}")
    row = cur.fetchone()
    assert row is not None
    plan: dict[str, Any] = row[0][0]
    return plan


def sample(app: psycopg.Connection[Any], query: str) -> dict[str, float]:
    """One transaction: set_context, the query planned twice, then run."""
    with app.cursor() as cur:
        started = time.perf_counter()
        cur.execute(SET_CONTEXT)
        set_context = (time.perf_counter() - started) * 1000
        first = explain(cur, query, analyze=False)["Planning Time"]
        nxt = explain(cur, query, analyze=False)["Planning Time"]
        execute = explain(cur, query, analyze=True)["Execution Time"]
    app.commit()
    return {"set_context": set_context, "first": first, "next": nxt, "execute": execute}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", required=True, help="superuser connection to the database")
    parser.add_argument("--app-role", required=True)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with psycopg.connect(args.dsn, autocommit=True) as su:
        row = su.execute("SELECT pgpolicy.version(), pgpolicy.planner(), version()").fetchone()
        assert row is not None
        runtime, planner, server = row
    with psycopg.connect(make_conninfo(args.dsn, user=args.app_role)) as app:
        flags = app.execute(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert flags == (False,), "the app role must be subject to row-level security"
        app.rollback()
        for query in QUERIES.values():  # warm up: the session's caches
            sample(app, query)
        samples: dict[str, dict[str, list[float]]] = {name: {} for name in QUERIES}
        for _ in range(args.runs):
            for name in random.sample(list(QUERIES), len(QUERIES)):
                for arm, ms in sample(app, QUERIES[name]).items():
                    samples[name].setdefault(arm, []).append(ms)
    result = {
        "server": str(server).split(" on ")[0],
        "runtime": runtime,
        "planner": planner,
        "runs": args.runs,
        "medians_ms": {
            name: {arm: round(statistics.median(values), 3) for arm, values in arms.items()}
            for name, arms in samples.items()
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
