"""Policies as data: what to deploy, and where each policy comes from.

The compiler produces these; the deployer turns them into DDL and compares them with
what is deployed. Nothing here knows Odoo or PostgreSQL's catalogs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pgpolicy import __version__
from pgpolicy.compiler.predicate import SudoFunction
from pgpolicy.compiler.search import SearchFunction
from pgpolicy.errors import CompileError

COMMANDS = {"read": "SELECT", "write": "UPDATE", "create": "INSERT", "unlink": "DELETE"}


@dataclass(frozen=True)
class Provenance:
    """Where a policy comes from; stored as JSON in the policy's comment."""

    kind: str  # context, acl, rule, no_group_rule, allow, inherits, relation, system
    mode: str | None = None
    rule_ids: tuple[int, ...] = ()
    xml_ids: tuple[str, ...] = ()
    error: str | None = None
    profiles: tuple[str, ...] = ()  # access profiles the policy compiles

    def as_dict(self, sha256: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": "pgpolicy",
            "kind": self.kind,
            "mode": self.mode,
            "rule_ids": list(self.rule_ids),
            "xml_ids": list(self.xml_ids),
            "sha256": sha256,
            "compiler": __version__,
        }
        if self.error:
            data["error"] = self.error
        if self.profiles:
            data["profiles"] = list(self.profiles)
        return data


@dataclass(frozen=True)
class PolicySpec:
    """One `CREATE POLICY`, as data."""

    table: str
    name: str
    command: str  # ALL, SELECT, INSERT, UPDATE, DELETE
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    check: str | None
    provenance: Provenance

    @property
    def sha256(self) -> str:
        """Hash of what PostgreSQL enforces (not of the comment): detects hand edits."""
        text = json.dumps(
            [
                self.table,
                self.name,
                self.command,
                self.permissive,
                sorted(self.roles),
                self.using,
                self.check,
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def provenance_dict(self) -> dict[str, Any]:
        """Provenance as written in the comment (PostgreSQL adds the rendering's hash)."""
        return self.provenance.as_dict(self.sha256)


@dataclass(frozen=True)
class TableSpec:
    """A protected table: RLS enabled, and forced when an app role owns it."""

    table: str
    model: str  # the model; for a relation table the fields stored in it; "" for none
    # A table no model maps: protected once an app role can reach it (it may be a tool's
    # own, like alembic's version table, which the app role is not granted).
    unmapped: bool = False


@dataclass(frozen=True)
class RuleCheck:
    """A rule's compiled predicate over its table, for PostgreSQL to check before deploying
    (`pgpolicy.deploy.validate`); `functions` are the generated functions it calls."""

    rule_id: int
    table: str
    sql: str
    functions: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicySet:
    """Everything to deploy: tables, policies, and the sudo functions they call."""

    tables: tuple[TableSpec, ...]
    policies: tuple[PolicySpec, ...]
    functions: tuple[SudoFunction, ...]
    errors: tuple[CompileError, ...] = ()
    views: tuple[str, ...] = ()  # views to run with the querying role's rights (invoker)
    checks: tuple[RuleCheck, ...] = ()
    searches: tuple[SearchFunction, ...] = ()  # name-search functions (`compiler.search`)
