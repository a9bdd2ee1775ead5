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

The context of a transaction is locked with one-time tokens (`Tokens`): SQL injected into
a statement cannot change it, though it can read the statement's own text. The first
statement of each transaction also closes every cursor (`CLOSE ALL`): a `WITH HOLD` cursor
left by a previous transaction holds rows read under that transaction's context.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

from .context import BridgeError, Context

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


# Savepoints, whose rollback brings back the token the database expected when they were
# made. A quoted name keeps its case, an unquoted one is folded to lower case.
NAME = rb'("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
SAVEPOINT = re.compile(rb"^(?:\s|--[^\n]*\n|/\*.*?\*/)*savepoint\s+" + NAME, re.I | re.S)
ROLLBACK_TO = re.compile(
    rb"^(?:\s|--[^\n]*\n|/\*.*?\*/)*rollback\s+(?:work\s+|transaction\s+)?to\s+"
    rb"(?:savepoint\s+)?" + NAME,
    re.I | re.S,
)
RELEASE = re.compile(
    rb"^(?:\s|--[^\n]*\n|/\*.*?\*/)*release\s+(?:savepoint\s+)?" + NAME, re.I | re.S
)
# The first statement of each transaction: no cursor of an earlier transaction stays open.
CLOSE_CURSORS = "CLOSE ALL;\n"


def savepoint_name(raw: bytes) -> bytes:
    """A savepoint's name as PostgreSQL knows it."""
    if raw.startswith(b'"'):
        return raw[1:-1].replace(b'""', b'"')
    return raw.lower()


@dataclass
class Tokens:
    """The one-time tokens that lock the context of one transaction.

    Each `set_context` the bridge sends registers the sha256 of a fresh secret, which only
    this object knows (Python memory); the next one must present that secret and registers
    the hash of another. SQL injected into a statement can read the statement's text
    (`current_query()`), hence the secret it presents, but that secret is spent once the
    call has run, and the next one is nowhere in the database. `ROLLBACK TO SAVEPOINT`
    brings the database back to the token it expected when the savepoint was made; the
    savepoints are followed here so that the next call presents that one.
    """

    secrets: list[str] = field(default_factory=list)
    expected: int | None = None  # index of the secret the database expects, None: no lock
    savepoints: list[tuple[bytes, int | None]] = field(default_factory=list)
    lost: bool = False  # rolled back to a savepoint not seen: the expected token is unknown

    def next_call(self) -> tuple[str | None, str]:
        """The token to present (None for the first call) and the hash to register."""
        if self.lost:
            raise BridgeError(
                "pgpolicy bridge: the transaction rolled back to a savepoint the bridge did "
                "not see, so the token of its context is unknown; end the transaction"
            )
        token = None if self.expected is None else self.secrets[self.expected]
        secret = secrets.token_hex(32)
        self.secrets.append(secret)
        self.expected = len(self.secrets) - 1
        return token, hashlib.sha256(secret.encode()).hexdigest()

    def follow(self, query: bytes) -> None:
        """Follow a transaction-control statement of the transaction."""
        found = SAVEPOINT.match(query)
        if found:
            self.savepoints.append((savepoint_name(found.group(1)), self.expected))
            return
        found = ROLLBACK_TO.match(query)
        if found:
            name = savepoint_name(found.group(1))
            for i in range(len(self.savepoints) - 1, -1, -1):
                if self.savepoints[i][0] == name:
                    del self.savepoints[i + 1 :]  # the savepoint itself stays
                    self.expected = self.savepoints[i][1]
                    return
            self.lost = True
            return
        found = RELEASE.match(query)
        if found:
            name = savepoint_name(found.group(1))
            for i in range(len(self.savepoints) - 1, -1, -1):
                if self.savepoints[i][0] == name:
                    del self.savepoints[i:]
                    return


def as_bytes(query: str | bytes) -> bytes:
    return query if isinstance(query, bytes) else query.encode()


def is_transaction_control(query: str | bytes) -> bool:
    """Whether `query` begins, ends or rolls back (part of) a transaction."""
    return TRANSACTION_CONTROL.match(as_bytes(query)[:200]) is not None


def with_prefix(query: str | bytes, prefix: str) -> str | bytes:
    """`query` preceded by `prefix`, in the same type."""
    if not prefix:
        return query
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
    tokens: Tokens = field(default_factory=Tokens)
    cursors_closed: bool = False  # CLOSE ALL was sent in this transaction

    def prepare(self, query: str | bytes, wanted: Context | None, idle: bool) -> str | bytes:
        """The text to send for `query`, given the context it needs.

        `idle` says the connection has no open transaction, so this statement starts a
        new one and whatever was said before is gone. `wanted` None means "no context":
        nothing is sent, and in a new transaction protected tables return nothing. If a
        transaction already carries a context and a statement needs none, that statement
        cannot be given less than the transaction has: it is refused.
        """
        prefix = ""
        if idle:
            self.sent = None
            self.tokens = Tokens()
            self.cursors_closed = False
        if is_transaction_control(query):
            head = as_bytes(query)[:300]
            if UNDOES_CONTEXT.match(head):
                self.sent = None
            self.tokens.follow(head)
            return query
        if not self.cursors_closed:
            prefix = CLOSE_CURSORS
            self.cursors_closed = True
        if wanted == self.sent:
            return with_prefix(query, prefix)
        if wanted is None:
            raise NoContextError(
                "pgpolicy bridge: a statement without a principal in a transaction that "
                "already carries one; run it in a transaction of its own"
            )
        token, next_hash = self.tokens.next_call()
        if self.sent is not None:
            self.switches += 1
        self.statements += 1
        self.sent = wanted
        return with_prefix(query, prefix + wanted.sql(token, next_hash) + "\n")

    def undo(self) -> None:
        """The statement just prepared failed: its context may not have been set."""
        self.sent = None


class NoContextError(RuntimeError):
    """A statement that must run without context in a transaction that has one."""
