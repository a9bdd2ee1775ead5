"""What the bridge costs per statement, without Odoo's noise: the decision and the prefix.

Two numbers, each the median of interleaved runs in one process:

- the decision: `Bridge.prepare` for a statement (principal, origin read from the call
  stack, context, text), in Python;
- the prefix: a statement that carries `SELECT pgpolicy.set_context(...);` in front, in
  the same query string, against the same statement in a transaction whose context was
  set before (and, for comparison, with the call sent as a statement of its own: one
  more round trip). As the app role, on the shared database with every policy applied;
  the statement is a point read of `sale_order` by id.

    .venv/bin/python bench/bridge_statement.py --dsn "host=/tmp/pg dbname=odoo18 user=pgpolicy_app"
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from odoo_bridge.pgpolicy_bridge.lib.bridge import Bridge, CursorState
from odoo_bridge.pgpolicy_bridge.lib.context import Context, Principal
from odoo_bridge.pgpolicy_bridge.lib.origin import OriginRules

QUERY = "SELECT id, name, state FROM sale_order WHERE id = 33"


def decision_us(rounds: int) -> float:
    bridge = Bridge(OriginRules.for_odoo("/nonexistent/odoo"))
    state = CursorState()
    state.claim(Principal(16, (1, 2)))
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        bridge.prepare(state, QUERY, i % 2 == 0, sys._getframe())
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def transactions_ms(dsn: str, rounds: int) -> dict[str, float]:
    """Median time of one statement in a transaction already open, three ways."""
    context = Context(16, (1, 2), True).sql()
    arms = {  # name: (untimed opener of the transaction, timed statements)
        "context already set": (context, [QUERY]),
        "context in front": ("SELECT 1", [context + "\n" + QUERY]),
        "context on its own": ("SELECT 1", [context, QUERY]),
    }
    times: dict[str, list[float]] = {name: [] for name in arms}
    with psycopg.connect(dsn, cursor_factory=psycopg.ClientCursor) as conn:
        conn.read_only = True
        for _ in range(rounds):
            for name, (opener, statements) in arms.items():
                conn.execute(opener)
                started = time.perf_counter()
                for statement in statements:
                    conn.execute(statement)
                times[name].append(time.perf_counter() - started)
                conn.rollback()
    return {name: round(statistics.median(t) * 1000, 4) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="as the app role")
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    result = {
        "decision_us": round(decision_us(args.rounds * 10), 2),
        "transaction_ms": transactions_ms(args.dsn, args.rounds),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
