"""The alembic environment that installs, upgrades and removes the pgpolicy runtime.

The runtime is schema `pgpolicy` (its SQL lives in `sql/`). `pgpolicy init --dsn DSN
--app-role ROLE` runs this environment and then grants the app roles; that is the usual
way. A DBA can also run it with alembic's own command line, connected as a superuser (or,
in managed mode, as the role that owns the database's tables: pgpolicy.deploy.roles):

    alembic -c alembic/alembic.ini -x dsn='host=db dbname=odoo user=postgres' upgrade head
    alembic -c alembic/alembic.ini -x dsn='host=db dbname=odoo user=postgres' current
    alembic -c alembic/alembic.ini -x dsn='host=db dbname=odoo user=postgres' downgrade base

`dsn` is any libpq connection string or URI; left out, the standard PG* environment
variables apply. In an installed wheel the environment is the package's `_alembic`
directory: `python -c 'import pgpolicy.resources as r; print(r.alembic_dir())'` prints
where. Through alembic directly, nothing is granted: run `pgpolicy init` afterwards (it
only grants when the runtime is already at head), or grant USAGE on schema pgpolicy and
EXECUTE on its functions yourself.

Where the bookkeeping lives: alembic's version table is `pgpolicy.alembic_version`, inside
the runtime's own schema. When a run ends at base (a full downgrade, or a command that
found nothing installed), the version table and the then-empty schema are dropped in the
same transaction, so a removed runtime leaves no trace in the database.

Offline mode (`--sql`) is not supported: the migrations execute the files of `sql/`
verbatim through the driver; a DBA who wants to read the DDL reads those files.
"""

from __future__ import annotations

from logging.config import fileConfig

import psycopg
from alembic.util import CommandError
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from alembic import context
from pgpolicy.db import connect
from pgpolicy.deploy.roles import require_deployer
from pgpolicy.errors import PgPolicyError

SCHEMA = "pgpolicy"
VERSION_TABLE = "alembic_version"
# Two installs racing on one database would both try to create the version table.
LOCK = "SELECT pg_advisory_xact_lock(hashtext('pgpolicy.runtime'))"


def _require_deployer(connection: Connection) -> None:
    """A superuser, or a role that may deploy in managed mode (pgpolicy.deploy.roles)."""
    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise CommandError("the runtime migrations need a psycopg connection")
    try:
        require_deployer(driver)
    except PgPolicyError as exc:
        raise CommandError(str(exc)) from exc


def _remove_traces_at_base(connection: Connection) -> None:
    """At base, drop the version table and the schema, if nothing else lives in it."""
    version_table = connection.exec_driver_sql(
        "SELECT to_regclass('pgpolicy.alembic_version')"
    ).scalar()
    if version_table is not None:
        at_base = not connection.exec_driver_sql(
            "SELECT EXISTS (SELECT FROM pgpolicy.alembic_version)"
        ).scalar()
        if not at_base:
            return
        connection.exec_driver_sql("DROP TABLE pgpolicy.alembic_version")
    # Every object in a schema depends on it: no dependency, nothing lives in it.
    emptied = connection.exec_driver_sql(
        """
        SELECT NOT EXISTS (
            SELECT FROM pg_catalog.pg_depend d
             WHERE d.refclassid = 'pg_catalog.pg_namespace'::regclass
               AND d.refobjid = n.oid)
          FROM pg_catalog.pg_namespace n
         WHERE n.nspname = 'pgpolicy'
        """
    ).scalar()
    if emptied:
        connection.exec_driver_sql("DROP SCHEMA pgpolicy")


def _run(connection: Connection) -> None:
    connection.exec_driver_sql(LOCK)
    _require_deployer(connection)
    # alembic creates its version table in this schema, before the first migration runs.
    connection.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS pgpolicy")
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        version_table_schema=SCHEMA,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    _remove_traces_at_base(connection)


def run_online() -> None:
    """Migrate on the connection `pgpolicy init` passes in, or on one opened from -x dsn."""
    given = context.config.attributes.get("connection")
    if given is not None:  # the caller owns the transaction
        _run(given)
        return
    if context.config.config_file_name is not None:  # alembic's command line: log progress
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    dsn = context.get_x_argument(as_dictionary=True).get("dsn", "")
    # search_path pinned (pgpolicy.db): nothing the app role creates in public resolves here
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: connect(dsn), poolclass=NullPool
    )
    try:
        with engine.begin() as connection:  # one transaction: all or nothing
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise CommandError(
        "the pgpolicy runtime has no offline mode: run it online (-x dsn=...) or read sql/"
    )
run_online()
