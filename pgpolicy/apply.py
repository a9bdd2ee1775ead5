"""Apply a policy set to a database: one transaction, a lock timeout, an advisory lock.

Statements come from `ddl`; what is deployed is read by `catalog`. A failed or
interrupted apply leaves the previous policies in place (the transaction rolls
back as a whole).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy import ddl
from pgpolicy.errors import PgPolicyError
from pgpolicy.policy import PolicySet

log = logging.getLogger("pgpolicy")

ADVISORY_LOCK_KEY = 0x70677079  # "pgpy": one apply at a time per database


@dataclass(frozen=True)
class ApplyResult:
    statements: int
    dry_run: bool


def owned_tables(conn: psycopg.Connection[Any], roles: Sequence[str]) -> set[str]:
    """Tables in public owned by one of the app roles: they need FORCE ROW LEVEL SECURITY."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
        "AND pg_get_userbyid(c.relowner) = ANY(%s)",
        [list(roles)],
    )
    return {name for (name,) in rows}


def check_roles(conn: psycopg.Connection[Any], roles: Sequence[str]) -> None:
    if not roles:
        raise PgPolicyError("at least one --app-role is required")
    found = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                         [list(roles)])}  # fmt: skip
    missing = [r for r in roles if r not in found]
    if missing:
        raise PgPolicyError(f"role(s) do not exist: {', '.join(missing)}")


def existing_policies(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """(table, policy) of every pgpolicy-managed policy in public."""
    rows = conn.execute(
        "SELECT tablename, policyname FROM pg_policies "
        "WHERE schemaname = 'public' AND policyname LIKE 'pgpolicy\\_%'"
    )
    return [(t, p) for t, p in rows]


def statements_for(conn: psycopg.Connection[Any], policy_set: PolicySet,
                   roles: Sequence[str]) -> list[sql.Composed]:  # fmt: skip
    """The full rebuild: drop managed policies, create functions, tables, policies."""
    force = owned_tables(conn, roles)
    statements: list[sql.Composed] = []
    statements += ddl.sudo_schema(roles)
    for table_name, policy_name in existing_policies(conn):
        statements.append(ddl.drop_policy(table_name, policy_name))
    for function in policy_set.functions:
        statements += ddl.create_function(function, roles)
    for table in policy_set.tables:
        statements += ddl.enable_rls(table.table, table.table in force)
    for policy in policy_set.policies:
        statements += ddl.create_policy(policy)
    return statements


def apply_policy_set(dsn: str, policy_set: PolicySet, roles: Sequence[str], *,
                     dry_run: bool = False, lock_timeout: str = "5s") -> ApplyResult:  # fmt: skip
    """Deploy `policy_set` in one transaction; roll back on any error (or on dry run)."""
    with psycopg.connect(dsn) as conn:
        check_roles(conn, roles)
        conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout)))
        if not conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY]).fetchone()[
            0
        ]:  # type: ignore[index]
            raise PgPolicyError("another pgpolicy apply is running on this database")
        statements = statements_for(conn, policy_set, roles)
        for statement in statements:
            conn.execute(statement)
        if dry_run:
            conn.rollback()
        log.info("%d statements %s", len(statements), "checked" if dry_run else "applied")
    return ApplyResult(len(statements), dry_run)
