"""pgpolicy runtime 6: a context that only set_context() can establish.

Revision ID: 0006
Revises: 0005

set_context() seals the settings of the context with an HMAC bound to the transaction,
under a key only the runtime's owner can read, and every reader checks the seal: settings
written by hand, left from another transaction or session, or changed while a statement
runs read as "no access". set_context() takes shadow mode, the enabled profiles and the
one-time tokens that lock a transaction's context (the bridge's); it refuses to be called
from inside another statement. The SQL lives in sql/: runtime_0006.sql and the file that
reverses it, runtime_0006_drop.sql, run after sql/planned_sql_0005.sql has put version 5's
SQL plan-time functions back (the C library of this version reads the seal). Nothing new is
called by policies, so nothing keeps this revision from being downgraded.
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    planner = connection.exec_driver_sql("SELECT pgpolicy.planner()").scalar()
    execute_sql_file(connection, "runtime_0006.sql")
    if planner == "c":  # uid() and context_key() are C functions too: keep them so
        execute_sql_file(connection, "planned_c.sql")


def downgrade() -> None:
    execute_sql_file(op.get_bind(), "planned_sql_0005.sql")
    execute_sql_file(op.get_bind(), "runtime_0006_drop.sql")
