"""Read what is deployed from PostgreSQL's catalogs: the one place that reads them.

A policy's comment holds its provenance (JSON written by pgpolicy), including
the hash of the spec it was created from and the hash of PostgreSQL's own
rendering of it right after creation. A later difference between that
rendering and the current one is drift (an `ALTER POLICY` by hand).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg

from pgpolicy.compiler.predicate import SUDO_SCHEMA

MANAGED_PREFIX = "pgpolicy_"

# PostgreSQL's own rendering of a policy, hashed in SQL: written into the policy's
# comment when it is created (`ddl.stamp_policies`) and recomputed when reading.
FINGERPRINT = (
    "md5(concat_ws('|', p.polcmd, p.polpermissive, p.polroles::text, "
    "pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)))"
)


@dataclass(frozen=True)
class DeployedPolicy:
    table: str
    name: str
    command: str
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    check: str | None
    provenance: dict[str, Any] | None
    fingerprint: str  # of PostgreSQL's rendering now

    @property
    def drifted(self) -> bool:
        """Edited by hand since pgpolicy created it (or its comment was tampered with)."""
        return (self.provenance or {}).get("rendered") != self.fingerprint


@dataclass(frozen=True)
class TableState:
    table: str
    rls_enabled: bool
    rls_forced: bool
    owner: str


@dataclass(frozen=True)
class Deployed:
    policies: dict[tuple[str, str], DeployedPolicy]  # (table, name) -> policy
    tables: dict[str, TableState]
    functions: dict[str, str]  # generated sudo function name -> body
    sudo_schema: bool  # the schema of generated functions exists
    foreign_policy_tables: frozenset[str] = frozenset()  # tables with policies not ours
    # generated sudo function name -> its result type (integer[] for sets of ids; boolean
    # and jsonb for the few that compute a value)
    function_returns: dict[str, str] = field(default_factory=dict)


def parse_comment(comment: str | None) -> dict[str, Any] | None:
    if not comment:
        return None
    try:
        data = json.loads(comment)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


_POLICIES = f"""
SELECT c.relname, p.polname,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
       p.polpermissive,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END
               FROM unnest(p.polroles) AS r ORDER BY 1),
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
       obj_description(p.oid, 'pg_policy'), {FINGERPRINT}
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
 WHERE p.polname LIKE 'pgpolicy\\_%'
"""
_TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
 WHERE c.relkind IN ('r', 'p')
"""
_FUNCTIONS = """
SELECT p.proname, p.prosrc, pg_get_function_result(p.oid)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = %s
"""


def read_deployed(conn: psycopg.Connection[Any]) -> Deployed:
    """The managed policies, every table's RLS flags and the generated functions."""
    policies = {}
    for table, name, command, permissive, roles, using, check, comment, fingerprint in conn.execute(
        _POLICIES.encode()
    ):
        policies[(table, name)] = DeployedPolicy(
            table,
            name,
            command,
            permissive,
            tuple(roles),
            using,
            check,
            parse_comment(comment),
            fingerprint,
        )
    tables = {
        name: TableState(name, enabled, forced, owner)
        for name, enabled, forced, owner in conn.execute(_TABLES)
    }
    rows = conn.execute(_FUNCTIONS, [SUDO_SCHEMA]).fetchall()
    functions = {name: body for name, body, _ in rows}
    returns = {name: result for name, _, result in rows}
    schema = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [SUDO_SCHEMA])
    foreign = conn.execute(
        "SELECT DISTINCT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
        "WHERE p.polname NOT LIKE 'pgpolicy\\_%'"
    )
    return Deployed(
        policies,
        tables,
        functions,
        schema.fetchone() is not None,
        frozenset(name for (name,) in foreign),
        returns,
    )
