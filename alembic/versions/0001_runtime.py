"""pgpolicy runtime 1: context functions, plan-time functions, auditor view.

Revision ID: 0001
Revises:
"""

from alembic.util import CommandError

from alembic import op
from pgpolicy.resources import sql_dir

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _execute_file(name: str) -> None:
    # Through the driver, verbatim: the file holds $$-quoted bodies, casts and colons
    # that SQLAlchemy's text() would take for bind parameters.
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    driver.execute((sql_dir() / name).read_text())


def _policies_using_runtime() -> int:
    """How many policies call a runtime function (PostgreSQL records these dependencies)."""
    count = (
        op.get_bind()
        .exec_driver_sql(
            """
        SELECT count(DISTINCT d.objid)
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE d.classid = 'pg_catalog.pg_policy'::regclass
           AND d.refclassid = 'pg_catalog.pg_proc'::regclass
           AND n.nspname = 'pgpolicy'
        """
        )
        .scalar()
    )
    return int(count or 0)


def upgrade() -> None:
    _execute_file("runtime.sql")


def downgrade() -> None:
    in_use = _policies_using_runtime()
    if in_use:
        raise CommandError(
            f"{in_use} row-level security policies still call the pgpolicy runtime: "
            "remove them first (pgpolicy apply --remove, or DROP POLICY)"
        )
    _execute_file("runtime_drop.sql")
