"""Sign-in refusals: access profiles with `deny_login` block their members' sign-in.

The database decides (`pgpolicy.login_allowed(uid)`, runtime 2): membership and the
profile's validity window are read there, never from the application, and every refusal
is recorded in `pgpolicy.login_attempt`. The caller must commit the transaction that
asked, or the record goes with its rollback.
"""

from __future__ import annotations

from typing import Any, Protocol

HAS_PROFILES = "SELECT to_regprocedure('pgpolicy.login_allowed(integer)') IS NOT NULL"
LOGIN_ALLOWED = "SELECT pgpolicy.login_allowed(%s)"


class Cursor(Protocol):
    """The DB-API cursor both psycopg2 (Odoo) and psycopg 3 (tests) provide."""

    def execute(self, query: Any, params: Any = ...) -> Any: ...

    def fetchone(self) -> Any: ...


def login_allowed(cursor: Cursor, uid: int) -> bool:
    """Whether `uid` may sign in; True where the runtime has no profiles (before runtime 2)."""
    cursor.execute(HAS_PROFILES)
    if not cursor.fetchone()[0]:
        return True
    cursor.execute(LOGIN_ALLOWED, (uid,))
    return bool(cursor.fetchone()[0])
