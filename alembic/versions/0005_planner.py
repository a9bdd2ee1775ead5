"""pgpolicy runtime 5: plan-time functions that may be compiled (pgpolicy_planner).

Revision ID: 0005
Revises: 0004

The readers that query tables are PL/pgSQL; set_context() and set_profiles() forget
cached plans through forget_context_plans(), which the optional C implementation of the
plan-time functions (`pgpolicy planner on`) narrows to the plans that folded the context;
planner() says which implementation is in place. The SQL lives in sql/: runtime_0005.sql
and the file that reverses it, runtime_0005_drop.sql, after planned_sql.sql has put the SQL
plan-time functions back. Nothing new is called by policies, so nothing keeps this revision
from being downgraded.
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0005.sql")


def downgrade() -> None:
    execute_sql_file(op.get_bind(), "planned_sql.sql")
    execute_sql_file(op.get_bind(), "runtime_0005_drop.sql")
