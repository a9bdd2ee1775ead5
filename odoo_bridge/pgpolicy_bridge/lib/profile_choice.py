"""The enabled subset of access profiles: the two questions the selector asks the database.

`PROFILE_NAMES` lists the current user's profiles (NULL without a context); a choice must
be among them. The bridge then carries the choice on every transaction of the session
(`Context.sql`), and `set_context` refuses, with the database's own message, a name that is
not one of the user's (sql/runtime_0006.sql). `set_profiles` is not used: the context of a
bridge transaction is locked (statements.Tokens), and only `set_context` changes it.
"""

from __future__ import annotations

from typing import Any

from .context import BridgeError, check_profiles
from .login import Cursor

PROFILE_NAMES = "SELECT pgpolicy.profile_names()"


def profile_names(cursor: Cursor) -> list[str] | None:
    """The current user's profiles, or None without a context."""
    cursor.execute(PROFILE_NAMES)
    names: Any = cursor.fetchone()[0]
    return None if names is None else list(names)


def check_choice(cursor: Cursor, profiles: object) -> tuple[str, ...]:
    """`profiles` if they are all the current user's; else BridgeError naming the others."""
    names = check_profiles(profiles)
    mine = profile_names(cursor) or []
    unknown = [name for name in names if name not in mine]
    if unknown:
        raise BridgeError(f"not a profile of the current user: {', '.join(unknown)}")
    return names
