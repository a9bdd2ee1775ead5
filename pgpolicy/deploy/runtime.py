"""Install, upgrade and remove the runtime schema through the project's own alembic environment.

The runtime (schema `pgpolicy`, SQL in `sql/`) holds the functions policies read the
context through. Its migrations live in `alembic/`; `install` runs them up to head and
grants the app roles what policies need, all in one transaction; `uninstall` runs them
down to base, which leaves nothing behind (see `alembic/env.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from alembic.config import Config
from alembic.util import CommandError
from psycopg import sql
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from alembic import command
from pgpolicy.db import connect
from pgpolicy.deploy.grants import grant_app_roles, missing_privileges
from pgpolicy.deploy.roles import require_deployer
from pgpolicy.errors import PgPolicyError
from pgpolicy.resources import alembic_dir, sql_dir

# What the app roles may call: every function of the runtime a policy or the bridge uses.
# Each new function of a migration that they need is added here; `init` grants the list.
PUBLIC_FUNCTIONS = (
    "set_context(integer, integer[], boolean, boolean, text[], text, text)",  # revision 0006
    "uid()",
    "su()",
    "today()",
    "company_ids()",
    "company_id()",
    "group_ids()",
    "context_key()",
    "planned_uid()",
    "planned_su()",
    "planned_company_ids()",
    "planned_company_id()",
    "planned_group_ids()",
    "planned_context_key()",
    "planned_in_groups(integer[])",
    "planned_system()",
    "planned_write()",
    "planned_shadow()",
    "shadow_denied(text, text, integer[], integer)",
    "version()",
    # revision 0002: access profiles
    "set_profiles(text[])",
    "profile_names()",
    "planned_in_profiles(text[])",
    "planned_profile_in_force(text)",
    "user_tz()",
    "local_today()",
    "login_allowed(integer)",
    "check_locked(regclass, name, integer, anyelement, text, text)",
    # revision 0005: plan-time functions that may be compiled
    "forget_context_plans()",
    # revision 0006: the sealed context
    "sealed_context()",
    # revision 0007: relations created after apply
    "pending_count()",
    # revision 0009: analyst logins (uid() and the company readers call them)
    "analyst_session()",
    "analyst_uid()",
    "analyst_company_ids()",
    # revision 0010: Odoo's standard sequences, for the serving role (the bridge calls them)
    "odoo_sequence_create(text, bigint, bigint)",
    "odoo_sequence_alter(text, bigint, bigint)",
    "odoo_sequence_drop(text[])",
    # revision 0010: whether the rules changed since the last apply (the bridge's reminder)
    "odoo_rules_changed()",
    # revision 0011: the mark of a plan folded inside a function (planned_context_key())
    "note_nested_plan()",
)


# The schemas whose tables pgpolicy protects (Odoo's); `init` takes CREATE on them from PUBLIC.
PROTECTED_SCHEMAS = ("public",)


@dataclass(frozen=True)
class InstallResult:
    """What `install` did: the runtime version before and after, and the grants."""

    before: str | None
    after: str
    roles: tuple[str, ...]
    granted: tuple[str, ...]  # the roles that lacked some privilege and got it now
    revoked: tuple[str, ...] = ()  # schemas where PUBLIC lost CREATE now

    @property
    def changed(self) -> bool:
        """Whether the runtime was installed or upgraded (grants aside)."""
        return self.before != self.after

    def summary(self) -> str:
        """One line saying what was done."""
        if self.before is None:
            done = f"installed the pgpolicy runtime, version {self.after}"
        elif self.changed:
            done = f"upgraded the pgpolicy runtime from version {self.before} to {self.after}"
        else:
            done = f"runtime at version {self.after}, nothing to do"
        unchanged = [role for role in self.roles if role not in self.granted]
        parts = [done]
        if self.granted:
            parts.append(f"granted to {', '.join(self.granted)}")
        if unchanged:
            parts.append(f"grants unchanged for {', '.join(unchanged)}")
        if self.revoked:
            parts.append(f"revoked CREATE on schema {', '.join(self.revoked)} from PUBLIC")
        return "; ".join(parts)


def installed_version(conn: psycopg.Connection[Any]) -> str | None:
    """The runtime version installed in the database, or None."""
    row = conn.execute(
        "SELECT 1 FROM pg_catalog.pg_proc p"
        " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'pgpolicy' AND p.proname = 'version' AND p.pronargs = 0"
    ).fetchone()
    if row is None:
        return None
    version = conn.execute("SELECT pgpolicy.version()").fetchone()
    return str(version[0]) if version else None


def install(
    dsn: str, app_roles: Sequence[str], *, keep_public_create: bool = False
) -> InstallResult:
    """Upgrade the runtime to head and grant the app roles, in one transaction.

    The app roles get the runtime's functions, and what they need on Odoo's tables and
    sequences, those of today and those created later (`grants`).

    Needs a superuser (the SECURITY DEFINER readers must read past row-level
    security), or, in managed mode, the role that owns every relation of schema public
    (`roles.require_deployer`): the readers then read as the tables' owner, and the
    runtime has no event trigger. Every app role must exist; otherwise nothing is changed.
    Grants are re-applied on every run, so a second run changes nothing. Unless
    `keep_public_create`, PUBLIC loses CREATE on the schemas of protected tables
    (`PROTECTED_SCHEMAS`): what any role creates there can be resolved by someone
    else's session, and run with its rights.
    """
    roles = tuple(dict.fromkeys(app_roles))
    if not roles:
        raise PgPolicyError("at least one app role is required (--app-role)")
    with _migration(dsn) as (config, conn):
        require_deployer(conn, roles)
        _require_roles(conn, roles)
        before = installed_version(conn)
        privileges_before = _privileges(conn, roles)
        lacking = {role for role in roles if missing_privileges(conn, [role])}
        command.upgrade(config, "head")
        for statement in _grants(roles):
            conn.execute(statement)
        grant_app_roles(conn, roles)
        revoked = () if keep_public_create else _revoke_public_create(conn)
        after = installed_version(conn)
        privileges_after = _privileges(conn, roles)
    if after is None:
        raise PgPolicyError("the runtime migrations ran but pgpolicy.version() is missing")
    granted = tuple(
        role
        for role in roles
        if role in lacking or privileges_after.get(role) != privileges_before.get(role)
    )
    return InstallResult(before, after, roles, granted, revoked)


def _revoke_public_create(conn: psycopg.Connection[Any]) -> tuple[str, ...]:
    """REVOKE CREATE ON SCHEMA ... FROM PUBLIC where PUBLIC has it; the schemas changed."""
    rows = conn.execute(
        """
        SELECT n.nspname::text FROM pg_catalog.pg_namespace n
         WHERE n.nspname = ANY(%s)
           AND EXISTS (SELECT FROM pg_catalog.aclexplode(n.nspacl) a
                        WHERE a.grantee = 0 AND a.privilege_type = 'CREATE')
         ORDER BY 1
        """,
        [list(PROTECTED_SCHEMAS)],
    ).fetchall()
    schemas = tuple(name for (name,) in rows)
    for schema in schemas:
        conn.execute(
            sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(schema))
        )
    return schemas


def uninstall(dsn: str) -> str | None:
    """Downgrade the runtime to base: no schema, no function, no version table remain.

    Refused while policies still call the runtime. Returns the version removed
    (None when nothing was installed).
    """
    with _migration(dsn) as (config, conn):
        require_deployer(conn)
        before = installed_version(conn)
        command.downgrade(config, "base")
    return before


def execute_sql_file(connection: Connection, name: str) -> None:
    """Execute `sql/<name>` verbatim on the driver connection; for the runtime's migrations.

    Verbatim, not through SQLAlchemy's `text()`: the files hold $$-quoted bodies, casts
    and colons that `text()` would take for bind parameters.
    """
    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise PgPolicyError("the runtime migrations need a psycopg connection")
    driver.execute((sql_dir() / name).read_text())


def sql_planner_in_place(connection: Connection) -> bool:
    """Whether the SQL plan-time functions are in place (not the C ones): the revisions that
    change them install their SQL only then."""
    return connection.exec_driver_sql("SELECT pgpolicy.planner()").scalar() == "sql"


def policies_calling(connection: Connection, functions: Sequence[str] = ()) -> int:
    """How many policies call a runtime function (all of them, or those named), from the
    dependencies PostgreSQL records; a revision refuses its downgrade while any do."""
    result = connection.exec_driver_sql(
        """
        SELECT count(DISTINCT d.objid)
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE d.classid = 'pg_catalog.pg_policy'::regclass
           AND d.refclassid = 'pg_catalog.pg_proc'::regclass
           AND n.nspname = 'pgpolicy'
           AND (cardinality(%s::text[]) = 0 OR p.proname = ANY (%s::text[]))
        """,
        (list(functions), list(functions)),
    )
    return int(result.scalar() or 0)


@contextmanager
def _migration(dsn: str) -> Iterator[tuple[Config, psycopg.Connection[Any]]]:
    """An alembic configuration bound to one open transaction on `dsn`, and its driver
    connection; committed when the block ends, rolled back if it raises. Database and
    migration errors come out as one-line `PgPolicyError`s."""
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: connect(dsn), poolclass=NullPool
    )
    try:
        with engine.begin() as connection:
            driver = connection.connection.driver_connection
            if not isinstance(driver, psycopg.Connection):
                raise PgPolicyError("the alembic connection is not a psycopg connection")
            config = Config()
            config.set_main_option("script_location", str(alembic_dir()))
            config.set_main_option("path_separator", "os")
            config.attributes["connection"] = connection
            yield config, driver
    except DBAPIError as exc:
        raise PgPolicyError(_one_line(exc.orig if exc.orig is not None else exc)) from exc
    except (psycopg.Error, CommandError) as exc:
        raise PgPolicyError(_one_line(exc)) from exc
    finally:
        engine.dispose()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _require_roles(conn: psycopg.Connection[Any], roles: Sequence[str]) -> None:
    rows = conn.execute(
        "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY(%s)", [list(roles)]
    ).fetchall()
    found = {name for (name,) in rows}
    missing = [role for role in roles if role not in found]
    if missing:
        raise PgPolicyError(f"role(s) do not exist: {', '.join(missing)}; nothing was changed")


def _grants(roles: Sequence[str]) -> list[sql.Composed]:
    """USAGE on the schema and EXECUTE on the public functions: what policies call.

    GRANT is idempotent: granting again what a role already has changes nothing.
    """
    who = sql.SQL(", ").join(sql.Identifier(role) for role in roles)
    statements = [sql.SQL("GRANT USAGE ON SCHEMA pgpolicy TO {}").format(who)]
    statements.extend(
        # The signatures are constants of this module, never input.
        sql.SQL("GRANT EXECUTE ON FUNCTION pgpolicy.{} TO {}").format(sql.SQL(signature), who)
        for signature in PUBLIC_FUNCTIONS
    )
    return statements


def _privileges(conn: psycopg.Connection[Any], roles: Sequence[str]) -> dict[str, set[str]]:
    """Per role, the privileges granted to it directly on the schema and its functions."""
    rows = conn.execute(
        """
        SELECT g.rolname::text, 'schema ' || n.nspname || ' ' || a.privilege_type
          FROM pg_catalog.pg_namespace n
         CROSS JOIN LATERAL aclexplode(n.nspacl) a
          JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
         WHERE n.nspname = 'pgpolicy' AND g.rolname = ANY(%(roles)s)
        UNION ALL
        SELECT g.rolname::text, p.oid::regprocedure::text || ' ' || a.privilege_type
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         CROSS JOIN LATERAL aclexplode(p.proacl) a
          JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
         WHERE n.nspname = 'pgpolicy' AND g.rolname = ANY(%(roles)s)
        """,
        {"roles": list(roles)},
    ).fetchall()
    privileges: dict[str, set[str]] = {}
    for role, privilege in rows:
        privileges.setdefault(role, set()).add(privilege)
    return privileges
