"""DDL a serving Odoo attempts at run time, and what the bridge does with it.

The serving role owns none of Odoo's tables and may not create in schema public (pgpolicy
`init` revokes CREATE there): row-level security could not hold it otherwise. Odoo does DDL
at run time in a few places; each is decided here:

- Odoo's standard sequences (`ir.sequence`, implementation 'standard': a new warehouse, a new
  company): CREATE / ALTER / DROP SEQUENCE ir_sequence_<id>. Runtime 10 has SECURITY DEFINER
  functions that do exactly what the database's ir_sequence rows ask for and nothing else
  (sql/runtime_0010_sequences.sql); a role that may not do the DDL itself goes through them.
- Module install, upgrade and uninstall from the Apps menu (and Settings' module
  checkboxes), `x_` fields and `x_` models in Settings → Technical: DDL on Odoo's tables,
  which only their owner may do. A serving role that is not their owner is refused before
  anything is written, with one line that names the supported path (`refusal`).

Plain Python: the cursor is Odoo's (psycopg2) or a test's (psycopg 3).
"""

from __future__ import annotations

from typing import Any, Protocol


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ...) -> Any: ...

    def fetchone(self) -> Any: ...


# Whether the current role may change Odoo's schema: a superuser, or a member of the role
# that owns Odoo's tables (the owner of ir_model, which every Odoo database has).
MAY_CHANGE_SCHEMA = """
SELECT r.rolsuper OR coalesce(pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE'), false),
       current_user::text
  FROM pg_catalog.pg_roles r
  LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass('public.ir_model')
 WHERE r.rolname = current_user
"""
HAS_SEQUENCE_ROUTINES = (
    "SELECT to_regprocedure('pgpolicy.odoo_sequence_create(text, bigint, bigint)') IS NOT NULL"
)
SEQUENCE_CREATE = "SELECT pgpolicy.odoo_sequence_create(%s, %s, %s)"
SEQUENCE_ALTER = "SELECT pgpolicy.odoo_sequence_alter(%s, %s, %s)"
SEQUENCE_DROP = "SELECT pgpolicy.odoo_sequence_drop(%s)"

SUPPORTED_PATH = (
    "run it as the owner role (odoo-bin -i/-u <module> --stop-after-init, or odoo-bin shell "
    "connected as the owner role), then pgpolicy apply --app-role {role}"
)


def schema_rights(cursor: Cursor) -> tuple[bool, str]:
    """(whether the connection's role may change Odoo's schema, the role's name)."""
    cursor.execute(MAY_CHANGE_SCHEMA)
    allowed, role = cursor.fetchone()
    return bool(allowed), str(role)


def refusal(operation: str, role: str) -> str:
    """The one line an administrator reads when the serving role may not do `operation`."""
    return (
        f"pgpolicy: {operation} changes the database schema, which the serving role {role} "
        f"may not do: {SUPPORTED_PATH.format(role=role)}"
    )


def refusal_for(cursor: Cursor, operation: str) -> str | None:
    """The refusal of `operation` on this connection, or None when its role may do it."""
    allowed, role = schema_rights(cursor)
    return None if allowed else refusal(operation, role)


def routes_sequences(cursor: Cursor) -> bool:
    """Whether Odoo's sequence DDL must go through the runtime's functions on this
    connection: its role may not do it itself, and the runtime (10 or later) has them."""
    if schema_rights(cursor)[0]:
        return False
    cursor.execute(HAS_SEQUENCE_ROUTINES)
    return bool(cursor.fetchone()[0])


def create_sequence(cursor: Cursor, name: str, increment: int, start: int) -> None:
    cursor.execute(SEQUENCE_CREATE, (name, increment, start))


def alter_sequence(
    cursor: Cursor, name: str, increment: int | None = None, restart: int | None = None
) -> None:
    cursor.execute(SEQUENCE_ALTER, (name, increment, restart))


def drop_sequences(cursor: Cursor, names: list[str]) -> None:
    if names:
        cursor.execute(SEQUENCE_DROP, (list(names),))
