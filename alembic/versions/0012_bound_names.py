"""pgpolicy runtime 12: names in the runtime's function bodies resolve when they are created.

Revision ID: 0012
Revises: 0011

The runtime's SQL functions get SQL-standard bodies (bound when created, still inlined) and
its PL/pgSQL functions a pinned search_path, so that no session's search_path decides what
`current_setting`, `||` or `=` mean inside them (sql/runtime_0012_bound.sql says why). When
the SQL plan-time functions are in place, sql/planned_sql.sql is installed again for the
same reason; the downgrade puts back runtime 11's (planned_sql_0011.sql).
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file, sql_planner_in_place

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0012_bound.sql")
    if sql_planner_in_place(op.get_bind()):
        execute_sql_file(op.get_bind(), "planned_sql.sql")


def downgrade() -> None:
    if sql_planner_in_place(op.get_bind()):
        execute_sql_file(op.get_bind(), "planned_sql_0011.sql")
    execute_sql_file(op.get_bind(), "runtime_0012_bound_drop.sql")
