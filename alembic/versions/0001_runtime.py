"""pgpolicy runtime 1: context functions, plan-time functions, auditor view.

Revision ID: 0001
Revises:

The SQL is in sql/runtime.sql and sql/runtime_drop.sql.
"""

from alembic.util import CommandError

from alembic import op
from pgpolicy.runtime import execute_sql_file

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _policies_using_runtime() -> int:
    """How many policies call a runtime function (PostgreSQL records these dependencies)."""
    result = op.get_bind().exec_driver_sql(
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
    return int(result.scalar() or 0)


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime.sql")


def downgrade() -> None:
    in_use = _policies_using_runtime()
    if in_use:
        raise CommandError(
            f"{in_use} row-level security policies still use the runtime: remove them "
            "first (pgpolicy apply --remove, or DROP POLICY), then downgrade"
        )
    execute_sql_file(op.get_bind(), "runtime_drop.sql")
