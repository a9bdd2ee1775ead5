"""Who is asking, and the statements that tell the database.

A principal is the Odoo user a transaction works for, the companies of the call and the
access profiles the user enabled for the session (None: all of them); a context is what
one statement runs with: the principal plus superuser mode (and shadow mode), as
`pgpolicy.set_context(uid, company_ids, su, shadow, profiles, token, next_token_hash)`
(sql/runtime_0006.sql) takes it. The tokens lock the context of the transaction: see
`statements.Tokens`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SYSTEM_UID = 1  # Odoo's SUPERUSER_ID: always in superuser mode
MAX_ID = 999_999_999  # what the runtime parses: up to nine digits
# What pgpolicy.profile accepts as a name (CHECK in sql/runtime_0002.sql): names become
# statement text, so nothing else passes (no quote, no `%`, no separator).
PROFILE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
MAX_PROFILES = 100
TOKEN = re.compile(r"[0-9a-f]{64}")  # a secret, or the sha256 of one, in lowercase hex


class BridgeError(ValueError):
    """A context the bridge refuses to send: the statement is not run."""


def check_id(value: object, what: str) -> int:
    """`value` as a positive database id, or BridgeError (bool is not an id)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise BridgeError(f"{what} must be a positive integer id, got {value!r}")
    return value


def check_profiles(value: object) -> tuple[str, ...]:
    """`value` as a non-empty list of distinct profile names, or BridgeError."""
    if not isinstance(value, list | tuple) or not value:
        raise BridgeError(f"enabled profiles must be a non-empty list of names, got {value!r}")
    if len(value) > MAX_PROFILES:
        raise BridgeError(f"enabled profiles: at most {MAX_PROFILES} names, got {len(value)}")
    for name in value:
        if not isinstance(name, str) or not PROFILE_NAME.fullmatch(name):
            raise BridgeError(
                f"enabled profiles: {name!r} is not a profile name "
                "(lowercase letters, digits, '_' and '-', starting with a letter)"
            )
    if len(set(value)) != len(value):
        raise BridgeError(f"enabled profiles: a name is given twice in {list(value)!r}")
    return tuple(value)


@dataclass(frozen=True)
class Principal:
    """An Odoo user, the allowed companies of the call (empty: all the user's) and the
    profiles enabled for the session (None: all of the user's)."""

    uid: int
    company_ids: tuple[int, ...] = ()
    profiles: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        check_id(self.uid, "uid")
        for company in self.company_ids:
            check_id(company, "company id")
        if self.profiles is not None:
            check_profiles(self.profiles)

    @property
    def is_system(self) -> bool:
        """uid 1 is always in superuser mode (odoo-semantics §1.6)."""
        return self.uid == SYSTEM_UID

    def with_companies(self, company_ids: tuple[int, ...]) -> Principal:
        return Principal(self.uid, company_ids, self.profiles)


SYSTEM = Principal(SYSTEM_UID)


@dataclass(frozen=True)
class Context:
    """What one statement runs with."""

    uid: int
    company_ids: tuple[int, ...]
    su: bool
    shadow: bool = False  # mirrors report what they would deny instead of denying
    profiles: tuple[str, ...] | None = None  # the enabled subset; None: all the user's

    def sql(self, token: str | None = None, next_token_hash: str | None = None) -> str:
        """The `set_context` call for this context, as statement text.

        `token` is the secret whose hash the transaction's context was locked with (None
        for the first call of a transaction), `next_token_hash` the sha256 of the secret
        that locks it from now on (statements.Tokens). Every value is a checked integer,
        a boolean, a profile name of letters, digits, '_' and '-', or lowercase hex, so the
        text is built from those and keywords only; it carries no `%`, so it can precede a
        query whose parameters the driver interpolates. The database checks that the
        profile names are the user's (`set_context` refuses any other: the statement
        fails, access is denied).
        """
        check_id(self.uid, "uid")
        companies = ",".join(str(check_id(c, "company id")) for c in self.company_ids)
        su = "true" if self.su else "false"
        arguments = str(self.uid) + ", '{" + companies + "}', " + su
        if self.shadow:
            arguments += ", shadow => true"
        if self.profiles is not None:
            names = ",".join("'" + name + "'" for name in check_profiles(self.profiles))
            arguments += ", profiles => ARRAY[" + names + "]::text[]"
        for name, value in (("token", token), ("next_token_hash", next_token_hash)):
            if value is not None:
                if not isinstance(value, str) or not TOKEN.fullmatch(value):
                    raise BridgeError(f"{name} must be 64 lowercase hex digits")
                arguments += ", " + name + " => '" + value + "'"
        return "SELECT pgpolicy.set_context(" + arguments + ");"


SYSTEM_CONTEXT = Context(SYSTEM_UID, (), True)


def statement_context(
    principal: Principal | None, orm: bool, system: bool = False, shadow: bool = False
) -> Context | None:
    """The context of one statement.

    - inside an explicit system block: the system principal (gates lifted too);
    - no principal: None — nothing is sent and protected tables return nothing;
    - uid 1: superuser mode always, as Odoo forces it;
    - a statement the ORM issues (after its own access check, or in superuser mode):
      superuser mode, mirrors lifted, gates kept;
    - raw SQL from module code: the user, mirrors enforced (in shadow mode: reported).
    """
    if system:
        return SYSTEM_CONTEXT
    if principal is None:
        return None
    su = orm or principal.is_system
    return Context(principal.uid, principal.company_ids, su, shadow, principal.profiles)


SESSION_KEY = "pgpolicy_profiles"  # in Odoo's HTTP session: {"uid": 15, "profiles": [...]}


def session_profiles(choice: object, uid: int) -> tuple[str, ...] | None:
    """The profiles `uid` enabled, from the value kept in the HTTP session under SESSION_KEY.

    None (no choice, or a choice another user made on the same browser session): all of
    the user's profiles. A value of any other shape is refused (BridgeError): a choice
    that cannot be read must deny, never widen to all profiles.
    """
    if choice is None:
        return None
    if not isinstance(choice, Mapping) or set(choice) != {"uid", "profiles"}:
        raise BridgeError(
            f"the session's choice of access profiles is malformed: {choice!r}; "
            "choose again (POST /pgpolicy/profiles) or sign in again"
        )
    if check_id(choice["uid"], "uid of the profile choice") != uid:
        return None
    return check_profiles(choice["profiles"])


def session_choice(uid: int, profiles: object) -> dict[str, object] | None:
    """The value to keep in the HTTP session for `uid` enabling `profiles` (None: clear)."""
    if profiles is None:
        return None
    return {"uid": check_id(uid, "uid"), "profiles": list(check_profiles(profiles))}


def companies_from_context(context: Mapping[str, Any] | None) -> tuple[int, ...]:
    """The `allowed_company_ids` of an Odoo call context, in the given order.

    Absent or empty means Odoo's default (all the user's active companies): `()`. Whether
    the ids are the user's is checked in the database (`pgpolicy.company_ids()` denies all
    otherwise), as Odoo checks them (`env.companies`); here only their form is.
    """
    if not context:
        return ()
    given = context.get("allowed_company_ids")
    if given is None or given is False:
        return ()
    if not isinstance(given, list | tuple):
        raise BridgeError(f"allowed_company_ids must be a list of company ids, got {given!r}")
    return tuple(check_id(c, "allowed company id") for c in given)
