"""Analyst logins: PostgreSQL LOGIN roles that read the database as an Odoo user.

A mapping row in pgpolicy.analyst (runtime 9) says which Odoo user (and companies) a login
role is; the runtime's readers derive the context of each of its transactions from that row
(sql/runtime_0009.sql), so psql or a BI tool just connects. Here: the mapping's rows, the
role (created without a password: authentication is the DBA's), its membership of the
group every policy is for (`ANALYST_GROUP`), and its privileges: SELECT on the protected
tables (DML too with `can_write`), and, column by column, none on the columns of fields
Odoo restricts with `groups=` when the user is in none of those groups, and on the columns
Odoo's ORM never reads (`restricted_columns`). `sync_privileges`
recomputes them all; `apply` and `analyst add` run it. Each function runs in the caller's
transaction.

A superuser manages analyst logins; in managed mode (no superuser), the deploying role with
CREATEROLE. Since PostgreSQL 16 such a role grants membership only in the roles it has
ADMIN OPTION on: the group's creator has it, another role needs it granted
(`GRANT pgpolicy_analysts TO <deployer> WITH ADMIN OPTION`, by the group's creator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.deploy.grants import SCHEMA
from pgpolicy.deploy.policy_set import ANALYST_GROUP
from pgpolicy.deploy.roles import MANAGED_MODE, deployment_mode, is_superuser, runtime_owner
from pgpolicy.errors import PgPolicyError
from pgpolicy.odoo.metadata import Catalog, read_catalog, user_group_ids

# What the group must not call: only the app roles set a context.
_CONTEXT_SETTERS = ("set_context(", "set_profiles(")


@dataclass(frozen=True)
class Analyst:
    """One mapping: login role -> Odoo user, companies (None: the user's), writes allowed."""

    role: str
    uid: int
    login: str | None  # the Odoo user's login (None when the user no longer exists)
    active: bool  # whether the Odoo user is active (inactive: the role reads nothing)
    company_ids: tuple[int, ...] | None
    can_write: bool
    hidden_columns: tuple[str, ...] = ()  # table.column the role may not read

    def to_json(self) -> dict[str, Any]:
        """The mapping as JSON data (`analyst list --format json`)."""
        return {
            "role": self.role,
            "uid": self.uid,
            "odoo_user": self.login,
            "active": self.active,
            "company_ids": None if self.company_ids is None else list(self.company_ids),
            "can_write": self.can_write,
            "hidden_columns": list(self.hidden_columns),
        }


def installed_version(conn: psycopg.Connection[Any]) -> int | None:
    """The runtime version as a number (None without the runtime). Not `runtime`'s: that
    module loads alembic, whose plugin loads `apply`, which loads this module."""
    row = conn.execute(
        "SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n"
        " ON n.oid = p.pronamespace WHERE n.nspname = 'pgpolicy' AND p.proname = 'version'"
    ).fetchone()
    if row is None:
        return None
    version = conn.execute("SELECT pgpolicy.version()").fetchone()
    return int(version[0]) if version and str(version[0]).isdigit() else None


def require_runtime(conn: psycopg.Connection[Any]) -> None:
    """Analysts need runtime 9 or later (the mapping and the readers that use it), and a
    superuser, or in managed mode the deploying role with CREATEROLE."""
    if not is_superuser(conn):
        row = conn.execute(
            "SELECT current_user::text, rolcreaterole FROM pg_catalog.pg_roles"
            " WHERE rolname = current_user"
        ).fetchone()
        user, createrole = (str(row[0]), bool(row[1])) if row else ("the current user", False)
        owner = runtime_owner(conn)
        if not (deployment_mode(conn) == MANAGED_MODE and createrole and owner == user):
            raise PgPolicyError(
                f"{user} is not a superuser: analyst logins are roles and grants only a "
                "superuser may manage (like pgpolicy init), or, in managed mode, the role "
                "that deployed the runtime with CREATEROLE"
            )
    version = installed_version(conn)
    if version is None or version < 9:
        raise PgPolicyError(
            f"the pgpolicy runtime is at version {version or 'none'}: analyst logins need "
            "version 9 (run pgpolicy init)"
        )


def odoo_user(conn: psycopg.Connection[Any], login: str) -> int:
    """The id of the Odoo user with that login; an error when there is none."""
    row = conn.execute("SELECT id FROM public.res_users WHERE login = %s", [login]).fetchone()
    if row is None:
        raise PgPolicyError(f"no Odoo user with login {login!r}")
    return int(row[0])


def add(
    conn: psycopg.Connection[Any],
    role: str,
    login: str,
    company_ids: Sequence[int] | None = None,
    *,
    can_write: bool = False,
) -> Analyst:
    """Create (or adopt) the LOGIN role `role`, map it to the Odoo user `login`, and grant
    what it may read. A role that is a superuser, may bypass row level security, or is an
    app role (it could set any context) is refused: row level security would not hold it."""
    require_runtime(conn)
    uid = odoo_user(conn, login)
    if company_ids is not None and not company_ids:
        raise PgPolicyError("--companies: give at least one company id")
    existing = conn.execute(
        "SELECT rolsuper, rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = %s", [role]
    ).fetchone()
    if existing is None:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    elif existing[0] or existing[1]:
        raise PgPolicyError(
            f"role {role} is a superuser or bypasses row level security: it cannot be an analyst"
        )
    app = conn.execute(
        """
        SELECT string_agg(r.rolname, ', ' ORDER BY r.rolname) FROM pg_catalog.pg_roles r
         WHERE pgpolicy.is_app_role(r.oid) AND pg_has_role(%s, r.oid, 'MEMBER')
           AND r.rolname <> %s
        """,
        [role, ANALYST_GROUP],
    ).fetchone()
    if app is not None and app[0]:
        raise PgPolicyError(
            f"role {role} is or may become the app role {app[0]} (whose privileges are "
            "Odoo's): it cannot be an analyst"
        )
    try:
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(ANALYST_GROUP), sql.Identifier(role))
        )
    except psycopg.errors.InsufficientPrivilege as e:
        raise PgPolicyError(
            f"cannot make {role} a member of {ANALYST_GROUP}: {e.diag.message_primary} (since "
            "PostgreSQL 16 a role with CREATEROLE grants only roles it has ADMIN OPTION on; "
            f"the group's creator can give it: GRANT {ANALYST_GROUP} TO <this role> WITH "
            "ADMIN OPTION)"
        ) from e
    conn.execute(
        """
        INSERT INTO pgpolicy.analyst (role_name, uid, company_ids, can_write)
        VALUES (%s, %s, %s, %s)
        ON CONFLICT (role_name) DO UPDATE
           SET uid = excluded.uid, company_ids = excluded.company_ids,
               can_write = excluded.can_write
        """,
        [role, uid, None if company_ids is None else list(company_ids), can_write],
    )
    sync_privileges(conn)
    return next(a for a in analysts(conn) if a.role == role)


def remove(conn: psycopg.Connection[Any], role: str) -> None:
    """Remove the mapping and every privilege pgpolicy gave the role on this database's
    tables; the role itself stays (it may own objects, or be an analyst of another database
    of the cluster: it keeps its membership of the group, which holds no table privilege),
    but reads nothing protected here any more."""
    require_runtime(conn)
    deleted = conn.execute(
        "DELETE FROM pgpolicy.analyst WHERE role_name = %s RETURNING role_name", [role]
    ).fetchone()
    if deleted is None:
        raise PgPolicyError(f"{role} is not an analyst login")
    revoke_all(conn, role)


def analysts(conn: psycopg.Connection[Any]) -> list[Analyst]:
    """The analyst logins of the database, with the columns each may not read."""
    rows = conn.execute(
        """
        SELECT a.role_name::text, a.uid, u.login, coalesce(u.active, false), a.company_ids,
               a.can_write,
               coalesce((SELECT array_agg(c.relname || '.' || col.attname
                                          ORDER BY c.relname, col.attname)
                           FROM pg_catalog.pg_class c
                           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                           JOIN pg_catalog.pg_attribute col
                             ON col.attrelid = c.oid AND col.attnum > 0 AND NOT col.attisdropped
                          WHERE n.nspname = %s AND c.relrowsecurity
                            AND NOT has_column_privilege(a.role_name, c.oid, col.attnum, 'SELECT')
                            AND has_any_column_privilege(a.role_name, c.oid, 'SELECT')), '{}')
          FROM pgpolicy.analyst a LEFT JOIN public.res_users u ON u.id = a.uid
         ORDER BY a.role_name
        """,
        [SCHEMA],
    ).fetchall()
    return [
        Analyst(
            role=role,
            uid=uid,
            login=login,
            active=active,
            company_ids=None if companies is None else tuple(companies),
            can_write=can_write,
            hidden_columns=tuple(hidden),
        )
        for role, uid, login, active, companies, can_write, hidden in rows
    ]


# Stored fields Odoo shows to nobody through its ORM whatever the groups (`USER_PRIVATE_FIELDS`
# of res.users: masked unless the reader may write users; here hidden from every analyst).
PRIVATE_COLUMNS = {"res_users": ("oauth_access_token",)}

NOBODY: tuple[int, ...] = ()  # the groups of a column no analyst may read


def restricted_columns(
    catalog: Catalog, tables: dict[str, list[str]]
) -> dict[str, dict[str, tuple[int, ...]]]:
    """Per table of a model (`tables`: table -> columns), the columns analysts may not read
    unless in one of the groups given (`NOBODY`: no analyst may):

    - the columns of stored fields with `groups=` (ir_model_fields_group_rel);
    - the columns no stored field maps to: Odoo writes them with SQL and no user reads them
      through its ORM (res_users.password, auth_totp's res_users.totp_secret);
    - `PRIVATE_COLUMNS`."""
    stored: dict[str, set[str]] = {}
    restricted: dict[str, dict[str, tuple[int, ...]]] = {}
    for model in catalog.models.values():
        if model.table is None or model.table not in tables:
            continue
        for name, spec in model.fields.items():
            if not spec.store:
                continue
            stored.setdefault(model.table, set()).add(name)
            if spec.groups:
                columns = restricted.setdefault(model.table, {})
                columns[name] = tuple(sorted({*columns.get(name, ()), *spec.groups}))
    for table, fields in stored.items():
        for column in tables[table]:
            if column not in fields or column in PRIVATE_COLUMNS.get(table, ()):
                restricted.setdefault(table, {})[column] = NOBODY
    return restricted


def hidden_columns(
    restricted: dict[str, dict[str, tuple[int, ...]]], user_groups: set[int]
) -> dict[str, set[str]]:
    """Per table, the restricted columns a user in `user_groups` may not read."""
    hidden: dict[str, set[str]] = {}
    for table, columns in restricted.items():
        for column, groups in columns.items():
            if not user_groups.intersection(groups):
                hidden.setdefault(table, set()).add(column)
    return {table: columns for table, columns in hidden.items() if columns}


def columns_hidden_from(
    conn: psycopg.Connection[Any], catalog: Catalog, user_groups: set[int], table: str
) -> tuple[str, ...]:
    """The columns of `table` an analyst login of a user in `user_groups` may not read (what
    `sync_privileges` revokes for it), computed from the field metadata."""
    rows = conn.execute(
        """
        SELECT a.attname::text FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class c
                               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                              WHERE n.nspname = %s AND c.relname = %s)
           AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum
        """,
        [SCHEMA, table],
    ).fetchall()
    restricted = restricted_columns(catalog, {table: [column for (column,) in rows]})
    return tuple(sorted(hidden_columns(restricted, user_groups).get(table, ())))


def logins_of(conn: psycopg.Connection[Any], uid: int) -> tuple[str, ...]:
    """The analyst logins mapped to the Odoo user `uid` (none before runtime 9)."""
    version = installed_version(conn)
    if version is None or version < 9:
        return ()
    rows = conn.execute(
        "SELECT role_name::text FROM pgpolicy.analyst WHERE uid = %s ORDER BY 1", [uid]
    ).fetchall()
    return tuple(role for (role,) in rows)


def grant_group(conn: psycopg.Connection[Any]) -> None:
    """What the analysts' group needs to read under the policies: the runtime's schema and
    the functions policies call (not set_context, not set_profiles)."""
    from pgpolicy.deploy.runtime import PUBLIC_FUNCTIONS  # the import cycle above

    group = sql.Identifier(ANALYST_GROUP)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA pgpolicy TO {}").format(group))
    for signature in PUBLIC_FUNCTIONS:
        if signature.startswith(_CONTEXT_SETTERS):
            continue
        # The signatures are constants of the runtime module, never input.
        conn.execute(
            sql.SQL("GRANT EXECUTE ON FUNCTION pgpolicy.{} TO {}").format(sql.SQL(signature), group)
        )


def revoke_all(conn: psycopg.Connection[Any], role: str) -> None:
    """Take back every privilege on the tables of the Odoo schema (columns included)."""
    conn.execute(
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(
            sql.Identifier(SCHEMA), sql.Identifier(role)
        )
    )


def sync_privileges(conn: psycopg.Connection[Any], catalog: Catalog | None = None) -> int:
    """Recompute every analyst's privileges from the mapping and the field metadata; returns
    how many analysts there are. Only tables under row level security are granted: the
    others have no policy that would restrict an analyst."""
    version = installed_version(conn)
    if version is None or version < 9:
        return 0
    mapped = conn.execute(
        "SELECT role_name::text, uid, can_write FROM pgpolicy.analyst ORDER BY 1"
    ).fetchall()
    if not mapped:
        return 0
    grant_group(conn)
    tables = protected_tables(conn)
    restricted = restricted_columns(catalog if catalog is not None else read_catalog(conn), tables)
    for role, uid, can_write in mapped:
        revoke_all(conn, role)
        groups = set(user_group_ids(conn, uid))  # 19.0: with the implied groups
        hidden = hidden_columns(restricted, groups)
        who = sql.Identifier(role)
        for table, columns in sorted(tables.items()):
            target = sql.Identifier(SCHEMA, table)
            secret = hidden.get(table, set())
            if secret:
                readable = [c for c in columns if c not in secret]
                conn.execute(
                    sql.SQL("GRANT SELECT ({}) ON {} TO {}").format(
                        sql.SQL(", ").join(map(sql.Identifier, readable)), target, who
                    )
                )
            else:
                conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(target, who))
            if can_write:
                conn.execute(sql.SQL("GRANT DELETE ON {} TO {}").format(target, who))
                # A hidden column is not written either (Odoo refuses the field as well).
                writable = sql.SQL(", ").join(
                    map(sql.Identifier, [c for c in columns if c not in secret])
                )
                conn.execute(
                    sql.SQL("GRANT INSERT ({cols}), UPDATE ({cols}) ON {} TO {}").format(
                        target, who, cols=writable
                    )
                )
    return len(mapped)


def protected_tables(conn: psycopg.Connection[Any]) -> dict[str, list[str]]:
    """The tables of the Odoo schema under row level security, with their columns."""
    rows = conn.execute(
        """
        SELECT c.relname::text, array_agg(a.attname::text ORDER BY a.attnum)
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute a
            ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relrowsecurity
         GROUP BY c.relname
        """,
        [SCHEMA],
    ).fetchall()
    return {table: list(columns) for table, columns in rows}
