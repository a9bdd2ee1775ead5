"""Access profiles as data: read and validate YAML files, write them back canonically.

A profile bundles, for its members, per-model domains AND-ed onto Odoo's own rules
(docs/profiles.md). This module only knows the file format: every error names the
file, the line and the key; `dump_profiles` writes the one canonical form, so
export → import → export gives the same bytes. Compiling profiles into policies is
`pgpolicy/profile_policy.py`; storing them in the runtime tables, `profile_store.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from pgpolicy.errors import CompileError, PgPolicyError
from pgpolicy.odoo.domain import parse_rule_domain

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
XML_ID_PATTERN = re.compile(r"^[A-Za-z0-9_]+\.[A-Za-z0-9_.]+$")
MODEL_PATTERN = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*)$")
ANY_MODEL = "*"
# The file's names for Odoo's modes (`unlink` is `delete` here, as in the UI).
FILE_MODES = {"read": "read", "write": "write", "create": "create", "delete": "unlink"}
PROFILE_KEYS = (
    "name",
    "description",
    "members",
    "companies",
    "active_from",
    "active_until",
    "strict",
    "deny_by_default",
    "deny_login",
    "models",
)
MEMBER_KEYS = ("logins", "groups")
MODEL_KEYS = (*FILE_MODES, "locked_fields")

Access = str | bool  # a domain (Odoo syntax), or True (no restriction) / False (nothing)


class ProfileError(PgPolicyError):
    """A profile file that cannot be read: names the file, the line and the key."""

    def __init__(self, source: str, line: int, key: str, reason: str) -> None:
        self.source, self.line, self.key, self.reason = source, line, key, reason
        super().__init__(f"{source}:{line}: {key}: {reason}")


@dataclass(frozen=True)
class ModelAccess:
    """What a profile lets its members do on one model (`*`: every model not listed)."""

    model: str
    read: Access = True
    write: Access = True
    create: Access = True
    unlink: Access = True
    locked_fields: tuple[str, ...] = ()

    def mode(self, mode: str) -> Access:
        """The access of an Odoo mode (read, write, create, unlink)."""
        value: Access = getattr(self, mode)
        return value


DENY_ALL = ModelAccess(ANY_MODEL, False, False, False, False)


@dataclass(frozen=True)
class Profile:
    """One access profile. Members, companies, window and deny_login are runtime data."""

    name: str
    description: str = ""
    logins: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    companies: tuple[int, ...] | None = None
    active_from: datetime | None = None
    active_until: datetime | None = None
    strict: bool = False
    deny_by_default: bool = False
    deny_login: bool = False
    models: tuple[ModelAccess, ...] = ()
    source: str = field(default="", compare=False)

    def access(self, model: str) -> ModelAccess | None:
        """What the profile says about `model`; None when it says nothing (no restriction)."""
        for entry in self.models:
            if entry.model == model:
                return entry
        for entry in self.models:
            if entry.model == ANY_MODEL:
                return entry
        return DENY_ALL if self.deny_by_default else None

    def in_window(self, at: datetime) -> bool:
        """Whether `at` is inside the validity window."""
        return (self.active_from is None or self.active_from <= at) and (
            self.active_until is None or at < self.active_until
        )


# ---------------------------------------------------------------------------
# Reading


def load_profile_files(paths: Iterable[Path]) -> tuple[Profile, ...]:
    """Every profile of the files (a directory stands for its *.yaml / *.yml files)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            files.append(path)
    profiles: list[Profile] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            text = file.read_text()
        except OSError as exc:
            raise PgPolicyError(f"{file}: {exc.strerror}") from exc
        for profile in parse_profiles(text, str(file)):
            if profile.name in seen:
                raise PgPolicyError(
                    f"{profile.source}: name: profile {profile.name!r} is also defined "
                    f"at {seen[profile.name]}"
                )
            seen[profile.name] = profile.source
            profiles.append(profile)
    return tuple(profiles)


def parse_profiles(text: str, source: str = "<profiles>") -> tuple[Profile, ...]:
    """The profiles of one YAML document (`profiles:` followed by a list)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 1
        raise ProfileError(source, line, "(yaml)", str(exc.problem or exc)) from exc
    if root is None:
        raise ProfileError(source, 1, "profiles", "the file is empty")
    top = _mapping(root, source, "(top level)", ("profiles",))
    if "profiles" not in top:
        raise ProfileError(source, _line(root), "profiles", "missing: the file lists profiles")
    _, items = top["profiles"]
    return parse_profile_nodes(items, source)


def parse_profile_nodes(items: yaml.Node, source: str) -> tuple[Profile, ...]:
    """The profiles of a YAML node tree (a list of profile mappings); each node's line is
    the one errors name (`profile_xlsx.py` builds such a tree from a workbook's rows)."""
    if not isinstance(items, yaml.SequenceNode):
        raise ProfileError(source, _line(items), "profiles", "must be a list of profiles")
    profiles: list[Profile] = []
    names: dict[str, int] = {}
    for index, item in enumerate(items.value):
        profile = _profile(item, source, f"profiles[{index}]")
        if profile.name in names:
            raise ProfileError(
                source,
                _line(item),
                f"profiles[{index}].name",
                f"profile {profile.name!r} is already defined at line {names[profile.name]}",
            )
        names[profile.name] = _line(item)
        profiles.append(profile)
    return tuple(profiles)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


Entries = dict[str, tuple[yaml.Node, yaml.Node]]


def _mapping(node: yaml.Node, source: str, key: str, allowed: Sequence[str] | None) -> Entries:
    """A mapping's entries by key (key node, value node); unknown and repeated keys are errors."""
    if not isinstance(node, yaml.MappingNode):
        raise ProfileError(source, _line(node), key, "must be a mapping")
    entries: Entries = {}
    for key_node, value_node in node.value:
        name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        where = f"{key}.{name}" if key != "(top level)" else str(name)
        if not isinstance(name, str) or not name:
            raise ProfileError(source, _line(key_node), key, "keys must be non-empty strings")
        if name in entries:
            raise ProfileError(source, _line(key_node), where, "repeated key")
        if allowed is not None and name not in allowed:
            raise ProfileError(
                source,
                _line(key_node),
                where,
                f"unknown key (expected one of: {', '.join(allowed)})",
            )
        entries[name] = (key_node, value_node)
    return entries


def _scalar(node: yaml.Node, source: str, key: str) -> Any:
    """A scalar's Python value, as YAML's safe loader reads it."""
    if not isinstance(node, yaml.ScalarNode):
        raise ProfileError(source, _line(node), key, "must be a single value")
    return _construct(node)


def _construct(node: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _string(node: yaml.Node, source: str, key: str) -> str:
    value = _scalar(node, source, key)
    if not isinstance(value, str):
        raise ProfileError(source, _line(node), key, f"must be a string, got {value!r}")
    return value


def _bool(node: yaml.Node, source: str, key: str) -> bool:
    value = _scalar(node, source, key)
    if not isinstance(value, bool):
        raise ProfileError(source, _line(node), key, f"must be true or false, got {value!r}")
    return value


def _list(node: yaml.Node, source: str, key: str) -> list[tuple[yaml.Node, Any]]:
    if not isinstance(node, yaml.SequenceNode):
        raise ProfileError(source, _line(node), key, "must be a list")
    return [(item, _scalar(item, source, f"{key}[{i}]")) for i, item in enumerate(node.value)]


def _timestamp(node: yaml.Node, source: str, key: str) -> datetime | None:
    value = _scalar(node, source, key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ProfileError(
                source, _line(node), key, f"not an ISO 8601 timestamp: {value!r}"
            ) from None
    if not isinstance(value, datetime):
        raise ProfileError(source, _line(node), key, f"must be a timestamp, got {value!r}")
    if value.tzinfo is None:
        raise ProfileError(
            source, _line(node), key, "needs a time zone (e.g. 2026-01-01T00:00:00+00:00)"
        )
    return value.astimezone(UTC)


def _profile(node: yaml.Node, source: str, key: str) -> Profile:
    entries = _mapping(node, source, key, PROFILE_KEYS)
    if "name" not in entries:
        raise ProfileError(source, _line(node), f"{key}.name", "missing: a profile needs a name")
    name_node = entries["name"][1]
    name = _string(name_node, source, f"{key}.name")
    if not NAME_PATTERN.match(name):
        raise ProfileError(
            source,
            _line(name_node),
            f"{key}.name",
            f"{name!r} is not a profile name (lowercase letters, digits, '_' and '-', "
            "starting with a letter, at most 63)",
        )
    where = f"profiles[{name}]"
    values: dict[str, Any] = {"name": name, "source": f"{source}:{_line(node)}"}
    for entry, (_, value) in entries.items():
        here = f"{where}.{entry}"
        if entry == "description":
            values["description"] = _string(value, source, here)
        elif entry in ("strict", "deny_by_default", "deny_login"):
            values[entry] = _bool(value, source, here)
        elif entry in ("active_from", "active_until"):
            values[entry] = _timestamp(value, source, here)
        elif entry == "companies":
            values["companies"] = _companies(value, source, here)
        elif entry == "members":
            values.update(_members(value, source, here))
        elif entry == "models":
            values["models"] = _models(value, source, here)
    start, end = values.get("active_from"), values.get("active_until")
    if start is not None and end is not None and not start < end:
        line = _line(entries["active_until"][1])
        raise ProfileError(source, line, f"{where}.active_until", "must be after active_from")
    models: tuple[ModelAccess, ...] = values.get("models", ())
    if values.get("deny_by_default") and any(m.model == ANY_MODEL for m in models):
        line = _line(entries["deny_by_default"][1])
        raise ProfileError(
            source,
            line,
            f"{where}.deny_by_default",
            "a '*' model entry already says what unlisted models get; use one or the other",
        )
    return Profile(**values)


def _companies(node: yaml.Node, source: str, key: str) -> tuple[int, ...] | None:
    if isinstance(node, yaml.ScalarNode) and _construct(node) is None:
        return None
    ids: list[int] = []
    for item, value in _list(node, source, key):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ProfileError(
                source, _line(item), key, f"company ids are positive integers, got {value!r}"
            )
        ids.append(value)
    if not ids:
        raise ProfileError(
            source, _line(node), key, "an empty list would apply nowhere; leave it out"
        )
    return tuple(sorted(set(ids)))


def _members(node: yaml.Node, source: str, key: str) -> dict[str, tuple[str, ...]]:
    entries = _mapping(node, source, key, MEMBER_KEYS)
    found: dict[str, tuple[str, ...]] = {}
    for entry, (_, value) in entries.items():
        here = f"{key}.{entry}"
        items: list[str] = []
        for item, text in _list(value, source, here):
            if not isinstance(text, str) or not text:
                raise ProfileError(source, _line(item), here, f"must be a string, got {text!r}")
            if entry == "groups" and not XML_ID_PATTERN.match(text):
                raise ProfileError(
                    source, _line(item), here, f"{text!r} is not a group xml id (module.name)"
                )
            items.append(text)
        found[entry] = tuple(sorted(set(items)))
    return found


def _models(node: yaml.Node, source: str, key: str) -> tuple[ModelAccess, ...]:
    entries = _mapping(node, source, key, None)
    models: list[ModelAccess] = []
    for model, (key_node, value) in entries.items():
        here = f"{key}.{model}"
        if not MODEL_PATTERN.match(model):
            raise ProfileError(source, _line(key_node), here, "not an Odoo model name")
        rules = _mapping(value, source, here, MODEL_KEYS)
        spec: dict[str, Any] = {"model": model}
        for mode, (_, rule) in rules.items():
            at = f"{here}.{mode}"
            if mode == "locked_fields":
                names = []
                for item, text in _list(rule, source, at):
                    if not isinstance(text, str) or not re.match(r"^[a-z_][a-z0-9_]*$", text):
                        raise ProfileError(source, _line(item), at, f"not a field name: {text!r}")
                    names.append(text)
                spec["locked_fields"] = tuple(sorted(set(names)))
                continue
            spec[FILE_MODES[mode]] = _access(rule, source, at)
        models.append(ModelAccess(**spec))
    return tuple(sorted(models, key=lambda m: m.model))


def _access(node: yaml.Node, source: str, key: str) -> Access:
    value = _scalar(node, source, key)
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ProfileError(
            source, _line(node), key, f"must be a domain (a string) or true/false, got {value!r}"
        )
    try:
        parse_rule_domain(value, placeholders=True)
    except CompileError as exc:
        raise ProfileError(source, _line(node), key, f"invalid domain: {exc}") from None
    return value.strip()


# ---------------------------------------------------------------------------
# Writing: one canonical form


def profile_dict(profile: Profile) -> dict[str, Any]:
    """The profile as the file writes it: fixed key order, defaults left out."""
    data: dict[str, Any] = {"name": profile.name}
    if profile.description:
        data["description"] = profile.description
    members = {k: list(v) for k, v in (("logins", profile.logins), ("groups", profile.groups)) if v}
    if members:
        data["members"] = members
    if profile.companies is not None:
        data["companies"] = list(profile.companies)
    for key in ("active_from", "active_until"):
        value: datetime | None = getattr(profile, key)
        if value is not None:
            data[key] = value.astimezone(UTC).isoformat()
    for key in ("strict", "deny_by_default", "deny_login"):
        if getattr(profile, key):
            data[key] = True
    models: dict[str, Any] = {}
    for entry in sorted(profile.models, key=lambda m: m.model):
        spec: dict[str, Any] = {}
        for file_mode, mode in FILE_MODES.items():
            access = entry.mode(mode)
            if access is not True:
                spec[file_mode] = access
        if entry.locked_fields:
            spec["locked_fields"] = list(entry.locked_fields)
        models[entry.model] = spec
    if models:
        data["models"] = models
    return data


class _Dumper(yaml.SafeDumper):
    """Domains are Python literals full of single quotes: write them in double quotes."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if "'" in value and '"' not in value and "\\" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_profiles(profiles: Iterable[Profile]) -> str:
    """The canonical YAML of profiles, sorted by name."""
    data = {"profiles": [profile_dict(p) for p in sorted(profiles, key=lambda p: p.name)]}
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
