"""Opt-in: the LIKE-family operator functions marked LEAKPROOF, so substring search under
row-level security can use its index.

PostgreSQL evaluates a query's own conditions after the policies unless their functions are
LEAKPROOF; `textlike`, `texticlike` and the other functions behind `LIKE`/`ILIKE` are not,
so `name ILIKE '%S0012%'` under RLS cannot use a trigram index and filters every row the
policies admit (30-300x slower on a million orders, bench/RESULTS.md). Marking them
LEAKPROOF is a database-wide superuser decision; docs/semantics.md ("Substring search")
states what it can reveal: whether a value used as the *pattern* ends with the escape
character. pgpolicy never does it unasked: `pgpolicy like-leakproof on|off|show`.

Only pg_catalog's own operators count: an operator another role creates elsewhere
(`CREATE OPERATOR public.~~ (..., FUNCTION = pg_catalog.to_date)`) would otherwise steer
`on` into marking an unrelated function LEAKPROOF. `on` records each function it marks and
its flag before (`pgpolicy.leakproof_before`, runtime revision 6); `off`, and the
downgrade of that revision, put back exactly that (sql/leakproof_restore.sql).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.db import connect
from pgpolicy.deploy.roles import MANAGED_MODE, deployment_mode, require_superuser
from pgpolicy.errors import PgPolicyError
from pgpolicy.resources import sql_dir

# The operators of LIKE, ILIKE, NOT LIKE and NOT ILIKE, on the types Odoo's columns use
# (varchar and text through text, char through bpchar); bytea and name are left alone.
_LIKE_FUNCTIONS = """
SELECT DISTINCT p.oid::regprocedure::text, p.proleakproof
  FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode
 WHERE o.oprname IN ('~~', '~~*', '!~~', '!~~*')
   AND o.oprnamespace = 'pg_catalog'::regnamespace
   AND o.oprleft IN ('pg_catalog.text'::regtype, 'pg_catalog.bpchar'::regtype)
   AND p.pronamespace = 'pg_catalog'::regnamespace
 ORDER BY 1
"""


@dataclass(frozen=True)
class LikeFunction:
    """One function behind a LIKE-family operator and whether it is LEAKPROOF now."""

    signature: str  # e.g. texticlike(text,text), as regprocedure renders it
    leakproof: bool


def like_functions(conn: psycopg.Connection[Any]) -> list[LikeFunction]:
    """The LIKE-family operator functions of the connected database."""
    return [LikeFunction(sig, leakproof) for sig, leakproof in conn.execute(_LIKE_FUNCTIONS)]


def set_like_leakproof(dsn: str, on: bool) -> list[LikeFunction]:
    """Mark the LIKE-family functions LEAKPROOF (`on`), or put back the flags `on` changed
    (`off`), in one transaction; their state afterwards.

    Only a superuser may change LEAKPROOF; anything else is an error that changes nothing.
    Needs the runtime at version 6 or later, which keeps the record of what `on` changed."""
    with connect(dsn) as conn:
        refusal = "like-leakproof: only a superuser may change LEAKPROOF; connect as one"
        if deployment_mode(conn) == MANAGED_MODE:
            refusal = (
                "like-leakproof: only a superuser may change LEAKPROOF, and this database is "
                "in managed mode (no superuser): substring searches under row level security "
                "cannot use their index"
            )
        require_superuser(conn, refusal)
        if not has_record(conn):
            raise PgPolicyError(
                "like-leakproof: needs the pgpolicy runtime version 6 or later, which records "
                "what it changes; run pgpolicy init"
            )
        if not on:
            conn.execute((sql_dir() / "leakproof_restore.sql").read_text())
            return like_functions(conn)
        for function in like_functions(conn):
            if not function.leakproof:
                conn.execute(
                    "INSERT INTO pgpolicy.leakproof_before (function, leakproof)"
                    " VALUES (%s, false) ON CONFLICT (function) DO NOTHING",
                    [function.signature],
                )
                # regprocedure text is the catalog's own quoting of the signature
                conn.execute(
                    sql.SQL("ALTER FUNCTION pg_catalog.{} LEAKPROOF").format(
                        sql.SQL(function.signature)
                    )
                )
        return like_functions(conn)


def has_record(conn: psycopg.Connection[Any]) -> bool:
    """Whether the runtime keeps the record of what `on` changed (revision 6 or later)."""
    row = conn.execute("SELECT to_regclass('pgpolicy.leakproof_before') IS NOT NULL").fetchone()
    return bool(row and row[0])
