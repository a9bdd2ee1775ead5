"""pgpolicy runtime 3: planned_write() recognises writes the bridge prefixes with their context.

Revision ID: 0003
Revises: 0001

A revision of the pgpolicy runtime. Its SQL lives in sql/: runtime_0003.sql and the file
that reverses it, runtime_0003_drop.sql. No new function, so no new grant.
"""

from alembic import op
from pgpolicy.runtime import execute_sql_file

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0003.sql")


def downgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0003_drop.sql")
