"""Read what the compiler needs from an Odoo database into plain frozen data.

This is the one place that knows Odoo's metadata tables (`ir_model`,
`ir_model_fields`, `ir_model_inherit`, `ir_rule`, `ir_model_access`,
`ir_model_data`). The result can be saved to JSON so that compiling works
offline.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg

from pgpolicy.errors import PgPolicyError

MODES = ("read", "write", "create", "unlink")
SUPPORTED_SERIES = ("17.0", "18.0", "19.0")
# A catalog saved before the version was read came from an Odoo 18.0 database.
DEFAULT_SERIES = "18.0"


class UnsupportedOdooVersion(PgPolicyError):
    """The database runs an Odoo series whose semantics pgpolicy does not know."""


@dataclass(frozen=True)
class Field:
    """One `ir.model.fields` row, reduced to what searching on it needs."""

    name: str
    type: str
    store: bool
    relation: str | None = None
    relation_field: str | None = None
    relation_table: str | None = None
    column1: str | None = None
    column2: str | None = None
    related: str | None = None
    translate: bool = False
    company_dependent: bool = False
    required: bool = False
    sanitize: bool = False  # html: values are sanitized before Odoo compares them
    # `groups=` of the field (ir_model_fields_group_rel): only members of one of them read it
    groups: tuple[int, ...] = ()


@dataclass(frozen=True)
class Model:
    """An Odoo model: its table (None when it has none) and fields."""

    name: str
    table: str | None
    fields: dict[str, Field]
    inherits: dict[str, str] = field(default_factory=dict)  # parent model -> link field
    parent_path: bool = False  # `_parent_store`: the table keeps `parent_path`
    mail_thread: bool = False  # inherits mail.thread (followers, messages)


@dataclass(frozen=True)
class Rule:
    """One `ir.rule` row."""

    id: int
    name: str
    model: str
    domain: str | None
    group_ids: tuple[int, ...]
    modes: tuple[str, ...]
    active: bool
    xml_id: str | None = None

    @property
    def is_global(self) -> bool:
        return not self.group_ids


@dataclass(frozen=True)
class Access:
    """One `ir.model.access` row."""

    id: int
    model: str
    group_id: int | None
    modes: tuple[str, ...]
    active: bool
    xml_id: str | None = None


@dataclass(frozen=True)
class Catalog:
    """Everything the compiler reads from a database."""

    models: dict[str, Model]
    rules: tuple[Rule, ...]
    access: tuple[Access, ...]
    groups: dict[str, int]  # group xml id -> res_groups.id
    # The relations of the Odoo schema (public), whatever models they map to: every one an
    # app role can reach must be protected (`pgpolicy.compiler.relations`).
    tables: tuple[str, ...] = ()  # tables and partitioned tables
    views: tuple[str, ...] = ()
    parents: dict[str, str] = field(default_factory=dict)  # child table -> parent (INHERITS)
    # `ir_module_module.latest_version` of `base` (e.g. "17.0.1.3"); None: unknown (18.0)
    odoo_version: str | None = None

    @property
    def series(self) -> str:
        """The Odoo series whose semantics the compiler follows, e.g. "17.0"."""
        return series_of(self.odoo_version)

    @property
    def major(self) -> int:
        """The series' major number (17, 18): what the compiler branches on."""
        return int(self.series.split(".")[0])

    def model(self, name: str) -> Model:
        try:
            return self.models[name]
        except KeyError:
            raise KeyError(f"unknown model {name!r}") from None

    def save(self, path: Path) -> None:
        """Write the catalog as JSON (stable order, for diffs)."""
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path) -> Catalog:
        """Read a catalog written by `save`."""
        return catalog_from_dict(json.loads(path.read_text()))


def catalog_from_dict(data: dict[str, Any]) -> Catalog:
    """Rebuild a catalog from its JSON form."""
    models = {
        name: Model(
            name=m["name"],
            table=m["table"],
            fields={
                f: Field(**{**spec, "groups": tuple(spec.get("groups", ()))})
                for f, spec in m["fields"].items()
            },
            inherits=dict(m["inherits"]),
            parent_path=m["parent_path"],
            mail_thread=m.get("mail_thread", False),
        )
        for name, m in data["models"].items()
    }
    rules = tuple(
        Rule(**{**r, "group_ids": tuple(r["group_ids"]), "modes": tuple(r["modes"])})
        for r in data["rules"]
    )
    access = tuple(Access(**{**a, "modes": tuple(a["modes"])}) for a in data["access"])
    return Catalog(
        models=models,
        rules=rules,
        access=access,
        groups=dict(data["groups"]),
        tables=tuple(data.get("tables", ())),
        views=tuple(data.get("views", ())),
        parents=dict(data.get("parents", {})),
        odoo_version=data.get("odoo_version"),
    )


def series_of(version: str | None) -> str:
    """The series ("17.0") of a module version ("17.0.1.3"); 18.0 when unknown.

    Fails on a series pgpolicy does not know: its rules would be compiled with another
    version's semantics."""
    if version is None:
        return DEFAULT_SERIES
    parts = version.split(".")
    series = ".".join(parts[:2])
    if len(parts) < 2 or series not in SUPPORTED_SERIES:
        raise UnsupportedOdooVersion(
            f"Odoo version {version!r} is not supported (supported: {', '.join(SUPPORTED_SERIES)})"
        )
    return series


# ---------------------------------------------------------------------------
# Reading a live database

# `translate` is a boolean up to 18.0, the kind of translation (`standard`, …) from 19.0.
_FIELDS = """
SELECT model, name, ttype, coalesce(store, false), relation, relation_field, relation_table,
       column1, column2, related, coalesce(translate::text NOT IN ('', 'false'), false),
       coalesce(company_dependent, false), coalesce(required, false), coalesce(sanitize, false)
  FROM public.ir_model_fields ORDER BY model, name
"""
# Odoo 17.0 has no ir_model_fields.company_dependent: its company-dependent fields are not
# stored and keep their values in ir_property. Those with a value there are marked (a
# non-stored field is refused anyway unless the compiler knows its search).
_FIELDS_17 = """
SELECT model, name, ttype, coalesce(store, false), relation, relation_field, relation_table,
       column1, column2, related, coalesce(translate::text NOT IN ('', 'false'), false),
       id IN (SELECT fields_id FROM public.ir_property WHERE fields_id IS NOT NULL),
       coalesce(required, false), coalesce(sanitize, false)
  FROM public.ir_model_fields ORDER BY model, name
"""
_VERSION = """
SELECT latest_version FROM public.ir_module_module WHERE name = 'base' AND state = 'installed'
"""
_FIELD_GROUPS = """
SELECT f.model, f.name, array_agg(r.group_id ORDER BY r.group_id)
  FROM public.ir_model_fields_group_rel r JOIN public.ir_model_fields f ON f.id = r.field_id
 GROUP BY f.model, f.name
"""
_TABLES = """
SELECT c.relname, array_agg(a.attname::text)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relkind IN ('r', 'p')
 GROUP BY c.relname
"""
_VIEWS = """
SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'v' ORDER BY 1
"""
# PostgreSQL's table inheritance (`ir_act_window` INHERITS `ir_actions`): a query naming the
# parent reads the children's rows too, under the parent's policies only.
_PARENTS = """
SELECT c.relname, p.relname
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
  JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace AND cn.nspname = 'public'
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace AND pn.nspname = 'public'
"""
_MAIL_THREADS = "SELECT model FROM public.ir_model WHERE is_mail_thread"
_INHERITS = """
SELECT m.model, p.model, f.name
  FROM public.ir_model_inherit i
  JOIN public.ir_model m ON m.id = i.model_id
  JOIN public.ir_model p ON p.id = i.parent_id
  JOIN public.ir_model_fields f ON f.id = i.parent_field_id
"""
_XML_IDS = """
SELECT model, res_id, module || '.' || name FROM public.ir_model_data
 WHERE model IN ('ir.rule', 'ir.model.access', 'res.groups') ORDER BY id
"""
_RULES = """
SELECT r.id, r.name, m.model, r.domain_force, r.active, r.perm_read, r.perm_write,
       r.perm_create, r.perm_unlink,
       coalesce((SELECT array_agg(g.group_id ORDER BY g.group_id) FROM public.rule_group_rel g
                  WHERE g.rule_group_id = r.id), '{}')
  FROM public.ir_rule r JOIN public.ir_model m ON m.id = r.model_id ORDER BY r.id
"""
_ACCESS = """
SELECT a.id, m.model, a.group_id, a.active, a.perm_read, a.perm_write, a.perm_create,
       a.perm_unlink
  FROM public.ir_model_access a JOIN public.ir_model m ON m.id = a.model_id ORDER BY a.id
"""


def read_version(conn: psycopg.Connection[Any]) -> str | None:
    """`base`'s installed version, or None where the database has no module table (an
    Odoo-shaped sample such as the demo's: read as 18.0)."""
    exists = conn.execute("SELECT to_regclass('public.ir_module_module') IS NOT NULL").fetchone()
    if not (exists and exists[0]):
        return None
    base = conn.execute(_VERSION).fetchone()
    return str(base[0]) if base and base[0] else None


# Up to 18.0 the ORM reads a user's groups from res_groups_users_rel, where implied groups
# are written too; 19.0 keeps there only the groups given to the user and reads
# `all_group_ids`, their closure over res_groups_implied_rel (docs/semantics.md).
_DIRECT_GROUPS = "SELECT gid FROM public.res_groups_users_rel WHERE uid = %s"
_ALL_GROUPS = """
WITH RECURSIVE g(id) AS (
    SELECT gid FROM public.res_groups_users_rel WHERE uid = %s
    UNION SELECT i.hid FROM public.res_groups_implied_rel AS i JOIN g ON i.gid = g.id)
SELECT id FROM g
"""


def user_group_ids(conn: psycopg.Connection[Any], uid: int) -> frozenset[int]:
    """The groups Odoo counts the user in (`has_group`, fields' `groups=`), as the
    database's version reads them."""
    major = int(series_of(read_version(conn)).split(".")[0])
    rows = conn.execute(_ALL_GROUPS if major >= 19 else _DIRECT_GROUPS, [uid])
    return frozenset(int(gid) for (gid,) in rows)


def _field_groups(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], tuple[int, ...]]:
    """The `groups=` of each field restricted by some (model, field -> group ids); none
    in a database without ir_model_fields_group_rel."""
    exists = conn.execute("SELECT to_regclass('public.ir_model_fields_group_rel')").fetchone()
    if exists is None or exists[0] is None:
        return {}
    return {(model, name): tuple(groups) for model, name, groups in conn.execute(_FIELD_GROUPS)}


def read_catalog(conn: psycopg.Connection[Any]) -> Catalog:
    """Read the catalog of the Odoo database behind `conn` (read-only queries)."""
    version = read_version(conn)
    series_of(version)  # an unsupported version fails here, before anything is compiled
    fields_query = _FIELDS_17 if version and version.startswith("17.") else _FIELDS
    fields_by_model: dict[str, dict[str, Field]] = {}
    field_groups = _field_groups(conn)
    for row in conn.execute(fields_query):
        model, name, *spec = row
        restricted_to = field_groups.get((model, name), ())
        fields_by_model.setdefault(model, {})[name] = replace(
            Field(name, *spec), groups=restricted_to
        )
    tables = {name: set(columns) for name, columns in conn.execute(_TABLES)}
    parents = {child: parent for child, parent in conn.execute(_PARENTS)}
    inherits: dict[str, dict[str, str]] = {}
    for model, parent, link in conn.execute(_INHERITS):
        inherits.setdefault(model, {})[parent] = link
    mail_threads = {name for (name,) in conn.execute(_MAIL_THREADS)}
    claimed = {name.replace(".", "_") for name in fields_by_model} & set(tables)
    unclaimed = {t: cols for t, cols in tables.items() if t not in claimed}
    models = {}
    for name, fields in fields_by_model.items():
        table = table_of(name, fields, tables, unclaimed, parents)
        models[name] = Model(
            name=name,
            table=table,
            fields=fields,
            inherits=inherits.get(name, {}),
            parent_path=table is not None and "parent_path" in tables[table],
            mail_thread=name in mail_threads,
        )
    xml_ids: dict[tuple[str, int], str] = {}
    for model, res_id, xml_id in conn.execute(_XML_IDS):
        xml_ids.setdefault((model, res_id), xml_id)
    rules = tuple(
        Rule(
            id=rid,
            name=name,
            model=model,
            domain=domain,
            active=active,
            modes=_modes(read, write, create, unlink),
            group_ids=tuple(groups),
            xml_id=xml_ids.get(("ir.rule", rid)),
        )
        for rid, name, model, domain, active, read, write, create, unlink, groups in conn.execute(
            _RULES
        )
    )
    access = tuple(
        Access(
            id=aid,
            model=model,
            group_id=group_id,
            active=active,
            modes=_modes(read, write, create, unlink),
            xml_id=xml_ids.get(("ir.model.access", aid)),
        )
        for aid, model, group_id, active, read, write, create, unlink in conn.execute(_ACCESS)
    )
    groups = {
        xml_id: res_id for (model, res_id), xml_id in xml_ids.items() if model == "res.groups"
    }
    return Catalog(
        models=models,
        rules=rules,
        access=access,
        groups=groups,
        tables=tuple(sorted(tables)),
        views=tuple(name for (name,) in conn.execute(_VIEWS)),
        parents=parents,
        odoo_version=version,
    )


def _modes(*flags: bool | None) -> tuple[str, ...]:
    return tuple(mode for mode, flag in zip(MODES, flags, strict=True) if flag)


def table_of(
    model: str,
    fields: dict[str, Field],
    tables: dict[str, set[str]],
    unclaimed: dict[str, set[str]],
    parents: dict[str, str] | None = None,
) -> str | None:
    """The table of `model`: Odoo's default name, else the one unclaimed table with its columns.

    Odoo does not record `_table` in its metadata; models with a custom table
    (e.g. `project.task.stage.personal` → `project_task_user_rel`) are found by
    their stored columns among tables no other model is named after; among
    several, the inheritance parent of the others (`ir.actions.actions` →
    `ir_actions`, whose children `ir_act_window`, … hold its columns too). None for
    abstract models and SQL views.
    """
    default = model.replace(".", "_")
    if default in tables:
        return default
    columns = {
        f.name for f in fields.values() if f.store and f.type not in ("one2many", "many2many")
    }
    if not columns or "id" not in columns:
        return None
    candidates = [name for name, cols in unclaimed.items() if columns <= cols]
    if len(candidates) > 1 and parents:
        candidates = [c for c in candidates if parents.get(c) not in candidates]
    return candidates[0] if len(candidates) == 1 else None
