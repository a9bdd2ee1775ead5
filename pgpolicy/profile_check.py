"""`pgpolicy check`: what is wrong or suspicious in a set of access profiles.

Pure over plain data: the catalog, the profiles, the moment, and who exists (logins,
group xml ids and their members, read by the command at the edge). Errors are defects
(the profile cannot mean what it says); warnings are worth a look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pgpolicy.compile import Compiler
from pgpolicy.domain import FALSE, TRUE, And, Const, Leaf, ListOf, Node, parse_rule_domain
from pgpolicy.errors import CompileError
from pgpolicy.introspect import MODES, Catalog
from pgpolicy.profiles import ANY_MODEL, FILE_MODES, Profile

FILE_MODE = {mode: name for name, mode in FILE_MODES.items()}


@dataclass(frozen=True)
class Finding:
    """One defect or warning, with the profile, the model and the reason."""

    severity: str  # error, warning
    kind: str  # orphan, no-op, unsatisfiable, expired, future, missing-member, conflict, ...
    profile: str
    model: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.profile}" + (f" / {self.model}" if self.model else "")
        return f"{self.severity}: {self.kind}: {where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "profile": self.profile,
            "model": self.model,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Directory:
    """Who exists in the Odoo database: logins, and the users of each group xml id."""

    logins: Mapping[str, int]  # login -> uid
    groups: Mapping[str, frozenset[int]]  # group xml id -> uids

    def members(self, profile: Profile) -> set[int]:
        uids = {self.logins[login] for login in profile.logins if login in self.logins}
        for group in profile.groups:
            uids |= self.groups.get(group, frozenset())
        return uids


def check_profiles(
    catalog: Catalog, profiles: Sequence[Profile], now: datetime, directory: Directory
) -> list[Finding]:
    """Every finding, in a stable order."""
    findings: list[Finding] = []
    for profile in profiles:
        findings.extend(window_findings(profile, now))
        findings.extend(member_findings(profile, directory))
        findings.extend(model_findings(catalog, profile))
    findings.extend(conflicts(catalog, profiles, directory))
    return findings


def window_findings(profile: Profile, now: datetime) -> list[Finding]:
    if profile.active_until is not None and profile.active_until <= now:
        ended = profile.active_until.isoformat()
        return [Finding("warning", "expired", profile.name, None, f"ended {ended}: grants nothing")]
    if profile.active_from is not None and now < profile.active_from:
        start = profile.active_from.isoformat()
        return [
            Finding("warning", "future", profile.name, None, f"starts {start}: grants nothing yet")
        ]
    return []


def member_findings(profile: Profile, directory: Directory) -> list[Finding]:
    findings = [
        Finding("error", "missing-member", profile.name, None, f"no user has login {login!r}")
        for login in profile.logins
        if login not in directory.logins
    ]
    findings.extend(
        Finding("error", "missing-member", profile.name, None, f"no group has xml id {group!r}")
        for group in profile.groups
        if group not in directory.groups
    )
    if not profile.logins and not profile.groups:
        findings.append(Finding("warning", "no-members", profile.name, None, "has no members"))
    return findings


def model_findings(catalog: Catalog, profile: Profile) -> list[Finding]:
    findings: list[Finding] = []
    for entry in profile.models:
        if entry.model != ANY_MODEL and entry.model not in catalog.models:
            findings.append(Finding("error", "orphan", profile.name, entry.model, "unknown model"))
            continue
        model = catalog.models.get(entry.model)
        for name in entry.locked_fields:
            if model is not None and name not in model.fields:
                findings.append(
                    Finding("error", "orphan", profile.name, entry.model, f"unknown field {name}")
                )
        for mode in MODES:
            access = entry.mode(mode)
            if not isinstance(access, str):
                continue
            findings.extend(domain_findings(catalog, profile, entry.model, mode, access))
    return findings


def domain_findings(
    catalog: Catalog, profile: Profile, model_name: str, mode: str, domain: str
) -> list[Finding]:
    where = f"{FILE_MODE[mode]} {domain}"
    try:
        tree = parse_rule_domain(domain, placeholders=True)
    except CompileError as exc:
        return [Finding("error", "invalid", profile.name, model_name, f"{where}: {exc}")]
    if tree == TRUE:
        return [Finding("warning", "no-op", profile.name, model_name, f"{where}: always true")]
    if tree == FALSE or contradictory(tree):
        return [
            Finding("warning", "unsatisfiable", profile.name, model_name, f"{where}: never true")
        ]
    model = catalog.models.get(model_name)
    if model is None or model.table is None:
        return []
    try:
        Compiler(catalog).predicate(tree, model)
    except CompileError as exc:
        kind = "orphan" if "unknown field" in exc.reason else "invalid"
        return [Finding("error", kind, profile.name, model_name, f"{where}: {exc}")]
    return []


def contradictory(tree: Node) -> bool:
    """A conjunction that requires one field to equal two different constants, or `in []`."""
    leaves = tree.children if isinstance(tree, And) else (tree,)
    equal: dict[str, Any] = {}
    for leaf in leaves:
        if not isinstance(leaf, Leaf):
            continue
        value = leaf.value
        if leaf.op == "in" and isinstance(value, ListOf) and not value.items:
            return True
        if leaf.op == "=" and isinstance(value, Const):
            if leaf.path in equal and equal[leaf.path] != value.value:
                return True
            equal[leaf.path] = value.value
    return False


def conflicts(catalog: Catalog, profiles: Sequence[Profile], directory: Directory) -> list[Finding]:
    """A user in two profiles, one denying a mode on a model the other grants: since
    profiles are OR-ed, the denial is void for that user."""
    findings = []
    members = {p.name: directory.members(p) for p in profiles}
    by_uid = {uid: login for login, uid in directory.logins.items()}
    ordered = sorted(profiles, key=lambda p: p.name)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            shared = members[first.name] & members[second.name]
            if not shared:
                continue
            listed = {m.model for m in (*first.models, *second.models) if m.model != ANY_MODEL}
            for model in sorted(listed):
                a, b = first.access(model), second.access(model)
                if a is None or b is None:
                    continue
                for mode in MODES:
                    denies = [p for p, x in ((first, a), (second, b)) if x.mode(mode) is False]
                    if len(denies) != 1:
                        continue
                    grants = second if denies[0] is first else first
                    users = ", ".join(sorted(by_uid.get(u, str(u)) for u in shared))
                    findings.append(
                        Finding(
                            "warning",
                            "conflict",
                            denies[0].name,
                            model,
                            f"denies {FILE_MODE[mode]} but {grants.name} grants it to the "
                            f"same users ({users}); profiles are OR-ed, so it is granted",
                        )
                    )
    return findings
