"""What context each statement on an Odoo connection runs with: the decisions, in one place.

The addon attaches a `CursorState` to every Odoo cursor and calls `Bridge.prepare` from
`Cursor.execute`. Who the cursor works for is found, in this order:

1. an explicit system block in this thread (`Bridge.system()`, also used around
   authentication and cron bookkeeping): the system principal, everything lifted;
2. the principal pinned on the cursor (the request's user after authentication,
   `request.update_env`; the cron bookkeeping cursor);
3. the principal claimed by the first environment built on the cursor with a uid (an
   HTTP or RPC request's user, a cron job's user, uid 1 for the shell and registry
   loading); later environments on the same cursor (`sudo()`, `with_user()`) change
   nothing: the cursor's principal is the one the work was started for. An environment
   without a uid (an anonymous visitor, before authentication) claims the public user,
   until an environment with a uid claims the cursor;
4. the thread's default (the system principal while a cron worker does bookkeeping);
5. nobody: no context is sent, and protected tables return nothing.

The companies are the principal's, unless a call pushed its own (`allowed_company_ids`
of an RPC call, `Bridge.companies`). Superuser mode follows `origin`: on for statements
the ORM issues, off for raw SQL from module code; always on for uid 1.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from .context import SYSTEM, Context, Principal, statement_context
from .origin import OriginRules
from .statements import TransactionState


@dataclass
class CursorState:
    """What the bridge knows about one Odoo cursor (one connection while borrowed)."""

    transaction: TransactionState = field(default_factory=TransactionState)
    pinned: Principal | None = None
    claimed: Principal | None = None
    companies: list[tuple[int, ...]] = field(default_factory=list)

    weak_claim: bool = False

    def claim(self, principal: Principal, weak: bool = False) -> None:
        """The first environment with a uid names the cursor's principal; later ones don't.

        A weak claim (the public user, for an environment without a uid: an anonymous
        visitor before authentication) gives way to the first real one.
        """
        if self.claimed is None or (self.weak_claim and not weak):
            self.claimed = principal
            self.weak_claim = weak

    def pin(self, principal: Principal | None) -> None:
        """Say outright who the cursor works for (None: back to its claim)."""
        self.pinned = principal


class ThreadState(threading.local):
    system_depth: int = 0
    default: Principal | None = None


class Bridge:
    """Decides, for each statement, the context it needs and the text to send."""

    def __init__(self, origin: OriginRules, shadow: bool = False) -> None:
        self.origin = origin
        self.shadow = shadow  # see docs/bridge.md, "Shadow mode"
        self.thread = ThreadState()
        self.databases: dict[str, bool] = {}
        self.statements = 0  # statements seen on covered databases, for the status page
        self.contexts = 0  # set_context calls sent with them

    def covers(self, dbname: str, has_runtime: Callable[[], bool]) -> bool:
        """Whether statements on `dbname` carry a context: where the runtime is installed.

        Odoo also connects to databases that have no runtime (`postgres`, for bus and cron
        notifications). Without the runtime no pgpolicy policy can exist there, so there
        is nothing to say. Asked once per database and process: after `pgpolicy init`
        on a database Odoo already serves, restart Odoo (until then its protected tables
        return nothing: fail closed).
        """
        found = self.databases.get(dbname)
        if found is None:
            found = self.databases[dbname] = has_runtime()
        return found

    def principal(self, cursor: CursorState) -> Principal | None:
        """Who the cursor works for now (see the module docstring for the order)."""
        principal = cursor.pinned or cursor.claimed or self.thread.default
        if principal is not None and cursor.companies:
            principal = principal.with_companies(cursor.companies[-1])
        return principal

    def context(self, cursor: CursorState, frame: FrameType | None) -> Context | None:
        """The context of the statement being executed from `frame`."""
        if self.thread.system_depth:
            return statement_context(None, orm=True, system=True)
        principal = self.principal(cursor)
        if principal is None:
            return None
        return statement_context(principal, self.origin.from_orm(frame), shadow=self.shadow)

    def prepare(
        self, cursor: CursorState, query: str | bytes, idle: bool, frame: FrameType | None
    ) -> str | bytes:
        """The text to execute for `query` on the cursor (the query, or the context and it)."""
        text = cursor.transaction.prepare(query, self.context(cursor, frame), idle)
        self.statements += 1
        self.contexts += text is not query
        return text

    @contextmanager
    def system(self) -> Iterator[None]:
        """Run this thread's statements as the system principal: every policy lifted.

        For code that truly needs to see and change everything (authentication, cron
        bookkeeping, maintenance). Every use is a decision: keep the block small.
        """
        self.thread.system_depth += 1
        try:
            yield
        finally:
            self.thread.system_depth -= 1

    @contextmanager
    def thread_default(self, principal: Principal | None = SYSTEM) -> Iterator[None]:
        """Cursors of this thread that nobody claimed work for `principal` meanwhile."""
        before = self.thread.default
        self.thread.default = principal
        try:
            yield
        finally:
            self.thread.default = before

    @contextmanager
    def companies(self, cursor: CursorState, company_ids: tuple[int, ...]) -> Iterator[None]:
        """The allowed companies of one call, for the statements on `cursor` inside it."""
        cursor.companies.append(company_ids)
        try:
            yield
        finally:
            cursor.companies.pop()
