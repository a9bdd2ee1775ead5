"""Who is asking, and the one statement that tells the database.

A principal is the Odoo user a transaction works for and the companies of the call;
a context is what one statement runs with: the principal plus superuser mode, as
`pgpolicy.set_context(uid, company_ids, su)` takes it (sql/runtime.sql).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SYSTEM_UID = 1  # Odoo's SUPERUSER_ID: always in superuser mode
MAX_ID = 999_999_999  # what the runtime parses: up to nine digits


class BridgeError(ValueError):
    """A context the bridge refuses to send: the statement is not run."""


def check_id(value: object, what: str) -> int:
    """`value` as a positive database id, or BridgeError (bool is not an id)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise BridgeError(f"{what} must be a positive integer id, got {value!r}")
    return value


@dataclass(frozen=True)
class Principal:
    """An Odoo user and the allowed companies of the call (empty: all the user's)."""

    uid: int
    company_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_id(self.uid, "uid")
        for company in self.company_ids:
            check_id(company, "company id")

    @property
    def is_system(self) -> bool:
        """uid 1 is always in superuser mode (odoo-semantics §1.6)."""
        return self.uid == SYSTEM_UID

    def with_companies(self, company_ids: tuple[int, ...]) -> Principal:
        return Principal(self.uid, company_ids)


SYSTEM = Principal(SYSTEM_UID)


@dataclass(frozen=True)
class Context:
    """What one statement runs with."""

    uid: int
    company_ids: tuple[int, ...]
    su: bool
    shadow: bool = False  # mirrors report what they would deny instead of denying

    def sql(self) -> str:
        """The `set_context` call for this context, as statement text.

        Every value is a checked integer or a boolean, so the text is built from digits
        and keywords only; it carries no `%`, so it can precede a query whose parameters
        the driver interpolates.
        """
        check_id(self.uid, "uid")
        companies = ",".join(str(check_id(c, "company id")) for c in self.company_ids)
        su = "true" if self.su else "false"
        arguments = str(self.uid) + ", '{" + companies + "}', " + su
        call = "SELECT pgpolicy.set_context(" + arguments + ");"
        if self.shadow:
            # Before set_context, whose DISCARD PLANS then covers it too.
            return "SELECT set_config('pgpolicy.shadow', 'true', true); " + call
        return call


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
    return Context(principal.uid, principal.company_ids, orm or principal.is_system, shadow)


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
