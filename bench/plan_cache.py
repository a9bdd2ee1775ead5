"""What a transaction costs with the SQL plan-time functions: set_context and the first statement.

Every Odoo request pays, in the default configuration (no C library), `set_context` and the
planning of its first statement under the policies. Until runtime 11 `set_context` ran
`DISCARD PLANS`, so that statement also planned again every PL/pgSQL expression of the
runtime (and the next `set_context` its own). This script measures candidate designs side by
side on the same server: each candidate is a clone of the given database (an enforced Odoo
database at runtime 11 or later, SQL plan-time functions) with the candidate's SQL applied,
and the rounds alternate between them (random order in each round), so that load on the
machine falls on all of them alike.

Candidates (`CANDIDATES`):

- runtime 10: what revision 0011's downgrade puts back (DISCARD PLANS in every set_context;
  the analyst mapping looked for before the seal, the seal checked up to three times per
  plan-time call);
- runtime 9, forget only when needed: runtime 9's readers with revision 11's
  forget_context_plans() (DISCARD PLANS only when a prepared statement or the mark of a
  plan folded inside a function exists);
- runtime 11: the head as installed;
- runtime 11, a catalog write instead: revision 11's readers, and set_context invalidates
  the plans that folded a context by updating the catalog row of planned_context_key()
  (every gate folds it, and a plan depends on the functions it folded). Measured for the
  record: it writes the catalog in every transaction (refused in a read-only transaction
  and on a standby) and holds a row lock on pg_proc until the transaction ends, which
  serialises every session's set_context.

Per transaction, as the app role, for user 15 (salesman_a, company 1), timed by the client
over the local socket, medians in ms: `set_context`, the first statement (planned, run and
fetched), the same statement again, and set_context + first. Each session is measured
plain (no prepared statement: Odoo through psycopg2) and holding one prepared statement (a
driver that prepares, psycopg 3 or JDBC: every design must then forget the session's plans).
`w` is the statement as the table owner, without row-level security.

    .venv/bin/python bench/plan_cache.py --dsn "host=... dbname=odoo user=postgres" \
        --app-role pgpolicy_app --runs 200 > result.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
QUERIES = {
    "sale_order list": "SELECT id FROM sale_order ORDER BY date_order DESC, id DESC LIMIT 80",
    "res_partner list": "SELECT id, name FROM res_partner ORDER BY name LIMIT 80",
    "order lines join": (
        "SELECT l.id FROM sale_order_line l JOIN sale_order o ON o.id = l.order_id"
        " WHERE o.state = 'sale' ORDER BY l.id LIMIT 80"
    ),
}
SET_CONTEXT = "SELECT pgpolicy.set_context(15, '{1}', false)"
# Revision 10's forget_context_plans(), read from the file that installs it.
FORGET_MARK = "CREATE OR REPLACE FUNCTION pgpolicy.forget_context_plans()"
CATALOG_WRITE = """
CREATE OR REPLACE FUNCTION pgpolicy.forget_context_plans() RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$ BEGIN ALTER FUNCTION pgpolicy.planned_context_key() COST 100; END $$
"""


def forget_of_head() -> str:
    """The definition of forget_context_plans() in sql/planned_sql.sql (revision 11's)."""
    text = (SQL_DIR / "planned_sql.sql").read_text()
    start = text.index(FORGET_MARK)
    return text[start : text.index("\n$$;", start) + 4]


def candidates() -> dict[str, list[str]]:
    """Each candidate's SQL, run as the superuser on a clone of the runtime-10 database."""
    downgrade = [
        (SQL_DIR / "planned_sql_0009.sql").read_text(),
        (SQL_DIR / "runtime_0011_plan_cache_drop.sql").read_text(),
    ]
    return {
        "runtime 9": downgrade,
        "runtime 9, forget only when needed": [*downgrade, forget_of_head()],
        "runtime 11": [],
        "runtime 11, a catalog write instead": [CATALOG_WRITE],
    }


@contextmanager
def clones(dsn: str, names: list[str]) -> Iterator[dict[str, str]]:
    """A clone of the database of `dsn` per candidate (dropped afterwards): name -> dsn."""
    source = conninfo_to_dict(dsn).get("dbname")
    assert isinstance(source, str), "the DSN must name the database"
    admin = make_conninfo(dsn, dbname="postgres")
    made: dict[str, str] = {}
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            for i, name in enumerate(names):
                clone = f"{source}_plan_cache_{i}"
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(clone)))
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(clone), sql.Identifier(source)
                    )
                )
                made[name] = make_conninfo(dsn, dbname=clone)
        yield made
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for clone_dsn in made.values():
                clone = conninfo_to_dict(clone_dsn)["dbname"]
                assert isinstance(clone, str)
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(clone)))


def prepare(dsn: str, statements: list[str]) -> str:
    """Apply a candidate's SQL in one transaction; its runtime version."""
    with psycopg.connect(dsn) as conn:
        for text in statements:
            conn.execute(text.encode())  # bytes: the simple protocol, several statements
        row = conn.execute("SELECT pgpolicy.version(), pgpolicy.planner()").fetchone()
    assert row is not None and row[1] == "sql", "measure with the SQL plan-time functions"
    return str(row[0])


def timed(cur: psycopg.Cursor[Any], query: str) -> float:
    started = time.perf_counter()
    cur.execute(query)
    if cur.description is not None:
        cur.fetchall()
    return (time.perf_counter() - started) * 1000


def transaction(conn: psycopg.Connection[Any], query: str) -> dict[str, float]:
    """set_context, the statement twice, COMMIT: each round trip timed."""
    with conn.cursor() as cur:
        set_context = timed(cur, SET_CONTEXT)
        first = timed(cur, query)
        nxt = timed(cur, query)
    conn.commit()
    return {"set_context": set_context, "first": first, "next": nxt, "tx": set_context + first}


def owner_time(conn: psycopg.Connection[Any], query: str) -> float:
    with conn.cursor() as cur:
        ms = timed(cur, query)
    conn.commit()
    return ms


def app_session(dsn: str, app_role: str, prepared: bool) -> psycopg.Connection[Any]:
    # Never prepared by the driver: literal statements, as Odoo's psycopg2 sends them.
    conn = psycopg.connect(make_conninfo(dsn, user=app_role), prepare_threshold=None)
    row = conn.execute(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert row == (False,), "the app role must be subject to row-level security"
    if prepared:
        conn.execute("PREPARE kept AS SELECT 1")
    conn.commit()
    return conn


def measure(dsn: str, app_role: str, runs: int) -> dict[str, Any]:
    designs = candidates()
    with clones(dsn, list(designs)) as dsns:
        versions = {name: prepare(dsns[name], designs[name]) for name in designs}
        sessions = {
            (name, prepared): app_session(dsns[name], app_role, prepared)
            for name in designs
            for prepared in (False, True)
        }
        owner = psycopg.connect(dsn, prepare_threshold=None)
        try:
            for conn in sessions.values():  # warm up: the sessions' caches
                for query in QUERIES.values():
                    for _ in range(3):
                        transaction(conn, query)
            samples: dict[str, dict[str, list[float]]] = {}
            for _ in range(runs):
                arms = [*sessions, ("w", False)]
                for arm in random.sample(arms, len(arms)):
                    for name, query in random.sample(list(QUERIES.items()), len(QUERIES)):
                        if arm[0] == "w":
                            key = f"w|{name}"
                            samples.setdefault(key, {}).setdefault("w", []).append(
                                owner_time(owner, query)
                            )
                            continue
                        key = f"{arm[0]}|{'prepared' if arm[1] else 'plain'}|{name}"
                        for what, ms in transaction(sessions[arm], query).items():
                            samples.setdefault(key, {}).setdefault(what, []).append(ms)
        finally:
            owner.close()
            for conn in sessions.values():
                conn.close()
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT version()").fetchone()
    assert row is not None
    return {
        "server": str(row[0]).split(" on ")[0],
        "runtimes": versions,
        "runs": runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "medians_ms": {
            key: {what: round(statistics.median(values), 3) for what, values in arms.items()}
            for key, arms in sorted(samples.items())
        },
    }


def markdown(result: dict[str, Any]) -> str:
    """The medians as a table: one row per candidate, session and query."""
    medians = result["medians_ms"]
    lines = [
        f"{result['server']}; {result['runs']} rounds; load average "
        + " ".join(map(str, result["load_average"])),
        "",
        "| candidate | session | query | set_context | first | next | set_context + first | W |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, cells in medians.items():
        if key.startswith("w|"):
            continue
        name, session, query = key.split("|")
        w = medians[f"w|{query}"]["w"]
        lines.append(
            f"| {name} | {session} | {query} | {cells['set_context']:.3f} | {cells['first']:.3f}"
            f" | {cells['next']:.3f} | **{cells['tx']:.3f}** | {w:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", required=True, help="superuser connection to the database")
    parser.add_argument("--app-role", required=True)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--markdown", action="store_true", help="print the table, not JSON")
    args = parser.parse_args()
    result = measure(args.dsn, args.app_role, args.runs)
    print(markdown(result) if args.markdown else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
