"""Profiles in the runtime tables (`pgpolicy.profile`, `pgpolicy.profile_member`).

`save_profiles` makes the tables hold exactly the given profiles, touching only rows
that differ, so importing the same file twice changes nothing (and the audit trigger
records nothing the second time). `read_profiles` is its inverse.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pgpolicy.profiles.model import FILE_MODES, ModelAccess, Profile

_PROFILES = """
SELECT p.name, p.description, p.strict, p.deny_by_default, p.deny_login, p.company_ids,
       p.active_from, p.active_until, p.models,
       coalesce((SELECT array_agg(m.ref ORDER BY m.ref) FROM pgpolicy.profile_member m
                  WHERE m.profile = p.name AND m.kind = 'login'), '{}'),
       coalesce((SELECT array_agg(m.ref ORDER BY m.ref) FROM pgpolicy.profile_member m
                  WHERE m.profile = p.name AND m.kind = 'group'), '{}')
  FROM pgpolicy.profile p ORDER BY p.name
"""


def has_profile_tables(conn: psycopg.Connection[Any]) -> bool:
    """Whether the runtime holds profiles (revision 0002 or later is installed)."""
    row = conn.execute("SELECT to_regclass('pgpolicy.profile') IS NOT NULL").fetchone()
    return bool(row and row[0])


def read_profiles(conn: psycopg.Connection[Any]) -> tuple[Profile, ...]:
    """The profiles stored in the database (none when the runtime has no profile tables)."""
    if not has_profile_tables(conn):
        return ()
    profiles = []
    for row in conn.execute(_PROFILES):
        name, description, strict, deny_by_default, deny_login, companies = row[:6]
        active_from, active_until, models, logins, groups = row[6:]
        profiles.append(
            Profile(
                name=name,
                description=description,
                logins=tuple(logins),
                groups=tuple(groups),
                companies=tuple(companies) if companies is not None else None,
                active_from=active_from,
                active_until=active_until,
                strict=strict,
                deny_by_default=deny_by_default,
                deny_login=deny_login,
                models=tuple(_model_access(m, spec) for m, spec in sorted(models.items())),
                source=f"database profile {name}",
            )
        )
    return tuple(profiles)


def _model_access(model: str, spec: dict[str, Any]) -> ModelAccess:
    values: dict[str, Any] = {mode: spec.get(mode, True) for mode in FILE_MODES.values()}
    return ModelAccess(model, locked_fields=tuple(spec.get("locked_fields", ())), **values)


def models_json(profile: Profile) -> dict[str, Any]:
    """The compiled part of a profile as stored in `pgpolicy.profile.models`."""
    data: dict[str, Any] = {}
    for entry in profile.models:
        spec: dict[str, Any] = {
            mode: entry.mode(mode) for mode in FILE_MODES.values() if entry.mode(mode) is not True
        }
        if entry.locked_fields:
            spec["locked_fields"] = list(entry.locked_fields)
        data[entry.model] = spec
    return data


@dataclass
class SaveResult:
    """What `save_profiles` changed, by profile name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    recompile: list[str] = field(default_factory=list)  # domains or flags changed: apply

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def summary(self) -> str:
        """One line: what changed, and whether the policies must be applied again."""
        if not self.changed:
            return "profiles unchanged"
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("created", self.created),
                ("updated", self.updated),
                ("deleted", self.deleted),
            )
            if names
        ]
        text = "; ".join(parts)
        if self.recompile:
            text += "; run `pgpolicy apply` to compile the changed rules"
        return text


def save_profiles(
    conn: psycopg.Connection[Any], profiles: Sequence[Profile], prune: bool = True
) -> SaveResult:
    """Make the tables hold `profiles` (and, with `prune`, nothing else), in the caller's
    transaction; rows already equal are not written."""
    current = {p.name: p for p in read_profiles(conn)}
    result = SaveResult()
    for profile in sorted(profiles, key=lambda p: p.name):
        before = current.get(profile.name)
        if before == profile:
            continue
        columns = (
            profile.description,
            profile.strict,
            profile.deny_by_default,
            profile.deny_login,
            list(profile.companies) if profile.companies is not None else None,
            profile.active_from,
            profile.active_until,
            Jsonb(models_json(profile)),
        )
        if before is None:
            conn.execute(
                "INSERT INTO pgpolicy.profile (name, description, strict, deny_by_default,"
                " deny_login, company_ids, active_from, active_until, models)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (profile.name, *columns),
            )
            result.created.append(profile.name)
            result.recompile.append(profile.name)
        else:
            if _row(before) != _row(profile):
                conn.execute(
                    "UPDATE pgpolicy.profile SET description = %s, strict = %s,"
                    " deny_by_default = %s, deny_login = %s, company_ids = %s,"
                    " active_from = %s, active_until = %s, models = %s WHERE name = %s",
                    (*columns, profile.name),
                )
            if _compiled(before) != _compiled(profile):
                result.recompile.append(profile.name)
            result.updated.append(profile.name)
        _save_members(conn, profile, before)
    if prune:
        for name in sorted(set(current) - {p.name for p in profiles}):
            conn.execute("DELETE FROM pgpolicy.profile WHERE name = %s", [name])
            result.deleted.append(name)
            result.recompile.append(name)
    return result


def _row(profile: Profile) -> tuple[Any, ...]:
    return (
        profile.description,
        profile.companies,
        profile.active_from,
        profile.active_until,
        profile.deny_login,
        *_compiled(profile),
    )


def _compiled(profile: Profile) -> tuple[Any, ...]:
    """What the policies are compiled from (the rest is read at run time)."""
    return (
        profile.strict,
        profile.deny_by_default,
        json.dumps(models_json(profile), sort_keys=True),
    )


def _save_members(conn: psycopg.Connection[Any], profile: Profile, before: Profile | None) -> None:
    old = set() if before is None else _member_rows(before)
    new = _member_rows(profile)
    for kind, ref in sorted(old - new):
        conn.execute(
            "DELETE FROM pgpolicy.profile_member WHERE profile = %s AND kind = %s AND ref = %s",
            (profile.name, kind, ref),
        )
    for kind, ref in sorted(new - old):
        conn.execute(
            "INSERT INTO pgpolicy.profile_member (profile, kind, ref) VALUES (%s, %s, %s)",
            (profile.name, kind, ref),
        )


def _member_rows(profile: Profile) -> set[tuple[str, str]]:
    return {("login", login) for login in profile.logins} | {
        ("group", group) for group in profile.groups
    }
