"""The errors pgpolicy raises: each says what failed and where, in one line."""

from dataclasses import dataclass


class PgPolicyError(Exception):
    """Base class: an error the command line reports as one line, exit code 1."""


@dataclass(frozen=True)
class RuleRef:
    """Which source a compile error belongs to: an ir.rule, an ACL row, a profile."""

    source: str  # "ir.rule", "ir.model.access", "profile", "domain"
    id: int | str | None = None
    xml_id: str | None = None

    def __str__(self) -> str:
        label = f"{self.source} {self.id}" if self.id is not None else self.source
        return f"{label} ({self.xml_id})" if self.xml_id else label


class CompileError(PgPolicyError):
    """A rule or domain that cannot be compiled; access for it is denied."""

    def __init__(
        self,
        reason: str,
        *,
        rule: RuleRef | None = None,
        position: str | None = None,
        token: str | None = None,
    ) -> None:
        self.reason = reason
        self.rule = rule
        self.position = position
        self.token = token
        super().__init__(self._message())

    def with_rule(self, rule: RuleRef) -> "CompileError":
        """The same error, attributed to `rule` (kept if already attributed)."""
        if self.rule is not None:
            return self
        return CompileError(self.reason, rule=rule, position=self.position, token=self.token)

    def _message(self) -> str:
        parts = [str(self.rule)] if self.rule else []
        if self.position:
            parts.append(f"at {self.position}")
        if self.token:
            parts.append(f"token {self.token!r}")
        where = ", ".join(parts)
        return f"{where}: {self.reason}" if where else self.reason
