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

from pgpolicy.compiler.predicate import Compiler
from pgpolicy.errors import CompileError
from pgpolicy.odoo.domain import FALSE, TRUE, conjoin, parse_rule_domain
from pgpolicy.odoo.metadata import MODES, Catalog
from pgpolicy.profiles.model import ANY_MODEL, FILE_MODES, Access, Profile
from pgpolicy.profiles.satisfiable import clash

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
    model = catalog.models.get(model_name)
    if tree == FALSE:
        return [
            Finding("warning", "unsatisfiable", profile.name, model_name, f"{where}: never true")
        ]
    found = clash(tree, catalog, model)
    if found is not None:
        reason = f"{where}: never true: {found}"
        return [Finding("warning", "unsatisfiable", profile.name, model_name, reason)]
    if model is None or model.table is None:
        return []
    try:
        Compiler(catalog).predicate(tree, model)
    except CompileError as exc:
        kind = "orphan" if "unknown field" in exc.reason else "invalid"
        return [Finding("error", kind, profile.name, model_name, f"{where}: {exc}")]
    return []


def conflicts(catalog: Catalog, profiles: Sequence[Profile], directory: Directory) -> list[Finding]:
    """Users in two profiles whose rules on one model and mode contradict: one denies what
    the other grants, or both have domains that match no common row. Profiles are OR-ed,
    so the user gets the union: worth a look, not an error."""
    findings = []
    members = {p.name: directory.members(p) for p in profiles}
    by_uid = {uid: login for login, uid in directory.logins.items()}
    ordered = sorted(profiles, key=lambda p: p.name)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            shared = members[first.name] & members[second.name]
            if not shared:
                continue
            users = ", ".join(sorted(by_uid.get(u, str(u)) for u in shared))
            listed = {m.model for m in (*first.models, *second.models) if m.model != ANY_MODEL}
            for model in sorted(listed):
                a, b = first.access(model), second.access(model)
                if a is None or b is None:
                    continue
                for mode in MODES:
                    finding = mode_conflict(
                        catalog, model, mode, (first, a.mode(mode)), (second, b.mode(mode)), users
                    )
                    if finding is not None:
                        findings.append(finding)
    return findings


def mode_conflict(
    catalog: Catalog,
    model: str,
    mode: str,
    first: tuple[Profile, Access],
    second: tuple[Profile, Access],
    users: str,
) -> Finding | None:
    """The conflict of two profiles of the same users on one model and mode, if any."""
    (one, x), (other, y) = first, second
    name = FILE_MODE[mode]
    if (x is False) != (y is False):
        denies, grants = (one, other) if x is False else (other, one)
        return Finding(
            "warning",
            "conflict",
            denies.name,
            model,
            f"denies {name} but {grants.name} grants it to the same users ({users}); "
            "profiles are OR-ed, so it is granted",
        )
    if not (isinstance(x, str) and isinstance(y, str)):
        return None
    found = joint_clash(catalog, model, x, y)
    if found is None:
        return None
    return Finding(
        "warning",
        "conflict",
        one.name,
        model,
        f"{name} {x} and the {name} {y} of {other.name} match no common row ({found}) for the "
        f"same users ({users}); profiles are OR-ed, so they get the rows of either",
    )


def joint_clash(catalog: Catalog, model_name: str, x: str, y: str) -> str | None:
    """Why two domains, each satisfiable, match no row together (None: they may)."""
    try:
        trees = (parse_rule_domain(x, placeholders=True), parse_rule_domain(y, placeholders=True))
    except CompileError:
        return None
    model = catalog.models.get(model_name)
    if any(t == FALSE or clash(t, catalog, model) is not None for t in trees):
        return None  # already reported as unsatisfiable on its own
    found = clash(conjoin(*trees), catalog, model)
    return None if found is None else str(found)
