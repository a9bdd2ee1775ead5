"""Read what is deployed from PostgreSQL's catalogs: the one place that reads them.

A policy's comment holds its provenance (JSON written by pgpolicy), including
the hash of the spec it was created from and the hash of PostgreSQL's own
rendering of it right after creation. A later difference between that
rendering and the current one is drift (an `ALTER POLICY` by hand).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from pgpolicy.compiler.predicate import SUDO_SCHEMA, VIEW_RETURNS
from pgpolicy.compiler.search import SEARCH_SCHEMA
from pgpolicy.db import pinned_search_path

MANAGED_PREFIX = "pgpolicy_"
# The policy the runtime's event trigger (runtime 7) puts on a table created after apply:
# only the system principal, until apply deploys the table's compiled policies.
PENDING_POLICY = "pgpolicy_pending"

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
class PendingRelation:
    """A relation of schema public created since the last apply (runtime 7's record)."""

    name: str
    kind: str  # table, view, sequence
    created_by: str


@dataclass(frozen=True)
class Deployed:
    policies: dict[tuple[str, str], DeployedPolicy]  # (table, name) -> policy
    tables: dict[str, TableState]
    functions: dict[str, str]  # generated sudo function name -> body
    sudo_schema: bool  # the schema of generated functions exists
    foreign_policy_tables: frozenset[str] = frozenset()  # tables with policies not ours
    # pgpolicy_pending policies, by (table, name): not compared with the desired set
    pending_policies: dict[tuple[str, str], DeployedPolicy] = field(default_factory=dict)
    # what the event trigger recorded since the last apply, and still exists
    pending_relations: tuple[PendingRelation, ...] = ()
    views: dict[str, bool] | None = None  # view -> runs with the invoker's rights
    # generated sudo function name -> its result type (integer[] for sets of ids; boolean
    # and jsonb for the few that compute a value)
    function_returns: dict[str, str] = field(default_factory=dict)
    # name-search functions (`compiler.search`): name -> body; None: no such schema
    searches: dict[str, str] | None = None
    search_comments: dict[str, str] = field(default_factory=dict)  # name -> its comment


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
# A view's `security_invoker` option as PostgreSQL reads it (`on`, `true`, `1`, ... are true).
_VIEWS = """
SELECT c.relname,
       coalesce((SELECT o.option_value::boolean FROM pg_options_to_table(c.reloptions) o
                  WHERE o.option_name = 'security_invoker'), false)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
 WHERE c.relkind = 'v'
"""
_PENDING = """
SELECT p.relation_name, p.kind, p.created_by FROM pgpolicy.pending_relation p
 WHERE p.schema_name = 'public' AND to_regclass(format('public.%I', p.relation_name)) IS NOT NULL
 ORDER BY p.relation_name
"""
_FUNCTIONS = """
SELECT p.proname, p.prosrc, pg_get_function_result(p.oid)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = %s
"""
# The generated views: their comment, and the fingerprint of their query as PostgreSQL
# renders it now (read under a pinned search_path, as `ddl.create_view` stamped it).
_VIEWS_OF_IDS = """
SELECT c.relname, coalesce(obj_description(c.oid, 'pg_class'), ''), pg_get_viewdef(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND c.relkind = 'v'
"""


def view_source(comment: str, rendering: str) -> str:
    """The compiled source a generated view's comment keeps, or, when its query is no longer
    the one stamped (edited by hand, or the comment is not ours), PostgreSQL's rendering of
    it: unlike any compiled source (drift, recreated), and naming what the view reads (the
    order of drops, `plan.callers_first`)."""
    try:
        stamp = json.loads(comment)
    except ValueError:
        return rendering
    rendered = hashlib.md5(rendering.encode()).hexdigest()
    if not isinstance(stamp, dict) or stamp.get("rendered") != rendered:
        return rendering
    source = stamp.get("source")
    return source if isinstance(source, str) else rendering


def read_deployed(conn: psycopg.Connection[Any]) -> Deployed:
    """The managed policies, every table's RLS flags, the generated functions and whether
    each view runs with the invoker's rights."""
    policies: dict[tuple[str, str], DeployedPolicy] = {}
    pending: dict[tuple[str, str], DeployedPolicy] = {}
    # PostgreSQL renders a table outside the search_path with its schema: renderings (and
    # their fingerprints) are read under the path they were stamped under, whoever asks.
    with pinned_search_path(conn):
        rows = conn.execute(_POLICIES.encode()).fetchall()
    for table, name, command, permissive, roles, using, check, comment, fingerprint in rows:
        policy = DeployedPolicy(
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
        (pending if name == PENDING_POLICY else policies)[(table, name)] = policy
    tables = {
        name: TableState(name, enabled, forced, owner)
        for name, enabled, forced, owner in conn.execute(_TABLES)
    }
    rows = conn.execute(_FUNCTIONS, [SUDO_SCHEMA]).fetchall()
    with pinned_search_path(conn):
        views = conn.execute(_VIEWS_OF_IDS, [SUDO_SCHEMA]).fetchall()
    rows += [(name, view_source(comment, text), VIEW_RETURNS) for name, comment, text in views]
    functions = {name: body for name, body, _ in rows}
    returns = {name: result for name, _, result in rows}
    schema = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [SUDO_SCHEMA])
    foreign = conn.execute(
        "SELECT DISTINCT c.relname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
        "WHERE p.polname NOT LIKE 'pgpolicy\\_%'"
    )
    sudo_schema = schema.fetchone() is not None
    searches, search_comments = read_searches(conn)
    foreign_tables = frozenset(name for (name,) in foreign)
    return Deployed(
        policies,
        tables,
        functions,
        sudo_schema,
        foreign_tables,
        pending,
        read_pending_relations(conn),
        views={name: invoker for name, invoker in conn.execute(_VIEWS)},
        function_returns=returns,
        searches=searches,
        search_comments=search_comments,
    )


def read_searches(
    conn: psycopg.Connection[Any],
) -> tuple[dict[str, str] | None, dict[str, str]]:
    """The name-search functions deployed: name -> body (None without their schema), and
    name -> comment."""
    if conn.execute("SELECT to_regnamespace(%s)", [SEARCH_SCHEMA]).fetchone() == (None,):
        return None, {}
    rows = conn.execute(
        "SELECT p.proname, p.prosrc, coalesce(obj_description(p.oid, 'pg_proc'), '') "
        "FROM pg_proc p WHERE p.pronamespace = to_regnamespace(%s)",
        [SEARCH_SCHEMA],
    ).fetchall()
    return {name: body for name, body, _ in rows}, {name: comment for name, _, comment in rows}


def read_pending_relations(conn: psycopg.Connection[Any]) -> tuple[PendingRelation, ...]:
    """What the event trigger recorded since the last apply (nothing before runtime 7)."""
    if conn.execute("SELECT to_regclass('pgpolicy.pending_relation')").fetchone() == (None,):
        return ()
    return tuple(PendingRelation(*row) for row in conn.execute(_PENDING))


@dataclass(frozen=True)
class Exposure:
    """A relation an app role can reach whose rows no policy holds."""

    relation: str  # schema-qualified
    kind: str  # table, partitioned table, view, materialized view, foreign table
    why: str
    roles: tuple[str, ...]  # the app roles that reach it


RELATION_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
}

# Relations of every schema but PostgreSQL's own that one of the roles can read or change
# (through its schema: USAGE) and that no policy holds: a table or partitioned table without
# row level security, a view that runs with its owner's rights (which reads the tables below
# past their policies, since the owner is not the querying role), and materialized views and
# foreign tables, which row level security cannot hold at all.
_EXPOSED = """
SELECT format('%%I.%%I', n.nspname, c.relname), c.relkind::text,
       array_agg(r.role::text ORDER BY r.role)
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN unnest(%s::text[]) AS r(role)
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_toast'
   AND has_schema_privilege(r.role, n.oid, 'USAGE')
   AND (has_table_privilege(r.role, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
        OR has_any_column_privilege(r.role, c.oid, 'SELECT, INSERT, UPDATE'))
   AND CASE c.relkind
         -- pgpolicy's generated views of ids, made by the schema's owner, are exposed on
         -- purpose: each is what a policy reads past the comodel's rules (ddl.create_view)
         WHEN 'v' THEN NOT (n.nspname = 'pgpolicy_sudo' AND c.relname LIKE 'rows\\_%%'
                            AND c.relowner = n.nspowner) AND NOT coalesce(
             (SELECT o.option_value::boolean FROM pg_options_to_table(c.reloptions) o
               WHERE o.option_name = 'security_invoker'), false)
         WHEN 'm' THEN true
         WHEN 'f' THEN true
         ELSE NOT c.relrowsecurity
       END
 GROUP BY n.nspname, c.relname, c.relkind
 ORDER BY 1
"""
_WHY = {
    "r": "no row level security",
    "p": "no row level security",
    "v": "runs with its owner's rights, past row level security",
    "m": "row level security cannot hold a materialized view: revoke the role's privileges",
    "f": "row level security cannot hold a foreign table: revoke the role's privileges",
}


def exposed_relations(conn: psycopg.Connection[Any], roles: Sequence[str]) -> list[Exposure]:
    """Every relation one of `roles` can reach that no row level security policy holds."""
    if not roles:
        return []
    return [
        Exposure(relation, RELATION_KINDS[kind], _WHY[kind], tuple(reached))
        for relation, kind, reached in conn.execute(_EXPOSED, [list(roles)])
    ]


_REACHABLE = """
SELECT DISTINCT c.relname
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
  CROSS JOIN unnest(%s::text[]) AS r(role)
 WHERE c.relkind IN ('r', 'p')
   AND (has_table_privilege(r.role, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
        OR has_any_column_privilege(r.role, c.oid, 'SELECT, INSERT, UPDATE'))
"""


def reachable_tables(conn: psycopg.Connection[Any], roles: Sequence[str]) -> set[str]:
    """Tables of the Odoo schema one of `roles` may read or change."""
    return {name for (name,) in conn.execute(_REACHABLE, [list(roles)])}
