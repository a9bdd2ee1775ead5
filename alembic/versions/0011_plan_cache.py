"""pgpolicy runtime 11: cheaper planning with the SQL plan-time functions.

Revision ID: 0011
Revises: 0010

The SQL lives in sql/: runtime_0011_plan_cache.sql (the readers check the seal once per
call and look for an analyst mapping only without one; the mark of a plan made inside a
function). When the SQL plan-time functions are in place, sql/planned_sql.sql is installed
too: its forget_context_plans() forgets cached plans only when a prepared statement (the
client's or the mark) exists, instead of DISCARD PLANS at every set_context. The C library
keeps its own, exact, forgetting. The downgrade puts back version 9's SQL functions
(planned_sql_0009.sql) when they are in place, then runs runtime_0011_plan_cache_drop.sql.
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file, sql_planner_in_place

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0011_plan_cache.sql")
    if sql_planner_in_place(op.get_bind()):
        execute_sql_file(op.get_bind(), "planned_sql.sql")


def downgrade() -> None:
    if sql_planner_in_place(op.get_bind()):
        execute_sql_file(op.get_bind(), "planned_sql_0009.sql")
    execute_sql_file(op.get_bind(), "runtime_0011_plan_cache_drop.sql")
