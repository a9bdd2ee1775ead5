"""Restore the Odoo 18 sample and scale it up by cloning rows, keeping the distributions.

Every original row of `res_partner`, `sale_order`, `sale_order_line` and
`crm_lead` is copied k = 1..n times with ids shifted by k × (max id + 1), so
company, salesperson and partner distributions stay those of the sample and
every copy is a consistent clone: partner contacts point to the parent of the
same copy, order lines to the order of the same copy, orders and leads to the
partners of copy k mod (partner copies). Names get unique suffixes
(`S0012345`, `… P0012345`, `… L0012345`) so a substring search finds a few
rows, as in a real database.

The tables keep the indexes Odoo created (dropped during the load and
recreated from their own definitions, which is just faster). Trigram indexes
are added where Odoo has none for a searched name (res_partner): they exist for
both arms of the benchmark alike, so the comparison stays fair.

    /tmp/venv/bin/python bench/scale.py --dsn "host=/tmp/bench_pg15 port=5510 user=postgres"
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

DUMP = Path(__file__).resolve().parents[2] / "shared" / "odoo18" / "odoo18.dump"

# Substitutions per cloned column, over the original row `t` and the copy number `k`.
# {stride} is the table's id stride; {p_stride}/{p_copies} are res_partner's.
PARTNER_REF = "t.{c} + (k % {p_copies}) * {p_stride}"
SHIFT = "t.{c} + k * {stride}"


@dataclass(frozen=True)
class Clone:
    """How to clone one table: extra copies are (target / original rows) - 1."""

    table: str
    target: int
    columns: dict[str, str]  # column -> SQL expression template
    renames: str | None = None  # expression giving the unique name of a row of id `x`


def clones(orders: int, partners: int, leads: int, lines: bool) -> list[Clone]:
    """The tables to scale, partners first (other tables point to partner copies)."""
    partner = Clone(
        "res_partner",
        partners,
        {"id": SHIFT, "parent_id": SHIFT, "commercial_partner_id": SHIFT,
         "name": "t.name || ' P' || lpad((t.id + k * {stride})::text, 7, '0')",
         "complete_name": "t.complete_name || ' P' || lpad((t.id + k * {stride})::text, 7, '0')"},
    )  # fmt: skip
    order = Clone(
        "sale_order",
        orders,
        {"id": SHIFT, "name": "'S' || lpad((t.id + k * {stride})::text, 7, '0')",
         "partner_id": PARTNER_REF, "partner_invoice_id": PARTNER_REF,
         "partner_shipping_id": PARTNER_REF,
         # spread over about a year, like a live database
         "date_order": "t.date_order - k * interval '17 minutes'"},
    )  # fmt: skip
    line = Clone(
        "sale_order_line",
        0,  # as many copies as orders
        {"id": SHIFT, "order_id": "t.order_id + k * {o_stride}",
         "linked_line_id": SHIFT, "order_partner_id": PARTNER_REF},
    )  # fmt: skip
    lead = Clone(
        "crm_lead",
        leads,
        {"id": SHIFT, "partner_id": PARTNER_REF,
         "name": "t.name || ' L' || lpad((t.id + k * {stride})::text, 7, '0')"},
    )  # fmt: skip
    return [partner, order, line, lead] if lines else [partner, order, lead]


# Indexes Odoo does not create but a fair substring-search comparison needs (both arms).
EXTRA_INDEXES = {
    "res_partner": [("res_partner__name_trgm_bench", "name"),
                    ("res_partner__complete_name_trgm_bench", "complete_name")],
}  # fmt: skip


def restore(maintenance_dsn: str, db: str, pg_bin: Path, dump: Path) -> str:
    """A fresh database restored from the dump; returns its DSN."""
    with psycopg.connect(maintenance_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    dsn = psycopg.conninfo.make_conninfo(maintenance_dsn, dbname=db)
    subprocess.run(
        [str(pg_bin / "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         "-d", dsn, str(dump)],
        check=True,
    )  # fmt: skip
    return dsn


def columns_of(conn: psycopg.Connection[Any], table: str) -> list[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        [table],
    )
    return [name for (name,) in rows]


def scalar(conn: psycopg.Connection[Any], query: str, table: str) -> int:
    """`query` with `{}` standing for the table; the one integer it returns."""
    row = conn.execute(sql.SQL(query).format(sql.Identifier(table))).fetchone()
    assert row is not None and row[0] is not None, (query, table)
    return int(row[0])


def secondary_indexes(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes that back no constraint: safe to drop and recreate."""
    rows = conn.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
        [table],
    )
    return [(name, definition) for name, definition in rows]


def clone_table(conn: psycopg.Connection[Any], clone: Clone, copies: int,
                params: dict[str, int]) -> None:  # fmt: skip
    """INSERT … SELECT the n copies of every original row in one statement."""
    cols = columns_of(conn, clone.table)
    exprs = [
        sql.SQL(clone.columns[c]).format(c=sql.Identifier(c), **{
            k: sql.Literal(v) for k, v in params.items()})
        if c in clone.columns else sql.SQL("t.{}").format(sql.Identifier(c))
        for c in cols
    ]  # fmt: skip
    conn.execute(
        sql.SQL(
            "INSERT INTO {table} ({cols}) SELECT {exprs} FROM {table} t "
            "CROSS JOIN generate_series(1, {copies}) k WHERE t.id <= {top}"
        ).format(
            table=sql.Identifier(clone.table),
            cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
            exprs=sql.SQL(", ").join(exprs),
            copies=sql.Literal(copies),
            top=sql.Literal(params["stride"] - 1),
        )
    )
    # The originals get the same naming scheme as their copies (k = 0).
    renamed = [c for c in ("name", "complete_name") if c in clone.columns]
    if renamed:
        conn.execute(
            sql.SQL(
                "UPDATE {table} t SET {sets} FROM generate_series(0, 0) k WHERE t.id <= {top}"
            ).format(
                table=sql.Identifier(clone.table),
                sets=sql.SQL(", ").join(
                    sql.SQL("{} = {}").format(
                        sql.Identifier(c),
                        sql.SQL(clone.columns[c]).format(
                            **{k: sql.Literal(v) for k, v in params.items()}),
                    ) for c in renamed),
                top=sql.Literal(params["stride"] - 1),
            )
        )  # fmt: skip


def scale(dsn: str, orders: int, partners: int, leads: int, lines: bool) -> dict[str, int]:
    """Clone the tables, rebuild their indexes, vacuum and analyze; returns row counts."""
    plan = clones(orders, partners, leads, lines)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers while cloning
        conn.execute("SET maintenance_work_mem = '1GB'")
        originals = {c.table: scalar(conn, "SELECT count(*) FROM {}", c.table) for c in plan}
        strides = {c.table: scalar(conn, "SELECT max(id) FROM {}", c.table) + 1 for c in plan}
        copies = {c.table: max(0, math.ceil(c.target / originals[c.table]) - 1) for c in plan}
        copies["sale_order_line"] = copies["sale_order"]
        params = {
            "p_stride": strides["res_partner"],
            "p_copies": copies["res_partner"] + 1,
            "o_stride": strides["sale_order"],
        }
        for clone in plan:
            started = time.monotonic()
            indexes = secondary_indexes(conn, clone.table)
            for name, _ in indexes:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            clone_table(conn, clone, copies[clone.table],
                        {**params, "stride": strides[clone.table]})  # fmt: skip
            for _, definition in indexes:
                conn.execute(definition)  # PostgreSQL's own rendering of Odoo's index
            for name, column in EXTRA_INDEXES.get(clone.table, []):
                conn.execute(
                    sql.SQL("CREATE INDEX {} ON {} USING gin ({} gin_trgm_ops)").format(
                        sql.Identifier(name), sql.Identifier(clone.table), sql.Identifier(column)
                    )
                )
            conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({t}, 'id'), (SELECT max(id) FROM {i}))"
                ).format(t=sql.Literal(clone.table), i=sql.Identifier(clone.table))
            )
            elapsed = time.monotonic() - started
            print(f"{clone.table}: x{copies[clone.table] + 1} in {elapsed:.1f} s", flush=True)
        conn.execute("VACUUM (ANALYZE)")
        return {c.table: scalar(conn, "SELECT count(*) FROM {}", c.table) for c in plan}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dsn",
        default=os.environ.get("BENCH_DSN", ""),
        help="superuser connection to the server (maintenance database)",
    )
    parser.add_argument("--db", default="pgpolicy_bench")
    parser.add_argument("--pg-bin", type=Path, default=Path("/usr/lib/postgresql/15/bin"))
    parser.add_argument("--dump", type=Path, default=DUMP)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, help="default: orders / 2")
    parser.add_argument("--leads", type=int, help="default: orders / 2")
    parser.add_argument("--no-lines", action="store_true", help="do not clone order lines")
    args = parser.parse_args()
    started = time.monotonic()
    dsn = restore(args.dsn, args.db, args.pg_bin, args.dump)
    counts = scale(dsn, args.orders, args.partners or args.orders // 2,
                   args.leads or args.orders // 2, not args.no_lines)  # fmt: skip
    print(", ".join(f"{t} {n:,}" for t, n in counts.items()),
          f"— {time.monotonic() - started:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
