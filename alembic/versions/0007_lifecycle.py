"""pgpolicy runtime 7: relations created after apply are protected from the moment they exist.

Revision ID: 0007
Revises: 0006

An event trigger at the end of CREATE TABLE / VIEW / SEQUENCE in schema public enables row
level security with a policy admitting only the system principal on a new table, sets
security_invoker on a new view, and records each in pgpolicy.pending_relation until
`pgpolicy apply` deploys what it needs. The SQL lives in sql/: runtime_0007_lifecycle.sql
and the file that reverses it, runtime_0007_lifecycle_drop.sql. The event trigger itself
(runtime_0007_event_trigger.sql) only when a superuser installs: PostgreSQL refuses event
triggers to everyone else, so a runtime installed in managed mode has none.
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0007_lifecycle.sql")
    superuser = op.get_bind().exec_driver_sql(
        "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user"
    )
    if superuser.scalar():
        execute_sql_file(op.get_bind(), "runtime_0007_event_trigger.sql")


def downgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_0007_lifecycle_drop.sql")
