"""The roles pgpolicy deals with: who may install, and which app roles escape every policy.

Two deployment modes, decided by the role that installs the runtime (`pgpolicy init`):

- **superuser**: the runtime's SECURITY DEFINER readers and the generated `pgpolicy_sudo`
  functions belong to a superuser, whom row level security never holds; an event trigger
  protects relations created after `apply`; the C plan-time library and the LEAKPROOF
  opt-in are available.
- **managed** (RDS, Cloud SQL, Azure: no superuser): the deploying role owns the database's
  tables and the runtime, so its functions read past row level security as the tables'
  owner (who bypasses it unless FORCE is set; pgpolicy never forces it on them). What only
  a superuser may do is not available: no event trigger (relations created after `apply`
  get no privilege for the app roles until `apply` protects and grants them), no C library,
  no LEAKPROOF. The app roles must own nothing and must not have the deploying role's
  privileges. `deployment_mode` reads which mode a database is in from the catalog.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from pgpolicy.errors import PgPolicyError

SUPERUSER_MODE = "superuser"
MANAGED_MODE = "managed"


def require_superuser(conn: psycopg.Connection[Any], refusal: str) -> None:
    """Raise `refusal` (`{user}`: the role connected) unless that role is a superuser."""
    row = conn.execute(
        "SELECT current_user::text, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user"
    ).fetchone()
    if not (row and row[1]):
        raise PgPolicyError(refusal.format(user=row[0] if row else "the current user"))


def role_hazards(conn: psycopg.Connection[Any], roles: tuple[str, ...] | list[str]) -> list[str]:
    """Each way an app role escapes every policy, as an error message."""
    errors = []
    for name, superuser, bypass in conn.execute(
        "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY(%s)",
        [list(roles)],
    ):
        if superuser:
            errors.append(f"role {name} is a superuser: enforcement is void for it")
        if bypass:
            errors.append(f"role {name} has BYPASSRLS: enforcement is void for it")
    for owner, table in conn.execute(
        "SELECT pg_get_userbyid(c.relowner), c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
        "WHERE c.relrowsecurity AND NOT c.relforcerowsecurity "
        "AND pg_get_userbyid(c.relowner) = ANY(%s) ORDER BY 2",
        [list(roles)],
    ):
        errors.append(
            f"role {owner} owns {table} without FORCE ROW LEVEL SECURITY: "
            "enforcement is void for it on that table"
        )
    return errors


def schema_hazards(conn: psycopg.Connection[Any], roles: tuple[str, ...] | list[str]) -> list[str]:
    """Each app role that may create objects in the schema of the protected tables.

    A function or operator it creates there (`public.||(varchar, varchar)`) is what an
    unqualified name resolves to in a session whose search_path holds `public`: a
    superuser's psql, a report, a migration. pgpolicy's own sessions pin their path;
    `init` revokes CREATE from PUBLIC; a grant to the role itself or ownership remain."""
    rows = conn.execute(
        "SELECT r.rolname::text FROM pg_catalog.pg_roles r"
        " WHERE r.rolname = ANY(%s) AND NOT r.rolsuper"
        " AND pg_catalog.has_schema_privilege(r.oid, 'public', 'CREATE') ORDER BY 1",
        [list(roles)],
    ).fetchall()
    return [
        f"role {name} may create objects in schema public: what it creates there can run "
        "with the rights of another session that resolves names through public "
        "(REVOKE CREATE ON SCHEMA public FROM PUBLIC, and from the role)"
        for (name,) in rows
    ]


def is_superuser(conn: psycopg.Connection[Any]) -> bool:
    """Whether the connected role is a superuser."""
    row = conn.execute(
        "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user"
    ).fetchone()
    return bool(row and row[0])


def deployment_mode(conn: psycopg.Connection[Any]) -> str | None:
    """`superuser` or `managed`: how the runtime of the database was installed, read from
    the owner of schema pgpolicy (who owns its SECURITY DEFINER functions); None without it."""
    row = conn.execute(
        "SELECT r.rolsuper FROM pg_catalog.pg_namespace n"
        " JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'pgpolicy'"
    ).fetchone()
    if row is None:
        return None
    return SUPERUSER_MODE if row[0] else MANAGED_MODE


def connected_mode(conn: psycopg.Connection[Any]) -> str:
    """The mode of the database, or, before the runtime exists, the one the connected role
    would install it in."""
    return deployment_mode(conn) or (SUPERUSER_MODE if is_superuser(conn) else MANAGED_MODE)


_NOT_OWNED = """
SELECT c.relname::text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND NOT pg_catalog.pg_has_role(%(deployer)s, c.relowner, 'USAGE')
 ORDER BY 1
"""

_FORCED = """
SELECT c.relname::text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relforcerowsecurity
 ORDER BY 1
"""


def managed_problems(
    conn: psycopg.Connection[Any], app_roles: Sequence[str] = (), deployer: str | None = None
) -> list[str]:
    """Why `deployer` (default: the connected role), not a superuser, cannot deploy in
    managed mode; empty when it can.

    It must own (or have the privileges of the owner of) every relation of schema public:
    only an owner may enable row level security and create policies, and the runtime's
    functions read past the policies only as the tables' owner, on tables without FORCE.
    It must be able to create schema pgpolicy, or own it already. No app role may have its
    privileges (an owner's privileges bypass row level security)."""
    problems = []
    if deployer is None:
        current = conn.execute("SELECT current_user::text").fetchone()
        deployer = str(current[0]) if current else ""
    schema = conn.execute(
        "SELECT pg_catalog.pg_get_userbyid(n.nspowner),"
        " pg_catalog.pg_has_role(%s, n.nspowner, 'USAGE')"
        " FROM pg_catalog.pg_namespace n WHERE n.nspname = 'pgpolicy'",
        [deployer],
    ).fetchone()
    if schema is not None and not schema[1]:
        problems.append(f"the runtime belongs to {schema[0]}: deploy as {schema[0]}")
    elif schema is None:
        create = conn.execute(
            "SELECT pg_catalog.has_database_privilege(current_database(), 'CREATE')"
        ).fetchone()
        if not (create and create[0]):
            problems.append(
                f"{deployer} may not create schema pgpolicy "
                "(GRANT CREATE ON DATABASE, or own the database)"
            )
    not_owned = [name for (name,) in conn.execute(_NOT_OWNED, {"deployer": deployer})]
    if not_owned:
        problems.append(
            f"{deployer} does not own {len(not_owned)} relation(s) of schema public "
            f"({', '.join(not_owned[:5])}{', ...' if len(not_owned) > 5 else ''}): "
            "the deploying role must own Odoo's tables"
        )
    forced = [name for (name,) in conn.execute(_FORCED)]
    if forced:
        problems.append(
            f"FORCE ROW LEVEL SECURITY is set on {len(forced)} table(s) ({', '.join(forced[:5])}"
            f"{', ...' if len(forced) > 5 else ''}): the runtime reads the tables as their "
            "owner, past row level security (ALTER TABLE ... NO FORCE ROW LEVEL SECURITY)"
        )
    for (role,) in conn.execute(
        "SELECT r.rolname::text FROM pg_catalog.pg_roles r WHERE r.rolname = ANY(%s)"
        " AND (r.rolname = %s OR pg_catalog.pg_has_role(r.oid, %s::regrole, 'USAGE'))"
        " ORDER BY 1",
        [list(app_roles), deployer, deployer],
    ):
        problems.append(
            f"app role {role} has the privileges of the deploying role, which owns the tables: "
            "row level security would not hold it (serve through a role that owns nothing)"
        )
    return problems


def require_deployer(conn: psycopg.Connection[Any], app_roles: Sequence[str] = ()) -> str:
    """The mode the connected role deploys in: `superuser`, or `managed` when it is not one
    and may deploy without (`managed_problems`); otherwise a one-line error."""
    if is_superuser(conn):
        return SUPERUSER_MODE
    problems = managed_problems(conn, app_roles)
    if problems:
        user = conn.execute("SELECT current_user::text").fetchone()
        raise PgPolicyError(
            f"{user[0] if user else 'the current user'} is not a superuser, and cannot deploy "
            f"in managed mode: {'; '.join(problems)}"
        )
    return MANAGED_MODE


def runtime_owner(conn: psycopg.Connection[Any]) -> str | None:
    """The role that owns schema pgpolicy (the deploying role); None without the runtime."""
    row = conn.execute(
        "SELECT pg_catalog.pg_get_userbyid(nspowner)::text FROM pg_catalog.pg_namespace"
        " WHERE nspname = 'pgpolicy'"
    ).fetchone()
    return str(row[0]) if row else None
