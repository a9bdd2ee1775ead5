"""pgpolicy runtime 4: the bridge's enabled subset of access profiles.

Revision ID: 0004
Revises: 0003

planned_write() recognises an UPDATE or INSERT behind the bridge's prefix when it also
carries `pgpolicy.set_profiles(...)`. The SQL lives in sql/: runtime_0004.sql and the file
that reverses it, runtime_0004_drop.sql. No function is added, so nothing keeps this
revision from being downgraded.
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0004.sql")


def downgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0004_drop.sql")
