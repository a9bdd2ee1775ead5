"""pgpolicy runtime 3: the bridge's prefixed writes, and shadow mode.

Revision ID: 0003
Revises: 0002

planned_write() recognises an UPDATE or INSERT behind the bridge's set_context prefix;
planned_shadow() and shadow_denied() let mirrors report instead of deny. The SQL lives in
sql/: runtime_0003.sql and the file that reverses it, runtime_0003_drop.sql. The new
functions are in pgpolicy.runtime.PUBLIC_FUNCTIONS (policies call them).
"""

from alembic.util import CommandError

from alembic import op
from pgpolicy.runtime import execute_sql_file

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0003.sql")


def _policies_using_shadow_mode() -> int:
    """How many policies call the shadow-mode functions this revision adds."""
    result = op.get_bind().exec_driver_sql(
        """
        SELECT count(DISTINCT d.objid)
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
         WHERE d.classid = 'pg_catalog.pg_policy'::regclass
           AND d.refclassid = 'pg_catalog.pg_proc'::regclass
           AND p.pronamespace = 'pgpolicy'::regnamespace
           AND p.proname IN ('planned_shadow', 'shadow_denied')
        """
    )
    return int(result.scalar() or 0)


def downgrade() -> None:
    in_use = _policies_using_shadow_mode()
    if in_use:
        raise CommandError(
            f"{in_use} row-level security policies still use the runtime: remove them "
            "first (pgpolicy apply --remove, or DROP POLICY), then downgrade"
        )
    execute_sql_file(op.get_bind(), "runtime_0003_drop.sql")
