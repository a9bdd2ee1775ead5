"""pgpolicy runtime 10: Odoo's standard sequences made, altered and dropped for the serving role.

Revision ID: 0010
Revises: 0009

SECURITY DEFINER functions that do CREATE / ALTER / DROP SEQUENCE ir_sequence_<id> only as
the ir_sequence rows of the database ask (the Odoo bridge calls them instead of running the
DDL itself when its role may not). The SQL lives in sql/: runtime_0010_sequences.sql and the
file that reverses it, runtime_0010_sequences_drop.sql.
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0010_sequences.sql")


def downgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0010_sequences_drop.sql")
