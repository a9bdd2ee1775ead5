"""The enabled subset of access profiles: the two questions the selector asks the database.

`PROFILE_NAMES` lists the current user's profiles (NULL without a context); `SET_PROFILES`
narrows the transaction to some of them, and fails with the database's own message for a
name that is not one of the user's (sql/runtime_0002.sql). The bridge then carries the
choice on every transaction of the session (`Context.sql`).
"""

from __future__ import annotations

from typing import Any

from .context import check_profiles
from .login import Cursor

PROFILE_NAMES = "SELECT pgpolicy.profile_names()"
SET_PROFILES = "SELECT pgpolicy.set_profiles(%s::text[])"


def profile_names(cursor: Cursor) -> list[str] | None:
    """The current user's profiles, or None without a context."""
    cursor.execute(PROFILE_NAMES)
    names: Any = cursor.fetchone()[0]
    return None if names is None else list(names)


def check_choice(cursor: Cursor, profiles: object) -> tuple[str, ...]:
    """`profiles` if the database accepts them for the current user; else its error."""
    names = check_profiles(profiles)
    cursor.execute(SET_PROFILES, (list(names),))
    return names
