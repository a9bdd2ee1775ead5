"""How the context travels with the statements of a transaction.

The context is transaction-local (`set_config(..., true)`): COMMIT and ROLLBACK clear it,
so a pooled connection never carries one user's context to the next. It must be said
again in every transaction, and saying it as a statement of its own costs a network round
trip (~0.13 ms, perf-findings.md §8). So the bridge puts the `set_context` call in front
of the first statement of each transaction, in the same query string: PostgreSQL runs the
statements of one query string in order, and plans each only when the previous one has
run, so the statement is planned under the new context. When the context a statement
needs differs from the one its transaction carries (superuser mode on or off, another
user, other companies), the call goes in front of that statement too: no extra round trip
either.

What the bridge cannot see, it does not trust: after `ROLLBACK TO SAVEPOINT` (which
reverts a `set_config` made inside the savepoint) the transaction's context is unknown and
the next statement says it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .context import Context

# Statements that must run alone: a `set_context` in front of ROLLBACK TO SAVEPOINT would be
# undone by it, and BEGIN/COMMIT/ROLLBACK/PREPARE TRANSACTION end or open the transaction
# the context belongs to. Leading whitespace and SQL comments are skipped.
TRANSACTION_CONTROL = re.compile(
    rb"^(?:\s|--[^\n]*\n|/\*.*?\*/)*"
    rb"(?:rollback|commit|begin|start\s+transaction|end|abort|release|savepoint|prepare\s+transaction)\b",
    re.IGNORECASE | re.DOTALL,
)
UNDOES_CONTEXT = re.compile(
    rb"^(?:\s|--[^\n]*\n|/\*.*?\*/)*rollback\s+(?:work\s+|transaction\s+)?to\b",
    re.IGNORECASE | re.DOTALL,
)


def as_bytes(query: str | bytes) -> bytes:
    return query if isinstance(query, bytes) else query.encode()


def is_transaction_control(query: str | bytes) -> bool:
    """Whether `query` begins, ends or rolls back (part of) a transaction."""
    return TRANSACTION_CONTROL.match(as_bytes(query)[:200]) is not None


def with_context(query: str | bytes, context: Context) -> str | bytes:
    """`query` preceded by the `set_context` call of `context`, in the same type."""
    prefix = context.sql() + "\n"
    if isinstance(query, bytes):
        return prefix.encode() + query
    return prefix + query


@dataclass
class TransactionState:
    """What the open transaction of one connection carries, as far as the bridge knows.

    `sent` is the context said in this transaction, or None when nothing was said (or
    what was said may have been undone).
    """

    sent: Context | None = None
    statements: int = 0  # how many set_context calls were sent, for the record
    switches: int = 0  # of which inside a transaction that already had one

    def prepare(self, query: str | bytes, wanted: Context | None, idle: bool) -> str | bytes:
        """The text to send for `query`, given the context it needs.

        `idle` says the connection has no open transaction, so this statement starts a
        new one and whatever was said before is gone. `wanted` None means "no context":
        nothing is sent, and in a new transaction protected tables return nothing. If a
        transaction already carries a context and a statement needs none, that statement
        cannot be given less than the transaction has: it is refused.
        """
        if idle:
            self.sent = None
        if is_transaction_control(query):
            if UNDOES_CONTEXT.match(as_bytes(query)[:200]):
                self.sent = None
            return query
        if wanted == self.sent:
            return query
        if wanted is None:
            raise NoContextError(
                "pgpolicy bridge: a statement without a principal in a transaction that "
                "already carries one; run it in a transaction of its own"
            )
        if self.sent is not None:
            self.switches += 1
        self.statements += 1
        self.sent = wanted
        return with_context(query, wanted)

    def undo(self) -> None:
        """The statement just prepared failed: its context may not have been set."""
        self.sent = None


class NoContextError(RuntimeError):
    """A statement that must run without context in a transaction that has one."""
