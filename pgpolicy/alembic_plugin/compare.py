"""Autogenerate: the policy set compiled from the database's own rules, compared with the
deployed one, as operations (`alembic revision --autogenerate`, `alembic check`)."""

from __future__ import annotations

import os
from typing import Any

import psycopg
from alembic.util import CommandError

from pgpolicy.alembic_plugin.operations import plan_operations
from pgpolicy.alembic_plugin.render import IMPORT_LINE, MYPY_LINE, register_renderers
from pgpolicy.db import pinned_search_path
from pgpolicy.deploy.apply import plan_for
from pgpolicy.deploy.catalog import read_deployed
from pgpolicy.deploy.policy_set import build_policy_set, policy_roles
from pgpolicy.deploy.validate import checked_policy_set
from pgpolicy.odoo.metadata import read_catalog
from pgpolicy.profiles.store import read_profiles

ROLES_OPTION = "pgpolicy_app_roles"  # alembic.ini [alembic] option, comma separated
ROLES_X_ARGUMENT = "app_role"  # alembic -x app_role=ROLE[,ROLE]
ROLES_ENV = "PGPOLICY_APP_ROLE"  # comma separated
DEEP_OPTION = "pgpolicy_deep_check"  # -x / alembic.ini: compare PostgreSQL's renderings too
DEEP_ENV = "PGPOLICY_DEEP_CHECK"


def setting(migration_context: Any, x_argument: str, ini_option: str, env: str) -> str | None:
    """A pgpolicy setting: `alembic -x NAME=...`, else the `[alembic]` option, else the env var."""
    environment = getattr(migration_context, "environment_context", None)
    value: str | None = None
    if environment is not None:
        value = environment.get_x_argument(as_dictionary=True).get(x_argument)
        if not value and environment.config is not None:
            value = environment.config.get_main_option(ini_option)
    return value or os.environ.get(env) or None


def app_roles(migration_context: Any) -> tuple[str, ...]:
    """The app roles policies apply TO (comma separated, at least one).

    `alembic -x app_role=ROLE[,ROLE] ...`, else `pgpolicy_app_roles` in the
    `[alembic]` section of alembic.ini, else `PGPOLICY_APP_ROLE`.
    """
    raw = setting(migration_context, ROLES_X_ARGUMENT, ROLES_OPTION, ROLES_ENV) or ""
    roles = tuple(r.strip() for r in raw.split(",") if r.strip())
    if not roles:
        raise CommandError(
            f"pgpolicy: which app role do policies apply to? Pass -x {ROLES_X_ARGUMENT}=ROLE, "
            f"set {ROLES_OPTION} in the [alembic] section of alembic.ini, or set {ROLES_ENV}."
        )
    return roles


def deep_check(migration_context: Any) -> bool:
    """Whether to compare PostgreSQL's renderings too (`-x pgpolicy_deep_check=true`, ...)."""
    raw = setting(migration_context, DEEP_OPTION, DEEP_OPTION, DEEP_ENV) or ""
    return raw.strip().lower() in ("1", "true", "yes", "on")


def psycopg_connection(connection: Any) -> Any:
    """The psycopg connection under a SQLAlchemy one (reads share the migration's transaction)."""
    driver = getattr(getattr(connection, "connection", None), "driver_connection", None)
    if not isinstance(driver, psycopg.Connection):
        raise CommandError(
            "pgpolicy: autogenerate needs the psycopg driver: sqlalchemy.url = "
            "postgresql+psycopg://..."
        )
    return driver


def compare_policies(autogen_context: Any, upgrade_ops: Any) -> None:
    """Append to `upgrade_ops` what turns the deployed policies into the desired ones."""
    if getattr(autogen_context, "_pgpolicy_compared", False):
        return  # registered twice (plugin and classic): compare once
    autogen_context._pgpolicy_compared = True
    register_renderers()
    roles = app_roles(autogen_context.migration_context)
    conn = psycopg_connection(autogen_context.connection)
    deep = deep_check(autogen_context.migration_context)
    with pinned_search_path(conn):  # the DBA's connection: names resolve in pg_catalog only
        catalog, profiles = read_catalog(conn), read_profiles(conn)
        policy_set = checked_policy_set(
            conn, lambda rejected: build_policy_set(catalog, roles, profiles, rejected)
        )
        deployed = read_deployed(conn)
        plan = plan_for(conn, policy_set, roles, deep=deep, deployed=deployed)
    operations = plan_operations(plan, deployed, policy_set, sorted(policy_roles(roles)))
    if operations:
        autogen_context.imports.update((MYPY_LINE, IMPORT_LINE))
    upgrade_ops.ops.extend(operations)


_classic: list[bool] = []


def register_comparator() -> None:
    """Register the comparator the classic way (`comparators.dispatch_for("schema")`).

    For environments that do not name plugins (and alembic < 1.18); harmless
    together with the plugin: the comparison runs once.
    """
    if _classic:
        return
    from alembic.autogenerate import comparators

    def compare_schema(autogen_context: Any, upgrade_ops: Any, schemas: Any) -> None:
        if None in schemas or "public" in schemas:
            compare_policies(autogen_context, upgrade_ops)

    comparators.dispatch_for("schema")(compare_schema)
    _classic.append(True)
