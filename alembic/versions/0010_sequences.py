"""pgpolicy runtime 10: Odoo's standard sequences for the serving role; the rules at the last apply.

Revision ID: 0010
Revises: 0009

SECURITY DEFINER functions that do CREATE / ALTER / DROP SEQUENCE ir_sequence_<id> only as
the ir_sequence rows of the database ask (the Odoo bridge calls them instead of running the
DDL itself when its role may not). And a digest of Odoo's rules, access rights, models and
fields recorded by `pgpolicy apply`, which the bridge compares at every registry load to
remind that apply is due. The SQL lives in sql/: runtime_0010_sequences.sql,
runtime_0010_applied.sql and the files that reverse them (..._drop.sql).
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0010_sequences.sql")
    execute_sql_file(op.get_bind(), "runtime_0010_applied.sql")


def downgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0010_applied_drop.sql")
    execute_sql_file(op.get_bind(), "runtime_0010_sequences_drop.sql")
