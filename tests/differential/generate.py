"""Random Odoo domains over a real database's models, for the differential against the ORM.

`generate(catalog, samples, count, seed)` is pure and deterministic: the same catalog,
samples and seed give the same cases. The catalog is pgpolicy's own introspection of the
database (`read_catalog`); the samples (`read_samples`) are a few values of each field read
from the same database, so that leaves select some rows and not all.

Every field type is covered (char, text, html, selection, integer, float, monetary, boolean,
date, datetime, many2one, one2many, many2many; translated and company-dependent columns,
related and `_inherits` fields), with paths of depth 1-3, every operator of Odoo 18's
domains, values of every shape (False/None, strings on relational fields, lists holding
False, dates and datetimes as strings) and nested '&', '|', '!'. About one case in seven is
a domain Odoo rejects (unknown fields and operators, wrong value shapes, paths through
non-relational fields, malformed prefix notation).

Run it against a restored copy of the database (the project's Python):

    python -m tests.differential.generate --dsn "dbname=odoo18 ..." --out domains.json
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.odoo.metadata import Catalog, Field, Model, read_catalog

# The models domains are drawn over: every kind of field and of relation appears in them.
MODELS = (
    "res.partner",
    "res.users",
    "res.company",
    "res.partner.category",
    "res.partner.bank",
    "res.country",
    "res.currency",
    "product.template",
    "product.product",
    "product.category",
    "product.pricelist",
    "product.pricelist.item",
    "sale.order",
    "sale.order.line",
    "crm.lead",
    "crm.team",
    "account.move",
    "account.move.line",
    "account.account",
    "account.journal",
    "account.tax",
    "account.analytic.account",
    "account.analytic.line",
    "account.payment.term",
    "purchase.order",
    "purchase.order.line",
    "stock.location",
    "stock.picking",
    "stock.move",
    "stock.warehouse",
    "stock.lot",
    "project.project",
    "project.task",
    "project.task.type",
    "hr.employee",
    "hr.department",
    "hr.job",
    "hr.leave",
    "hr.leave.type",
    "hr.expense",
    "mail.message",
    "mail.followers",
    "calendar.event",
    "res.groups",
)

SCALAR_TYPES = (
    "char",
    "text",
    "html",
    "selection",
    "integer",
    "float",
    "monetary",
    "boolean",
    "date",
    "datetime",
)
RELATIONAL_TYPES = ("many2one", "one2many", "many2many")
STRING_TYPES = ("char", "text", "html", "selection")
NUMBER_TYPES = ("integer", "float", "monetary")
ORDERING = ("<", "<=", ">", ">=")
LIKES = ("like", "not like", "ilike", "not ilike", "=like", "=ilike")

# Samples: (model, field) -> a few values of that field in the database (ids for relations).
Samples = dict[str, dict[str, list[Any]]]


@dataclass(frozen=True)
class Case:
    """One domain: its model, its text (a Python literal, as in `ir.rule.domain_force`)
    and the kinds of leaves it has (for reporting mismatches by class)."""

    id: int
    model: str
    domain: str
    kinds: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "domain": self.domain,
            "kinds": list(self.kinds),
        }


# ---------------------------------------------------------------------------
# Which fields a domain may name


def searchable(model: Model, catalog: Catalog) -> list[Field]:
    """Fields Odoo can search in SQL, of the generated types: stored ones, and related ones
    whose every hop is searchable (`_inherits` fields are related fields too); relations
    only towards models with a table.

    A related field is searchable only when its target is (Odoo's `_setup_related_full`);
    a field that is not is ignored by Odoo's search with an error logged, which pgpolicy
    refuses instead: not generated."""
    out = []
    for fld in sorted(model.fields.values(), key=lambda f: f.name):
        if fld.type not in SCALAR_TYPES + RELATIONAL_TYPES:
            continue
        if fld.type in RELATIONAL_TYPES:
            comodel = catalog.models.get(fld.relation or "")
            if comodel is None or comodel.table is None:
                continue
        if is_searchable(catalog, model, fld):
            out.append(fld)
    return out


def is_searchable(catalog: Catalog, model: Model, fld: Field, depth: int = 0) -> bool:
    """Stored, or related through searchable hops to a searchable field."""
    if fld.store:
        return True
    if not fld.related or depth > 5:
        return False
    current, names = model, fld.related.split(".")
    for i, name in enumerate(names):
        target = current.fields.get(name)
        if target is None or not is_searchable(catalog, current, target, depth + 1):
            return False
        if i < len(names) - 1:
            nxt = catalog.models.get(target.relation or "")
            if target.type not in RELATIONAL_TYPES or nxt is None:
                return False
            current = nxt
    return True


# ---------------------------------------------------------------------------
# The generator


@dataclass
class Generator:
    catalog: Catalog
    samples: Samples
    rng: random.Random

    def fields(self, model: Model) -> list[Field]:
        return searchable(model, self.catalog)

    def pick(self, items: Sequence[Any]) -> Any:
        return items[self.rng.randrange(len(items))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- domains -----------------------------------------------------------
    def domain(self, model: Model, depth: int, kinds: list[str]) -> list[Any]:
        """A domain of 1-4 leaves over `model`, in prefix notation with '&', '|', '!'
        (or the implicit '&' between terms)."""
        leaves = self.rng.choice((1, 1, 1, 2, 2, 3, 4))
        parts = [self.leaf(model, depth, kinds) for _ in range(leaves)]
        if len(parts) > 1 and self.chance(0.25):
            return [item for part in parts for item in part]
        return self.combine(parts)

    def combine(self, parts: list[list[Any]]) -> list[Any]:
        """Join domains with random operators, sometimes negating the whole."""
        while len(parts) > 1:
            i = self.rng.randrange(len(parts) - 1)
            op = self.pick(("&", "|", "|"))
            parts[i : i + 2] = [[op, *parts[i], *parts[i + 1]]]
        result = parts[0]
        return ["!", *result] if self.chance(0.15) else result

    def leaf(self, model: Model, depth: int, kinds: list[str]) -> list[Any]:
        """One leaf (wrapped in a list), maybe negated; its path goes up to `depth` hops."""
        fields = self.fields(model)
        special = [f for f in fields if field_kind(model, f) != f.type]
        fld = self.pick(special) if special and self.chance(0.2) else self.pick(fields)
        if fld.type in RELATIONAL_TYPES and depth > 1 and self.chance(0.35):
            comodel = self.catalog.models[fld.relation or ""]
            sub = self.leaf(comodel, depth - 1, kinds)
            if len(sub) == 1 and isinstance(sub[0], tuple) and sub[0][1] not in ("any", "not any"):
                path, op, value = sub[0]
                kinds.append(f"path{path.count('.') + 2}")
                return [(f"{fld.name}.{path}", op, value)]
            kinds.append("any-path")
            return [(fld.name, self.pick(("any", "not any")), sub)]
        op, value, kind = self.term(model, fld, depth, kinds)
        kinds.append(kind)
        term: list[Any] = [(fld.name, op, value)]
        if self.chance(0.1):
            term = ["!", *term]
        return term

    def term(self, model: Model, fld: Field, depth: int, kinds: list[str]) -> tuple[str, Any, str]:
        """(operator, value, kind) for a leaf on `fld`."""
        samples = self.samples.get(model.name, {}).get(fld.name, [])
        kind = field_kind(model, fld)
        if fld.type in RELATIONAL_TYPES:
            op, value = self.relational(model, fld, samples, depth, kinds)
        else:
            op, value = self.scalar(fld, samples)
        return op, value, f"{kind}:{op}:{value_shape(value)}"

    # -- scalar values -----------------------------------------------------
    def scalar(self, fld: Field, samples: list[Any]) -> tuple[str, Any]:
        t = fld.type
        if t in STRING_TYPES:
            ops = ["=", "!=", "in", "not in", "=?", *LIKES, *ORDERING]
        elif t in NUMBER_TYPES:
            ops = ["=", "!=", "in", "not in", "=?", *ORDERING, *ORDERING]
        elif t == "boolean":
            ops = ["=", "!=", "in", "not in", "=?"]
        else:
            ops = ["=", "!=", "in", "not in", "=?", *ORDERING, *ORDERING]
        op = self.pick(ops)
        if op in ("in", "not in"):
            count = self.rng.randrange(0, 4)
            values = [self.scalar_value(fld, samples, op) for _ in range(count)]
            if self.chance(0.3):
                values.append(False)
            return op, values
        return op, self.scalar_value(fld, samples, op)

    def scalar_value(self, fld: Field, samples: list[Any], op: str) -> Any:
        t = fld.type
        if self.chance(0.12):
            return self.pick((False, False, None)) if t != "boolean" else None
        if t == "boolean":
            return self.pick((True, False, True, False, 1, 0))
        if samples and self.chance(0.7):
            value = self.pick(samples)
            if t in STRING_TYPES and isinstance(value, str) and op in LIKES:
                return self.fragment(value, op)
            if t == "datetime" and isinstance(value, str) and self.chance(0.4):
                return value[:10]
            return value
        if t in STRING_TYPES:
            return self.pick(("a", "e", "A%", "%o", "_", "", "Admin", "x'y", "draft", "zzz"))
        if t == "integer":
            return self.pick((0, 1, -1, 3, 10, 100))
        if t in ("float", "monetary"):
            return self.pick((0, 0.0, 1.5, -2.0, 10, 1000.0))
        if t == "date":
            return self.pick(("2024-01-01", "2025-06-30", "2020-12-31", "2026-01-15"))
        return self.pick(("2024-01-01", "2025-06-30 12:00:00", "2020-12-31 23:59:59", "2026-01-15"))

    def fragment(self, value: str, op: str) -> str:
        """A part of a sampled string, as people search (a pattern for =like/=ilike)."""
        if not value:
            return value
        start = self.rng.randrange(len(value))
        part = value[start : start + self.rng.randrange(1, 5)]
        if self.chance(0.3):
            part = part.upper() if self.chance(0.5) else part.lower()
        if op in ("=like", "=ilike"):
            return self.pick((value, part + "%", "%" + part, "%" + part + "%", "_" + value[1:]))
        return part

    # -- relational values -------------------------------------------------
    def relational(
        self, model: Model, fld: Field, samples: list[Any], depth: int, kinds: list[str]
    ) -> tuple[str, Any]:
        comodel = self.catalog.models[fld.relation or ""]
        ids = self.samples.get(comodel.name, {}).get("id", []) or [1, 2, 3]
        hierarchical = "parent_id" in comodel.fields or comodel.parent_path
        ops = ["=", "!=", "in", "not in", "any", "not any", "ilike", "not ilike", "=?"]
        if fld.type == "many2one":
            ops += ["=", "in", "like", "=ilike", "not in", "<", ">"]
        if hierarchical:
            ops += ["child_of", "parent_of"]
        op = self.pick(ops)
        if op in ("any", "not any"):
            return op, self.domain(comodel, max(depth - 1, 1), kinds)
        pool = samples or ids
        if op in ("ilike", "not ilike", "like", "=ilike"):
            names = self.samples.get(comodel.name, {}).get("__name__", [])
            text = self.pick(names) if names and self.chance(0.7) else self.pick(("a", "e", "My"))
            return op, self.fragment(text, op) if op != "=ilike" else text
        if op in ("child_of", "parent_of"):
            return op, self.pick((self.pick(pool), [self.pick(pool), self.pick(ids)], []))
        if op in ("in", "not in"):
            values: list[Any] = [self.pick(pool) for _ in range(self.rng.randrange(0, 4))]
            if self.chance(0.3):
                values.append(False)
            return op, values
        choice = self.rng.random()
        if choice < 0.2:
            return op, self.pick((False, None, 0))
        if choice < 0.3 and fld.type == "many2one":
            names = self.samples.get(comodel.name, {}).get("__name__", [])
            return op, self.pick(names) if names else "My Company"
        if choice < 0.35:
            return op, [self.pick(pool)]
        return op, self.pick(pool)

    # -- domains Odoo rejects ----------------------------------------------
    def rejected(self, model: Model, kinds: list[str]) -> list[Any]:
        """A domain Odoo refuses to search: one invalid leaf among valid ones."""
        fields = self.fields(model)
        scalars = [f for f in fields if f.type in SCALAR_TYPES and f.store]
        relational = [f for f in fields if f.type in RELATIONAL_TYPES and f.store]
        numbers = [f for f in scalars if f.type in NUMBER_TYPES]
        dates = [f for f in scalars if f.type in ("date", "datetime")]
        choices = ["unknown field", "unknown operator", "unknown path", "short leaf"]
        if scalars:
            choices += ["path through scalar", "any on scalar"]
        if relational:
            choices += ["any with a value", "unknown subfield"]
        if numbers:
            choices += ["number from text"]
        if dates:
            choices += ["bad date"]
        reason = self.pick(choices)
        kinds.append(f"rejected:{reason}")
        bad: list[Any]
        if reason == "unknown field":
            bad = [(self.pick(("nonexistent", "x_missing", "nam")), "=", 1)]
        elif reason == "unknown operator":
            fld = self.pick(fields)
            bad = [(fld.name, self.pick(("between", "==", "contains", "~", "is")), 1)]
        elif reason == "unknown path":
            bad = [("id.nonexistent", "=", 1)]
        elif reason == "short leaf":
            bad = [(self.pick(fields).name, "=")]
        elif reason == "path through scalar":
            fld = self.pick([f for f in scalars if f.type not in ("date", "datetime")] or scalars)
            bad = [(f"{fld.name}.id", "=", 1)]
        elif reason == "any on scalar":
            bad = [(self.pick(scalars).name, "any", [("id", "=", 1)])]
        elif reason == "any with a value":
            bad = [(self.pick(relational).name, self.pick(("any", "not any")), 1)]
        elif reason == "unknown subfield":
            bad = [(self.pick(relational).name + ".nonexistent", "=", 1)]
        elif reason == "number from text":
            bad = [(self.pick(numbers).name, self.pick(("=", "<", "!=")), "abc")]
        else:
            bad = [(self.pick(dates).name, self.pick(("=", ">=", "<")), "not a date")]
        if self.chance(0.5):
            return self.combine([bad, self.leaf(model, 1, kinds)])
        return bad


def value_shape(value: Any) -> str:
    """The shape of a leaf's value, for reports: false (False/None), str, list, domain
    (any/not any), or value."""
    if value is False or value is None:
        return "false"
    if isinstance(value, str):
        return "str"
    if (
        isinstance(value, list)
        and value
        and (isinstance(value[0], tuple) or value[0] in ("&", "|", "!"))
    ):
        return "domain"
    if isinstance(value, list):
        return "list"
    return "value"


def field_kind(model: Model, fld: Field) -> str:
    """The class of a field for reports: its type and what is special about its storage."""
    kind = fld.type
    if fld.company_dependent:
        kind += "+company_dependent"
    if fld.translate:
        kind += "+translated"
    if not fld.store and fld.related:
        head = fld.related.split(".")[0]
        kind += "+inherited" if head in model.inherits.values() else "+related"
    return kind


def generate(catalog: Catalog, samples: Samples, count: int, seed: int) -> list[Case]:
    """`count` cases over `MODELS` (those the catalog has with a table), one in seven rejected."""
    rng = random.Random(seed)
    gen = Generator(catalog, samples, rng)
    models = [catalog.models[m] for m in MODELS if m in catalog.models and catalog.models[m].table]
    cases = []
    for i in range(count):
        model = models[i % len(models)]
        kinds: list[str] = []
        if rng.random() < 0.14:
            domain = gen.rejected(model, kinds)
        else:
            domain = gen.domain(model, rng.choice((1, 1, 2, 3)), kinds)
        cases.append(Case(i + 1, model.name, domain_text(domain), tuple(dict.fromkeys(kinds))))
    return cases


def domain_text(domain: list[Any]) -> str:
    """The domain as Python source (what `domain_force` holds): literals only."""
    return repr(domain)


# ---------------------------------------------------------------------------
# Samples read from the database

NAME_FIELDS = ("name", "display_name", "complete_name", "login", "code")


def read_samples(conn: psycopg.Connection[Any], catalog: Catalog, per_field: int = 4) -> Samples:
    """A few values of each searchable field of the models reachable from `MODELS`, read in
    a stable order (ids, `__name__` for each comodel's names)."""
    names: set[str] = set()
    for name in MODELS:
        model = catalog.models.get(name)
        if model is None or model.table is None:
            continue
        names.add(name)
        names.update(f.relation or "" for f in searchable(model, catalog) if f.relation)
    out: Samples = {}
    for name in sorted(names):
        model = catalog.models.get(name)
        if model is None or model.table is None:
            continue
        out[name] = model_samples(conn, catalog, model, per_field)
    return out


def model_samples(
    conn: psycopg.Connection[Any], catalog: Catalog, model: Model, per_field: int
) -> dict[str, list[Any]]:
    table = sql.Identifier(model.table or "")
    result: dict[str, list[Any]] = {}
    query = sql.SQL("SELECT id FROM {} ORDER BY md5(id::text) LIMIT %s").format(table)
    result["id"] = [r[0] for r in conn.execute(query, [per_field * 2])]
    for fld in searchable(model, catalog):
        if not fld.store or fld.type in ("one2many", "many2many"):
            continue
        column = sql.Identifier(fld.name)
        if fld.company_dependent:
            expr = sql.SQL(
                "(SELECT e.value #>> '{{}}' FROM jsonb_each(t.{}) AS e ORDER BY e.key LIMIT 1)"
            ).format(column)
        elif fld.translate:
            expr = sql.SQL("t.{}->>'en_US'").format(column)
        else:
            expr = sql.SQL("t.{}").format(column)
        query = sql.SQL(
            "SELECT v FROM (SELECT DISTINCT {} AS v FROM {} AS t) AS s WHERE v IS NOT NULL "
            "ORDER BY md5(v::text) LIMIT %s"
        ).format(expr, table)
        values = [plain(r[0], fld) for r in conn.execute(query, [per_field])]
        result[fld.name] = [v for v in values if v is not None]
        if fld.name in NAME_FIELDS and "__name__" not in result:
            result["__name__"] = [v for v in result[fld.name] if isinstance(v, str)]
    return result


def plain(value: Any, fld: Field) -> Any:
    """A database value as a domain literal (dates as Odoo's strings, numbers as numbers)."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, decimal.Decimal):
        return float(value)
    if fld.company_dependent and isinstance(value, str) and fld.type in NUMBER_TYPES:
        try:
            return int(value) if fld.type == "integer" else float(value)
        except ValueError:
            return None
    if fld.company_dependent and fld.type == "many2one" and isinstance(value, str):
        return int(value) if value.isdigit() else None
    if isinstance(value, str) and len(value) > 40:
        return value[:40]
    return value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", required=True, help="a restored copy of the Odoo database")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--count", type=int, default=3300)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    with psycopg.connect(args.dsn) as conn:
        catalog = read_catalog(conn)
        samples = read_samples(conn, catalog)
    cases = generate(catalog, samples, args.count, args.seed)
    data = {"seed": args.seed, "count": args.count, "cases": [c.as_dict() for c in cases]}
    args.out.write_text(json.dumps(data, indent=0) + "\n")


if __name__ == "__main__":
    main()
