"""pgpolicy runtime 8: `like-leakproof on` records what it changes, so `off` and this
revision's downgrade restore exactly what was there.

Revision ID: 0008
Revises: 0007

LEAKPROOF is a flag of pg_catalog's functions, outside the runtime's schema: without a
record, a downgrade to base left the LIKE-family functions LEAKPROOF. The SQL lives in sql/:
runtime_0008_leakproof.sql; the downgrade first runs leakproof_restore.sql (what `pgpolicy
like-leakproof off` runs too), then runtime_0008_leakproof_drop.sql.
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0008_leakproof.sql")


def downgrade() -> None:
    execute_sql_file(op.get_bind(), "leakproof_restore.sql")
    execute_sql_file(op.get_bind(), "runtime_0008_leakproof_drop.sql")
