"""pgpolicy runtime 1: context functions, plan-time functions, auditor view.

Revision ID: 0001
Revises:

The SQL is in sql/runtime.sql and sql/runtime_drop.sql.
"""

from alembic.util import CommandError

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file, policies_calling

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime.sql")


def downgrade() -> None:
    in_use = policies_calling(op.get_bind())
    if in_use:
        raise CommandError(
            f"{in_use} row-level security policies still use the runtime: remove them "
            "first (pgpolicy apply --remove, or DROP POLICY), then downgrade"
        )
    execute_sql_file(op.get_bind(), "runtime_drop.sql")
