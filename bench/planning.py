"""Where the fixed cost of a policy goes: the server's planning time, RLS vs W.

The query set of `run.py`, on the database it deployed, planned (EXPLAIN (SUMMARY),
never executed) three ways, interleaved, medians:

- RLS, first statement: as the app role, the first statement after
  `pgpolicy.set_context(...)` in its transaction (what every `run.py` sample is);
- RLS, next statement: the same query again in the same transaction;
- W: as the table owner, the query with the hand-written WHERE.

Until runtime 10, `set_context` discarded the session's cached plans (DISCARD PLANS), the
plans of the PL/pgSQL plan-time functions among them, so the first statement of a
transaction planned those functions' own queries and expressions again; later statements
reused them. Since runtime 10 it does so only when a prepared statement exists
(bench/plan_cache.py). The
difference between the two RLS columns is that per-transaction cost; what the second
one leaves above W is the cost of every statement. Results: RESULTS.md.

    .venv/bin/python bench/planning.py \
        --dsn "host=/tmp/bench_pg15 port=5510 user=postgres dbname=pgpolicy_bench"
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
from typing import Any

import psycopg
from run import (
    APP_ROLE,
    LEAD,
    PARTNER,
    SET_CONTEXT,
    SO,
    assert_rls_applies,
    connect,
    queries,
    scalar,
    visible_id,
)

from pgpolicy.deploy.planner import planner_in_use, set_planner

ARMS = ("rls_first", "rls_next", "w")


def planning_ms(cur: psycopg.Cursor[Any], query: str) -> float:
    """The server's planning time of one statement, without running it."""
    cur.execute("EXPLAIN (SUMMARY, FORMAT JSON) " + query)
    row = cur.fetchone()
    assert row is not None
    return float(row[0][0]["Planning Time"])


def sample(app: psycopg.Connection[Any], owner: psycopg.Connection[Any], rls: str, w: str
           ) -> dict[str, float]:  # fmt: skip
    """One planning time per arm, each in its own transaction as `run.py` runs them."""
    with app.cursor() as cur:
        cur.execute(SET_CONTEXT)
        first = planning_ms(cur, rls)
        nxt = planning_ms(cur, rls)
    app.commit()
    with owner.cursor() as cur:
        plain = planning_ms(cur, w)
    owner.commit()
    return {"rls_first": first, "rls_next": nxt, "w": plain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dsn",
        default=os.environ.get("BENCH_DSN", ""),
        help="superuser (table owner) connection to the scaled database",
    )
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument(
        "--planner",
        choices=("sql", "c"),
        default="sql",
        help="the plan-time functions to measure (pgpolicy planner off / on)",
    )
    args = parser.parse_args()  # fmt: skip
    app_dsn = psycopg.conninfo.make_conninfo(args.dsn, user=APP_ROLE)
    with connect(args.dsn, autocommit=True) as su, connect(args.dsn) as owner, \
            connect(app_dsn) as app:  # fmt: skip
        assert_rls_applies(su, ["sale_order", "crm_lead", "res_partner"])
        if planner_in_use(su) != args.planner:
            set_planner(args.dsn, args.planner)
        ids = (visible_id(su, "sale_order", SO), visible_id(su, "crm_lead", LEAD),
               visible_id(su, "res_partner", PARTNER))  # fmt: skip
        qs = queries(*ids)
        samples: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):
            for q in random.sample(qs, len(qs)):
                for arm, ms in sample(app, owner, q.rls, q.w).items():
                    samples.setdefault((q.name, arm), []).append(ms)
        server = str(scalar(su, "SELECT version()")).split(" on ")[0]
    print(
        f"{server}; plan-time functions: {args.planner}; {args.runs} samples per cell, "
        "medians, ms; load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print()
    print("| query | RLS, first statement | RLS, next statement | W | first − next | next − W |")
    print("|---|---:|---:|---:|---:|---:|")
    for q in qs:
        first, nxt, w = (statistics.median(samples[q.name, arm]) for arm in ARMS)
        print(
            f"| {q.name} | {first:.3f} | {nxt:.3f} | {w:.3f} | {first - nxt:.3f} | {nxt - w:.3f} |"
        )


if __name__ == "__main__":
    main()
