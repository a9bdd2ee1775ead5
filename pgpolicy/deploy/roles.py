"""The roles pgpolicy deals with: who may install, and which app roles escape every policy."""

from __future__ import annotations

from typing import Any

import psycopg

from pgpolicy.errors import PgPolicyError


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
