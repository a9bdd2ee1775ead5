"""What the app roles need on Odoo's schema: privileges on its tables and sequences.

Row level security decides which rows; privileges decide whether a table can be reached
at all. Odoo's serving role needs SELECT, INSERT, UPDATE and DELETE on every table and
USAGE, SELECT and UPDATE on every sequence of schema public, those that exist and those a
module install creates later. The latter come from default privileges, which PostgreSQL
keeps per creating role: `ALTER DEFAULT PRIVILEGES FOR ROLE <role>` for each role that
owns Odoo's tables or may create them (`creating_roles`). `init --app-role` and `apply
--app-role` grant all of it; `status` reports what is missing.

In managed mode (no superuser, `roles.deployment_mode`) no event trigger protects what is
created after `apply`, so the app roles get no default privileges at all, and lose those
the deploying role's defaults gave them on new tables: a table or view created later
reaches them only when `apply` has protected it and grants it (`ungranted_relations` are
what `status` reports as pending meanwhile). Default privileges another role's defaults
give them on new tables are a hazard `status` reports (`default_privilege_hazards`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.deploy.roles import MANAGED_MODE, connected_mode

SCHEMA = "public"
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")


def creating_roles(
    conn: psycopg.Connection[Any], app_roles: Sequence[str], *, connected: bool = True
) -> list[str]:
    """The roles whose new tables and sequences the app roles must reach, app roles aside
    (what an app role creates, it owns).

    Always the owners of the schema's tables, views and sequences. With `connected` (what
    `init` and `apply` grant for), also every role that may create there: the role
    connected, the superusers (Odoo's owner role often is one, and owns nothing yet when a
    database restored by another role gets its first module install), the database's
    owner, and the roles granted CREATE on the schema by name. `status` checks the owners
    only: a superuser created since the last apply is not a gap until it creates something.
    """
    rows = conn.execute(
        """
        SELECT r.rolname::text
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
         WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'S')
        UNION
        SELECT r.rolname::text
          FROM pg_catalog.pg_roles r
         WHERE %(connected)s AND r.rolname !~ '^pg_'
           AND (r.rolsuper
                OR r.rolname = current_user
                OR r.oid = (SELECT d.datdba FROM pg_catalog.pg_database d
                             WHERE d.datname = current_database())
                OR r.oid IN (SELECT a.grantee
                               FROM pg_catalog.pg_namespace n, aclexplode(n.nspacl) a
                              WHERE n.nspname = %(schema)s AND a.privilege_type = 'CREATE'))
        ORDER BY 1
        """,
        {"schema": SCHEMA, "connected": connected},
    ).fetchall()
    return [name for (name,) in rows if name not in app_roles]


def grant_statements(app_roles: Sequence[str], creators: Sequence[str]) -> list[sql.Composed]:
    """GRANTs on what exists and default privileges for what `creators` create later.

    GRANT and ALTER DEFAULT PRIVILEGES are idempotent: a second run changes nothing."""
    schema = sql.Identifier(SCHEMA)
    who = sql.SQL(", ").join(map(sql.Identifier, app_roles))
    tables = sql.SQL(", ").join(map(sql.SQL, TABLE_PRIVILEGES))
    sequences = sql.SQL(", ").join(map(sql.SQL, SEQUENCE_PRIVILEGES))
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, who),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(tables, schema, who),
        sql.SQL("GRANT {} ON ALL SEQUENCES IN SCHEMA {} TO {}").format(sequences, schema, who),
    ]
    for creator in creators:
        for privileges, kind in ((tables, "TABLES"), (sequences, "SEQUENCES")):
            statements.append(
                sql.SQL(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON {} TO {}"
                ).format(sql.Identifier(creator), schema, privileges, sql.SQL(kind), who)
            )
    return statements


def grant_app_roles(conn: psycopg.Connection[Any], app_roles: Sequence[str]) -> None:
    """Grant the app roles what they need, now and for later, in the caller's transaction;
    in managed mode, what exists only (`managed_grant_statements`)."""
    if connected_mode(conn) == MANAGED_MODE:
        statements = managed_grant_statements(app_roles)
    else:
        statements = grant_statements(app_roles, creating_roles(conn, app_roles))
    for statement in statements:
        conn.execute(statement)


def managed_grant_statements(app_roles: Sequence[str]) -> list[sql.Composed]:
    """Managed mode: GRANTs on what exists, and no default privileges on new tables and
    sequences from the connected role (the deploying one), whose later tables and views
    nothing protects until `apply`."""
    schema = sql.Identifier(SCHEMA)
    who = sql.SQL(", ").join(map(sql.Identifier, app_roles))
    statements = grant_statements(app_roles, ())
    for kind in ("TABLES", "SEQUENCES"):
        statements.append(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA {} REVOKE ALL ON {} "
                "FROM {}"
            ).format(schema, sql.SQL(kind), who)
        )
    return statements


_UNGRANTED = """
SELECT DISTINCT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' ELSE 'table' END,
       c.relname::text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN unnest(%(roles)s::text[]) AS r(role)
 WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'S')
   AND NOT CASE WHEN c.relkind = 'S'
                THEN pg_catalog.has_sequence_privilege(r.role, c.oid, 'USAGE')
                ELSE pg_catalog.has_table_privilege(r.role, c.oid, 'SELECT') END
 ORDER BY 2
"""


def ungranted_relations(
    conn: psycopg.Connection[Any], app_roles: Sequence[str]
) -> list[tuple[str, str]]:
    """(kind, name) of the relations of the schema an app role cannot read: in managed mode,
    those created since the last `apply`, which grants them once it has protected them."""
    existing = conn.execute(
        "SELECT array_agg(rolname::text) FROM pg_catalog.pg_roles WHERE rolname = ANY(%s)",
        [list(app_roles)],
    ).fetchone()
    roles = list(existing[0] or []) if existing else []
    if not roles:
        return []
    return [
        (kind, name) for kind, name in conn.execute(_UNGRANTED, {"roles": roles, "schema": SCHEMA})
    ]


_DEFAULT_TABLE_GRANTS = """
SELECT DISTINCT pg_catalog.pg_get_userbyid(d.defaclrole)::text, g.rolname::text
  FROM pg_catalog.pg_default_acl d
 CROSS JOIN LATERAL aclexplode(d.defaclacl) a
  JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
 WHERE d.defaclobjtype = 'r' AND g.rolname = ANY(%(roles)s)
   AND (d.defaclnamespace = 0 OR d.defaclnamespace = %(schema)s::regnamespace)
 ORDER BY 1, 2
"""


def default_privilege_hazards(conn: psycopg.Connection[Any], app_roles: Sequence[str]) -> list[str]:
    """Managed mode: default privileges that give an app role a table or view as soon as a
    role creates it, before any policy holds it (no event trigger protects it)."""
    return [
        f"role {grantee} gets privileges on every new table or view {creator} creates "
        "(default privileges): in managed mode nothing protects it until apply (ALTER DEFAULT "
        f"PRIVILEGES FOR ROLE {creator} IN SCHEMA {SCHEMA} REVOKE ALL ON TABLES FROM {grantee})"
        for creator, grantee in conn.execute(
            _DEFAULT_TABLE_GRANTS, {"roles": list(app_roles), "schema": SCHEMA}
        )
    ]


_MISSING_ON_RELATIONS = """
SELECT c.relname::text,
       CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' ELSE 'table' END,
       ARRAY(SELECT p FROM unnest(CASE WHEN c.relkind = 'S' THEN %(sequence)s::text[]
                                       WHEN c.relkind = 'v' THEN ARRAY['SELECT']
                                       ELSE %(table)s::text[] END) AS p
              WHERE NOT CASE WHEN c.relkind = 'S'
                             THEN pg_catalog.has_sequence_privilege(%(role)s, c.oid, p)
                             ELSE pg_catalog.has_table_privilege(%(role)s, c.oid, p) END)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p', 'v', 'S')
 ORDER BY 1
"""

_DEFAULTS = """
SELECT CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' ELSE 'SEQUENCES' END, a.privilege_type
  FROM pg_catalog.pg_default_acl d
  JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
 CROSS JOIN LATERAL aclexplode(d.defaclacl) a
 WHERE n.nspname = %(schema)s AND d.defaclrole = %(creator)s::regrole
   AND a.grantee = %(role)s::regrole AND d.defaclobjtype IN ('r', 'S')
"""


def missing_privileges(
    conn: psycopg.Connection[Any],
    app_roles: Sequence[str],
    *,
    limit: int = 10,
    defaults: bool = True,
) -> list[str]:
    """What each app role lacks, one message per kind of gap (at most `limit` names each);
    with `defaults`, the default privileges too (not in managed mode, which gives none).

    Only roles that exist are checked (a missing role is reported elsewhere)."""
    existing = {
        name
        for (name,) in conn.execute(
            "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY(%s)",
            [list(app_roles)],
        )
    }
    messages = []
    for role in (r for r in app_roles if r in existing):
        usage = conn.execute(
            "SELECT pg_catalog.has_schema_privilege(%s, %s, 'USAGE')", [role, SCHEMA]
        ).fetchone()
        if usage != (True,):
            messages.append(f"role {role} lacks USAGE on schema {SCHEMA}")
        rows = conn.execute(
            _MISSING_ON_RELATIONS,
            {
                "role": role,
                "schema": SCHEMA,
                "table": list(TABLE_PRIVILEGES),
                "sequence": list(SEQUENCE_PRIVILEGES),
            },
        ).fetchall()
        lacking = [f"{name} ({kind}: {', '.join(p)})" for name, kind, p in rows if p]
        if lacking:
            shown = ", ".join(lacking[:limit]) + (" ..." if len(lacking) > limit else "")
            messages.append(f"role {role} lacks privileges on {len(lacking)} relation(s): {shown}")
        for creator in creating_roles(conn, app_roles, connected=False) if defaults else []:
            granted: dict[str, set[str]] = {"TABLES": set(), "SEQUENCES": set()}
            for kind, privilege in conn.execute(
                _DEFAULTS, {"schema": SCHEMA, "creator": creator, "role": role}
            ):
                granted[kind].add(privilege)
            for kind, wanted in (("TABLES", TABLE_PRIVILEGES), ("SEQUENCES", SEQUENCE_PRIVILEGES)):
                absent = [p for p in wanted if p not in granted[kind]]
                if absent:
                    messages.append(
                        f"role {role} gets no {', '.join(absent)} on new {kind.lower()} "
                        f"{creator} creates (default privileges)"
                    )
    return messages
