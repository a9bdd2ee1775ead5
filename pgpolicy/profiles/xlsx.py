"""Profiles as a spreadsheet, for access reviews outside git: the same content as the YAML.

Three sheets, one row per item: `profiles` (name, description, flags, companies, window),
`members` (profile, kind, ref) and `models` (profile, model, read, write, create, delete,
locked_fields). Reading builds the same YAML node tree the file format has, with each
node's line set to its row, so the one validator of `profiles.py` checks both and every
error names the workbook, the row and the key.

A cell is data, never a formula. A formula saved without its computed value (any tool but
a spreadsheet application writes them so) reads as empty, and an empty access cell means
"no restriction": reading refuses every formula, naming its sheet and cell. Writing stores
a text that starts like a formula (`=`, `+`, `-`, `@`) as text, marked so that a
spreadsheet application keeps it text when the cell is edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook

from pgpolicy.errors import PgPolicyError
from pgpolicy.profiles.model import (
    FILE_MODES,
    Profile,
    ProfileError,
    parse_profile_nodes,
    profile_dict,
)

PROFILE_COLUMNS = (
    "name",
    "description",
    "strict",
    "deny_by_default",
    "deny_login",
    "companies",
    "active_from",
    "active_until",
)
MEMBER_COLUMNS = ("profile", "kind", "ref")
MODEL_COLUMNS = ("profile", "model", *FILE_MODES, "locked_fields")
MEMBER_KINDS = {"login": "logins", "group": "groups"}


def write_xlsx(profiles: Iterable[Profile], path: Path) -> None:
    """Write the profiles as a workbook (sorted, as the YAML export)."""
    book = Workbook()
    sheets = {
        "profiles": (book.active, PROFILE_COLUMNS),
        "members": (book.create_sheet(), MEMBER_COLUMNS),
        "models": (book.create_sheet(), MODEL_COLUMNS),
    }
    for title, (sheet, columns) in sheets.items():
        assert sheet is not None
        sheet.title = title
        sheet.append(list(columns))
    for profile in sorted(profiles, key=lambda p: p.name):
        _append_profile(sheets, profile)
    for sheet, _ in sheets.values():
        for row in sheet.iter_rows():
            for cell in row:
                _keep_text(cell)
    book.save(path)


# What a spreadsheet application reads as the start of a formula when a cell is typed in.
FORMULA_STARTS = ("=", "+", "-", "@")


def _keep_text(cell: Any) -> None:
    """A text starting like a formula stays text: openpyxl would store `=...` as a formula,
    and a spreadsheet application re-reads `+...`, `-...`, `@...` as one when edited."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


def _append_profile(sheets: Mapping[str, tuple[Any, Sequence[str]]], profile: Profile) -> None:
    """The rows of one profile on the three sheets."""
    data = profile_dict(profile)
    row: list[Any] = [data.get(c) for c in PROFILE_COLUMNS]
    row[0] = profile.name
    row[2:5] = [bool(data.get(c, False)) for c in ("strict", "deny_by_default", "deny_login")]
    row[5] = ", ".join(str(c) for c in data["companies"]) if "companies" in data else None
    sheets["profiles"][0].append(row)
    for kind, key in MEMBER_KINDS.items():
        for ref in data.get("members", {}).get(key, []):
            sheets["members"][0].append([profile.name, kind, ref])
    for model, spec in data.get("models", {}).items():
        cells: list[Any] = [profile.name, model]
        cells += [spec.get(mode, True) for mode in FILE_MODES]
        cells.append(", ".join(spec.get("locked_fields", [])) or None)
        sheets["models"][0].append(cells)


def read_xlsx(path: Path) -> tuple[Profile, ...]:
    """The profiles of a workbook written by `write_xlsx` (or by hand in its layout)."""
    source = str(path)
    try:
        # data_only=False: a formula comes as a formula, to be refused, not as its cached value
        book = load_workbook(path, read_only=True, data_only=False)
    except (OSError, ValueError, KeyError) as exc:
        raise PgPolicyError(f"{source}: not a readable .xlsx workbook: {exc}") from exc
    rows = {title: _rows(book, title, columns, source) for title, columns in (
        ("profiles", PROFILE_COLUMNS), ("members", MEMBER_COLUMNS), ("models", MODEL_COLUMNS)
    )}  # fmt: skip
    profiles: dict[str, list[tuple[yaml.Node, yaml.Node]]] = {}
    starts: dict[str, int] = {}
    for line, cells in rows["profiles"]:
        name = cells.get("name")
        if not isinstance(name, str) or not name:
            raise ProfileError(source, line, "profiles.name", "every profile row needs a name")
        if name in profiles:
            raise ProfileError(
                source, line, "profiles.name", f"profile {name!r} is already on row {starts[name]}"
            )
        starts[name] = line
        entries = [_entry(line, "name", name)]
        for column in PROFILE_COLUMNS[1:]:
            value = cells.get(column)
            if column in ("strict", "deny_by_default", "deny_login") and value is False:
                continue
            if value is None:
                continue
            if column == "companies":
                value = _split(value, as_int=True)
            entries.append(_entry(line, column, value))
        profiles[name] = entries
    members: dict[str, dict[str, list[tuple[int, Any]]]] = {}
    for line, cells in rows["members"]:
        profile = _owner(cells, line, "members", profiles, source)
        kind = cells.get("kind")
        if kind not in MEMBER_KINDS:
            raise ProfileError(source, line, "members.kind", "must be login or group")
        members.setdefault(profile, {}).setdefault(MEMBER_KINDS[kind], []).append(
            (line, cells.get("ref"))
        )
    models: dict[str, list[tuple[yaml.Node, yaml.Node]]] = {}
    for line, cells in rows["models"]:
        profile = _owner(cells, line, "models", profiles, source)
        spec: list[tuple[yaml.Node, yaml.Node]] = []
        for mode in FILE_MODES:
            value = cells.get(mode)
            if value is not None and value is not True:
                spec.append(_entry(line, mode, value))
        if cells.get("locked_fields") is not None:
            spec.append(_entry(line, "locked_fields", _split(cells["locked_fields"])))
        models.setdefault(profile, []).append(
            (_node(line, cells.get("model")), yaml.MappingNode(_MAP, spec, _mark(line)))
        )
    for name, entries in profiles.items():
        line = starts[name]
        if name in members:
            member_entries = [
                (_node(items[0][0], key), yaml.SequenceNode(
                    _SEQ, [_node(item_line, ref) for item_line, ref in items], _mark(items[0][0])
                ))
                for key, items in members[name].items()
            ]  # fmt: skip
            entries.append(
                _pair(line, "members", yaml.MappingNode(_MAP, member_entries, _mark(line)))
            )
        if name in models:
            entries.append(_pair(line, "models", yaml.MappingNode(_MAP, models[name], _mark(line))))
    items = [yaml.MappingNode(_MAP, entries, _mark(starts[n])) for n, entries in profiles.items()]
    return parse_profile_nodes(yaml.SequenceNode(_SEQ, items, _mark(1)), source)


_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


def _rows(
    book: Any, title: str, columns: Sequence[str], source: str
) -> list[tuple[int, dict[str, Any]]]:
    if title not in book.sheetnames:
        raise ProfileError(source, 1, title, f"the workbook has no sheet {title!r}")
    sheet = book[title]
    lines = []
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                raise ProfileError(
                    source,
                    cell.row,
                    f"sheet {title}, cell {cell.coordinate}",
                    f"a formula ({cell.value}) is not read: write its value instead",
                )
        lines.append(tuple(cell.value for cell in row))
    header = [str(c) if c is not None else "" for c in (lines[0] if lines else ())]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ProfileError(source, 1, title, f"missing column(s): {', '.join(missing)}")
    found = []
    for number, values in enumerate(lines[1:], start=2):
        cells = {h: v for h, v in zip(header, values, strict=False) if h in columns}
        cells = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in cells.items()}
        if any(v is not None for v in cells.values()):
            found.append((number, cells))
    return found


def _owner(
    cells: dict[str, Any], line: int, sheet: str, profiles: dict[str, Any], source: str
) -> str:
    name = cells.get("profile")
    if name not in profiles:
        raise ProfileError(
            source, line, f"{sheet}.profile", f"no profile {name!r} on sheet profiles"
        )
    return str(name)


def _split(value: Any, as_int: bool = False) -> list[Any]:
    parts = [p.strip() for p in str(value).split(",") if p.strip()]
    return [int(p) if as_int and p.isdigit() else p for p in parts]


def _mark(line: int) -> yaml.Mark:
    return yaml.Mark("", 0, line - 1, 0, "", 0)


def _node(line: int, value: Any) -> yaml.Node:
    """A YAML node for a cell's value, tagged as YAML would tag it."""
    if isinstance(value, list):
        return yaml.SequenceNode(_SEQ, [_node(line, v) for v in value], _mark(line))
    if isinstance(value, bool):
        return yaml.ScalarNode("tag:yaml.org,2002:bool", "true" if value else "false", _mark(line))
    if isinstance(value, int):
        return yaml.ScalarNode("tag:yaml.org,2002:int", str(value), _mark(line))
    if isinstance(value, datetime):
        value = value.isoformat()
    if value is None:
        return yaml.ScalarNode("tag:yaml.org,2002:null", "", _mark(line))
    if not isinstance(value, str):
        return yaml.ScalarNode("tag:yaml.org,2002:float", str(value), _mark(line))
    return yaml.ScalarNode("tag:yaml.org,2002:str", value, _mark(line))


def _entry(line: int, key: str, value: Any) -> tuple[yaml.Node, yaml.Node]:
    return _node(line, key), _node(line, value)


def _pair(line: int, key: str, value: yaml.Node) -> tuple[yaml.Node, yaml.Node]:
    return _node(line, key), value
