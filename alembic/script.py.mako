"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

A revision of the pgpolicy runtime. Its SQL lives in sql/, never here: an upgrade file
and the file that reverses it. In the upgrade file: CREATE OR REPLACE pgpolicy.version()
with the new version, REVOKE EXECUTE ... FROM PUBLIC on every new function, and add the
functions the app roles call to pgpolicy.runtime.PUBLIC_FUNCTIONS (`pgpolicy init` grants
that list; migrations grant nothing, since the roles are only known to init).
"""

from alembic import op
from pgpolicy.deploy.runtime import execute_sql_file

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_${up_revision}.sql")


def downgrade() -> None:
    execute_sql_file(op.get_bind(), "runtime_${up_revision}_drop.sql")
