"""Install, upgrade and remove the runtime schema through the project's own alembic environment.

The runtime (`sql/runtime.sql`) holds the context functions policies read. Its
migrations live in `alembic/`; this module runs them in one transaction with the
grants the app roles need, and nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from alembic.config import Config
from psycopg import sql
from sqlalchemy import create_engine

from alembic import command
from pgpolicy.errors import PgPolicyError
from pgpolicy.resources import alembic_dir

HEAD = "1"
PUBLIC_FUNCTIONS = (
    "set_context(integer, integer[], boolean)", "uid()", "su()", "today()", "company_ids()",
    "company_id()", "group_ids()", "planned_uid()", "planned_su()",
    "planned_in_groups(integer[])", "planned_system()", "planned_write()", "version()",
)  # fmt: skip


@dataclass(frozen=True)
class InstallResult:
    before: str | None
    after: str
    roles: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.before != self.after


def installed_version(conn: psycopg.Connection[Any]) -> str | None:
    """The runtime version installed in the database, or None."""
    row = conn.execute(
        "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'pgpolicy' AND p.proname = 'version'"
    ).fetchone()
    if row is None:
        return None
    version = conn.execute("SELECT pgpolicy.version()").fetchone()
    return str(version[0]) if version else None


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(alembic_dir()))
    return config


def _require_superuser(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if not (row and row[0]):
        raise PgPolicyError(
            "installing the runtime needs a superuser: its readers are SECURITY DEFINER "
            "functions that must read past row-level security"
        )


def _require_roles(conn: psycopg.Connection[Any], roles: Sequence[str]) -> None:
    if not roles:
        raise PgPolicyError("at least one --app-role is required")
    rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(roles)])
    missing = sorted(set(roles) - {name for (name,) in rows})
    if missing:
        raise PgPolicyError(f"role(s) do not exist: {', '.join(missing)}")


def _grants(roles: Sequence[str]) -> list[sql.Composed]:
    """USAGE on the schema and EXECUTE on the public functions: what policies call."""
    who = sql.SQL(", ").join(map(sql.Identifier, roles))
    statements = [sql.SQL("GRANT USAGE ON SCHEMA pgpolicy TO {}").format(who)]
    for signature in PUBLIC_FUNCTIONS:
        statements.append(
            sql.SQL("GRANT EXECUTE ON FUNCTION pgpolicy.{} TO {}").format(sql.SQL(signature), who)
        )
    return statements


def install(dsn: str, app_roles: Sequence[str]) -> InstallResult:
    """Upgrade the runtime to head and grant the app roles, in one transaction."""
    with psycopg.connect(dsn) as conn:
        _require_superuser(conn)
        _require_roles(conn, app_roles)
        before = installed_version(conn)
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn))
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            driver = connection.connection.driver_connection
            assert driver is not None
            for statement in _grants(app_roles):
                driver.execute(statement)
    finally:
        engine.dispose()
    return InstallResult(before, HEAD, tuple(app_roles))


def uninstall(dsn: str) -> None:
    """Downgrade the runtime to nothing (refused while pgpolicy policies still use it)."""
    with psycopg.connect(dsn) as conn:
        _require_superuser(conn)
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn))
    try:
        with engine.begin() as connection:
            config = _config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
    except RuntimeError as exc:
        raise PgPolicyError(str(exc)) from exc
    finally:
        engine.dispose()
