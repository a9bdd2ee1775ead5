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
from pgpolicy.deploy.runtime import execute_sql_file, policies_calling

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# Policies calling these keep this revision from being downgraded.
SHADOW_FUNCTIONS = ("planned_shadow", "shadow_denied")


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0003.sql")


def downgrade() -> None:
    in_use = policies_calling(op.get_bind(), SHADOW_FUNCTIONS)
    if in_use:
        raise CommandError(
            f"{in_use} row-level security policies still use the runtime: remove them "
            "first (pgpolicy apply --remove, or DROP POLICY), then downgrade"
        )
    execute_sql_file(op.get_bind(), "runtime_0003_drop.sql")
