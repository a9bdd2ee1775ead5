"""pgpolicy runtime 9: analyst logins, whose context comes from a mapping in the database.

Revision ID: 0009
Revises: 0008

The SQL lives in sql/: runtime_0009.sql (the mapping, the group role pgpolicy_analysts,
the readers that derive an analyst session's context from the mapping, set_context and
set_profiles refusing it). When the SQL plan-time functions are in place, uid(), su() and
planned_shadow() of version 9 (sql/planned_sql_0009.sql) are installed too; the C library
reads only sealed contexts, so under it an analyst session sees nothing. The downgrade puts
back version 8's SQL functions (planned_sql_0008.sql) when they are in place, then runs
runtime_0009_drop.sql.
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file, sql_planner_in_place

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0009.sql")
    if sql_planner_in_place(op.get_bind()):
        execute_sql_file(op.get_bind(), "planned_sql_0009.sql")


def downgrade() -> None:
    if sql_planner_in_place(op.get_bind()):
        execute_sql_file(op.get_bind(), "planned_sql_0008.sql")
    execute_sql_file(op.get_bind(), "runtime_0009_drop.sql")
