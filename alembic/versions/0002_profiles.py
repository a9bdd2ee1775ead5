"""pgpolicy runtime 2: access profiles (membership, windows, audit, sign-in refusals).

Revision ID: 0002
Revises: 0001

The SQL is in sql/runtime_0002.sql and sql/runtime_0002_drop.sql.
"""

from alembic.util import CommandError

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file, policies_calling

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
# Policies calling these keep this revision from being downgraded.
PROFILE_FUNCTIONS = (
    "planned_in_profiles",
    "planned_profile_in_force",
    "local_today",
    "user_tz",
    "check_locked",
)


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0002.sql")


def downgrade() -> None:
    in_use = policies_calling(op.get_bind(), PROFILE_FUNCTIONS)
    if in_use:
        raise CommandError(
            f"{in_use} row-level security policies still use access profiles: apply the "
            "policies without profiles first (pgpolicy apply), then downgrade"
        )
    execute_sql_file(op.get_bind(), "runtime_0002_drop.sql")
