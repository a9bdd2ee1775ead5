"""pgpolicy runtime 2: access profiles (membership, windows, audit, sign-in refusals).

Revision ID: 0002
Revises: 0001

The SQL is in sql/runtime_0002.sql and sql/runtime_0002_drop.sql.
"""

from alembic.util import CommandError

from alembic import op
from pgpolicy.runtime import execute_sql_file

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _policies_using_profiles() -> int:
    """How many policies call a profile function (PostgreSQL records these dependencies)."""
    result = op.get_bind().exec_driver_sql(
        """
        SELECT count(DISTINCT d.objid)
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE d.classid = 'pg_catalog.pg_policy'::regclass
           AND d.refclassid = 'pg_catalog.pg_proc'::regclass
           AND n.nspname = 'pgpolicy'
           AND p.proname IN ('planned_in_profiles', 'planned_profile_in_force', 'local_today',
                             'user_tz', 'check_locked')
        """
    )
    return int(result.scalar() or 0)


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0002.sql")


def downgrade() -> None:
    in_use = _policies_using_profiles()
    if in_use:
        raise CommandError(
            f"{in_use} row-level security policies still use access profiles: apply the "
            "policies without profiles first (pgpolicy apply), then downgrade"
        )
    execute_sql_file(op.get_bind(), "runtime_0002_drop.sql")
