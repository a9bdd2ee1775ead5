"""Compile a domain tree to a SQL boolean expression over a model's table.

The reference is Odoo 18's ORM: `odoo/osv/expression.py` and
`BaseModel._condition_to_sql`, as they run when record rules are applied
(`_apply_ir_rules` compiles rules in sudo, with `active_test=False` on read).
`odoo-semantics.md` §3 is the specification; each rule of it is noted where it
is implemented.

Values that depend on who is asking are never frozen at compile time: they
become calls of the runtime's plan-time functions (`pgpolicy.planned_uid()`,
`planned_company_ids()`, …, and generated `planned_ids_*` functions for
`user.<path>` values), which PostgreSQL folds into constants when it plans the
statement, so the predicate left is the WHERE clause the ORM would have written,
with the same estimates and plans. The policy set's context gate re-checks at
run time that the statement runs under the context it was planned for
(`docs/semantics.md`, "Decided when the statement is planned").

Relational conditions read other tables the way Odoo does inside rules: as
superuser, ignoring those tables' own rules. Inside a policy that needs a
bypass, so every such set of ids is computed by a generated
`SECURITY DEFINER` function (`pgpolicy_sudo.ids_<hash>()`), called once per
statement; the policy compares with `= ANY((SELECT f())::integer[])`. Sets that
depend on the context alone (the user's records, the company hierarchy above
or below the allowed companies) are `planned_ids_*` functions instead, folded
at plan time like the context itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgpolicy.errors import CompileError
from pgpolicy.odoo.domain import (
    FALSE,
    NEGATIVE_OPERATORS,
    TRUE,
    And,
    Bool,
    Concat,
    Const,
    Context,
    HasGroup,
    IfElse,
    Leaf,
    ListOf,
    Node,
    Not,
    Or,
    Strftime,
    conjoin,
    disjoin,
)
from pgpolicy.odoo.metadata import Catalog, Field, Model

SUDO_SCHEMA = "pgpolicy_sudo"
PLANNED_PREFIX = "planned_ids_"
NUMBER_TYPES = ("integer", "float", "monetary")
CHAR_TYPES = ("char", "text", "html")
SQL_TYPES = {
    "integer": "integer",
    "float": "double precision",
    "monetary": "numeric",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamp",
    "many2one": "integer",
    "char": "varchar",
    "text": "text",
    "html": "text",
    "selection": "varchar",
}


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL literal for a Python scalar taken from a domain."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise CompileError(f"unsupported literal {value!r}")


# The context a plan-time function's own query may read when it runs: the readers of the
# plan-time functions it would otherwise call (sql/runtime.sql).
RUNTIME_READERS = {
    "pgpolicy.planned_uid()": "pgpolicy.uid()",
    "pgpolicy.planned_company_ids()": "pgpolicy.company_ids()",
    "pgpolicy.planned_company_id()": "pgpolicy.company_id()",
    "pgpolicy.planned_group_ids()": "pgpolicy.group_ids()",
}


def planned_source(select: str) -> str:
    """The source of a `planned_ids_*` function whose ids `select` computes.

    PL/pgSQL, reading the context when it runs, when that is all the query needs: PL/pgSQL
    keeps the query's plan, where a SQL function is parsed and planned again at every call
    (0.3 ms of every statement on a res.partner rule, bench/RESULTS.md), and a kept plan
    must fold no context of its own (it would outlive a context set by hand, and the
    statement's gate would not see it). A query calling any other plan-time function stays
    SQL: planned at each call, so nothing folded into it is kept."""
    source = select
    for planned, runtime in RUNTIME_READERS.items():
        source = source.replace(planned, runtime)
    if "planned_" in source:
        return select
    return f"BEGIN RETURN ({source}); END"


@dataclass(frozen=True)
class SudoFunction:
    """A generated function that computes a set of ids as superuser, once per statement."""

    name: str  # unqualified; lives in SUDO_SCHEMA
    returns: str
    body: str

    @property
    def qualified(self) -> str:
        return f"{ident(SUDO_SCHEMA)}.{ident(self.name)}"

    @property
    def language(self) -> str:
        """`plpgsql` for a body `planned_source` made PL/pgSQL, else `sql`."""
        return "plpgsql" if self.body.startswith("BEGIN RETURN (") else "sql"

    @property
    def planned(self) -> bool:
        """Whether it is folded at plan time (IMMUTABLE): its ids depend on the context only.

        The name says it, so deployed functions, plans and migrations need no other field."""
        return self.name.startswith(PLANNED_PREFIX)


@dataclass(frozen=True)
class Predicate:
    """A compiled SQL boolean expression and the functions it calls."""

    sql: str
    functions: tuple[SudoFunction, ...] = ()


# ---------------------------------------------------------------------------
# Values resolved for SQL


@dataclass(frozen=True)
class Static:
    """A value known at compile time (a scalar, or a tuple of scalars for a list)."""

    value: Any


@dataclass(frozen=True)
class Dynamic:
    """A value known when the statement runs: a scalar SQL expression or an integer array.

    `planned` values depend on the context alone and are folded when the statement is
    planned; the others (`now()`, searches) are computed when it runs."""

    sql: str
    is_array: bool
    nullable: bool = True
    extras: tuple[Any, ...] = ()  # static items concatenated to an array (e.g. False)
    planned: bool = False
    local_date: bool = False  # a date in the user's time zone (profile date placeholders)


@dataclass(frozen=True)
class Search:
    """`comodel._search(domain)` as a set of values of `column` (a subquery in Odoo)."""

    model: str
    column: str
    domain: Node


Resolved = Static | Dynamic | Search


@dataclass
class Compiler:
    """Compiles domains over models of one catalog; collects the sudo functions used."""

    catalog: Catalog
    inline: bool = False  # subqueries in place: for readers that bypass RLS (tools, tests)
    functions: dict[str, SudoFunction] = field(default_factory=dict)
    _aliases: int = 0

    # -- entry points ------------------------------------------------------
    def predicate(self, node: Node, model: Model) -> Predicate:
        """The SQL condition of `node` over `model`'s table, for use in a policy."""
        self.functions = {}
        table = self.table(model)
        sql = self.node(node, model, ident(table), top=not self.inline)
        return Predicate(sql, tuple(self.functions.values()))

    def table(self, model: Model) -> str:
        if model.table is None:
            raise CompileError(f"model {model.name} has no table")
        return model.table

    # -- tree --------------------------------------------------------------
    def node(self, node: Node, model: Model, alias: str, top: bool) -> str:
        if isinstance(node, Bool):
            return "true" if node.value else "false"
        if isinstance(node, And):
            return "(" + " AND ".join(self.node(c, model, alias, top) for c in node.children) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.node(c, model, alias, top) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(NOT ({self.node(node.child, model, alias, top)}))"
        return self.leaf(node, model, alias, top)

    def leaf(self, leaf: Leaf, model: Model, alias: str, top: bool) -> str:
        fld = self.field(model, leaf.path)
        if fld.company_dependent and self.catalog.major == 17:
            self.column_sql(fld, alias)  # refused: see column_sql
        translated = translate_field(self, model, fld, leaf)
        if translated is not None:
            return self.node(translated, model, alias, top)
        if not fld.store:
            if fld.related:
                return self.node(related_leaf(fld.related, leaf), model, alias, top)
            raise CompileError(
                f"field {model.name}.{fld.name} is not stored and has no known SQL translation",
                token=leaf.path,
            )
        op = leaf.op
        if op in ("any", "not any"):
            assert not isinstance(leaf.value, Const | ListOf | Context | Concat | HasGroup)
            return self.any_leaf(fld, model, op, leaf.value, alias, top)
        value = self.resolve(leaf.value)
        if op in ("child_of", "parent_of"):
            return self.hierarchy(fld, model, op, value, alias, top)
        if fld.type == "many2many":
            return self.many2many(fld, op, value, alias, top)
        if fld.type == "one2many":
            return self.one2many(fld, model, op, value, alias, top)
        return self.scalar(fld, model, op, value, alias, top)

    def field(self, model: Model, name: str) -> Field:
        try:
            return model.fields[name]
        except KeyError:
            raise CompileError(f"unknown field {model.name}.{name}", token=name) from None

    # -- values ------------------------------------------------------------
    def resolve(self, value: Any) -> Resolved:
        if isinstance(value, Search | Static | Dynamic):
            return value
        if isinstance(value, Const):
            return Static(value.value)
        if isinstance(value, ListOf):
            parts = [self.resolve(item) for item in value.items]
            statics = [p.value for p in parts if isinstance(p, Static)]
            if len(statics) == len(parts):
                return Static(tuple(statics))
            return self.dynamic_list(parts)
        if isinstance(value, Concat):
            left, right = self.resolve(value.left), self.resolve(value.right)
            if isinstance(left, Static) and isinstance(right, Static):
                return Static(tuple(left.value) + tuple(right.value))
            return self.dynamic_list([left, right], flatten=True)
        if isinstance(value, Context):
            return self.context(value)
        if isinstance(value, HasGroup):
            gid = self.catalog.groups.get(value.xml_id)
            if gid is None:
                return Static(False)
            return Dynamic(f"pgpolicy.planned_in_groups('{{{gid}}}')", False, False, planned=True)
        if isinstance(value, Strftime):
            return Dynamic(
                f"to_char((now() AT TIME ZONE 'UTC'), {literal(pg_format(value.fmt))})",
                False,
                False,
            )
        if isinstance(value, IfElse):
            test = self.resolve(value.test)
            if isinstance(test, Static):
                return self.resolve(value.then if test.value else value.other)
            raise CompileError("a conditional on a query-time value is not supported")
        raise CompileError(f"unsupported value {value!r}")

    def dynamic_list(self, parts: list[Resolved], flatten: bool = False) -> Dynamic:
        arrays: list[str] = []
        scalars: list[str] = []
        extras: list[Any] = []
        for part in parts:
            if isinstance(part, Static):
                items = part.value if flatten and isinstance(part.value, tuple) else (part.value,)
                for item in items:
                    if item is False or item is None:
                        extras.append(item)
                    else:
                        scalars.append(literal(item))
            elif isinstance(part, Dynamic) and part.is_array:
                arrays.append(part.sql)
                extras.extend(part.extras)
            elif isinstance(part, Dynamic):
                scalars.append(part.sql)
            else:
                raise CompileError("a subquery cannot be part of a list")
        if scalars:
            arrays.append("ARRAY[" + ", ".join(scalars) + "]::integer[]")
        sql = " || ".join(arrays) if arrays else "'{}'::integer[]"
        planned = all(not isinstance(p, Dynamic) or p.planned for p in parts)
        return Dynamic(sql, True, False, tuple(extras), planned)

    def context(self, value: Context) -> Dynamic:
        if value.name == "company_ids":
            return Dynamic("pgpolicy.planned_company_ids()", True, False, planned=True)
        if value.name == "company_id":
            return Dynamic("pgpolicy.planned_company_id()", False, False, planned=True)
        if value.name == "date":
            return Dynamic(f"(SELECT {LOCAL_DATES[value.path[0]]})", False, False, local_date=True)
        return user_value(self, value.path)

    # -- sets of ids computed as superuser ---------------------------------
    def ids_array(self, select_sql: str, top: bool, planned: bool = False) -> str:
        """An integer[] expression of the ids a SELECT returns, bypassing RLS when `top`.

        `planned`: the SELECT depends on the context alone; the function is folded when
        the statement is planned (a bare call), else evaluated once when it runs (an
        InitPlan)."""
        if not top or self.inline:
            return f"ARRAY({select_sql})"
        body = f"SELECT coalesce(array_agg(DISTINCT v), '{{}}') FROM ({select_sql}) AS s(v)"
        if planned:
            body = planned_source(body)
        prefix = PLANNED_PREFIX if planned else "ids_"
        name = prefix + hashlib.sha256(body.encode()).hexdigest()[:16]
        function = SudoFunction(name, "integer[]", body)
        self.functions[name] = function
        return f"{function.qualified}()" if planned else f"(SELECT {function.qualified}())"

    def search_sql(self, search: Search) -> str:
        """`SELECT <column> FROM comodel WHERE <domain>` (no rules: Odoo runs it in sudo)."""
        model = self.catalog.model(search.model)
        alias = self.new_alias()
        where = self.node(search.domain, model, alias, top=False)
        column = f"{alias}.{ident(search.column)}"
        return (
            f"SELECT {column} FROM public.{ident(self.table(model))} AS {alias} "
            f"WHERE {where} AND {column} IS NOT NULL"
        )

    def new_alias(self) -> str:
        self._aliases += 1
        return f"s{self._aliases}"

    def in_set(self, column: str, values: Resolved, top: bool, negate: bool = False) -> str:
        """`column IN values` (or NOT IN) for ids given statically, at query time or as a search."""
        if isinstance(values, Static):
            items = values.value if isinstance(values.value, tuple) else (values.value,)
            ids = [literal(v) for v in items if v is not False and v is not None]
            if not ids:
                return "true" if negate else "false"
            sql = f"{column} IN ({', '.join(ids)})"
        elif isinstance(values, Dynamic):
            array = values.sql if values.is_array else f"ARRAY[{values.sql}]"
            sql = f"{column} = ANY(({array})::integer[])"
        else:
            sql = f"{column} = ANY(({self.ids_array(self.search_sql(values), top)})::integer[])"
        return f"(NOT ({sql}))" if negate else sql

    # -- relational leaves (odoo-semantics §3.3) ---------------------------
    def any_leaf(self, fld: Field, model: Model, op: str, sub: Node, alias: str, top: bool) -> str:
        comodel = self.catalog.model(fld.relation or "")
        column = f"{alias}.{ident(fld.name)}"
        if fld.type == "many2one":
            ids = Search(comodel.name, "id", sub)
            if op == "any":
                return self.in_set(column, ids, top)
            return f"({self.in_set(column, ids, top, negate=True)} OR {column} IS NULL)"
        if fld.type == "one2many":
            inverse = Search(comodel.name, fld.relation_field or "", sub)
            return self.in_set(f"{alias}.id", inverse, top, negate=op == "not any")
        if fld.type == "many2many":
            ids = Search(comodel.name, "id", sub)
            return self.many2many(fld, "in" if op == "any" else "not in", ids, alias, top)
        raise CompileError(f"{op} on a {fld.type} field", token=fld.name)

    def many2many(self, fld: Field, op: str, value: Resolved, alias: str, top: bool) -> str:
        rel, col1, col2 = fld.relation_table, fld.column1, fld.column2
        if not (rel and col1 and col2):
            raise CompileError(f"many2many {fld.name} has no relation table", token=fld.name)
        negative = op in NEGATIVE_OPERATORS
        if isinstance(value, Static) and value.value is False and op in ("=", "!="):
            # `= False`: no relation at all (no comodel active filter), `!= False`: some
            rel_sql = f"SELECT {ident(col1)} FROM public.{ident(rel)}"
            return self.in_set(
                f"{alias}.id", Dynamic(self.ids_array(rel_sql, top), True), top, negate=not negative
            )
        if op not in ("=", "!=", "in", "not in"):
            raise CompileError(f"operator {op} on many2many {fld.name}", token=op)
        r = self.new_alias()
        if isinstance(value, Search):
            targets = f"{r}.{ident(col2)} IN ({self.search_sql(value)})"
        elif isinstance(value, Dynamic):
            array = value.sql if value.is_array else f"ARRAY[{value.sql}]"
            targets = f"{r}.{ident(col2)} = ANY(({array})::integer[])"
        else:
            items = value.value if isinstance(value.value, tuple) else (value.value,)
            ids = [literal(v) for v in items if v]
            targets = f"{r}.{ident(col2)} IN ({', '.join(ids) or 'NULL'})"
        rel_sql = f"SELECT {r}.{ident(col1)} FROM public.{ident(rel)} AS {r} WHERE {targets}"
        return self.in_set(
            f"{alias}.id", Dynamic(self.ids_array(rel_sql, top), True), top, negate=negative
        )

    def one2many(
        self, fld: Field, model: Model, op: str, value: Resolved, alias: str, top: bool
    ) -> str:
        comodel = self.catalog.model(fld.relation or "")
        inverse = fld.relation_field or ""
        negative = op in NEGATIVE_OPERATORS
        if isinstance(value, Static) and value.value is False and op in ("=", "!="):
            lines = Search(comodel.name, inverse, TRUE)
            return self.in_set(f"{alias}.id", lines, top, negate=not negative)
        if op not in ("=", "!=", "in", "not in"):
            raise CompileError(f"operator {op} on one2many {fld.name}", token=op)
        lines = Search(comodel.name, inverse, Leaf("id", "in", value))
        return self.in_set(f"{alias}.id", lines, top, negate=negative)

    def hierarchy(
        self, fld: Field, model: Model, op: str, value: Resolved, alias: str, top: bool
    ) -> str:
        """child_of / parent_of (§3.4): expanded as superuser, inactive records included."""
        parent = "parent_id"
        if fld.name == "id":
            tree, column = model, f"{alias}.id"
        elif fld.type == "many2one" and fld.relation == model.name:
            tree, column, parent = model, f"{alias}.id", fld.name
        else:
            tree = self.catalog.model(fld.relation or "")
            column = f"{alias}.{ident(fld.name)}"
        start = self.start_ids(value)
        # Expanding a context value (the allowed companies, the user's partner) is itself
        # a context value: folded at plan time like its start.
        planned = isinstance(value, Dynamic) and value.planned
        expanded = Dynamic(
            self.ids_array(self.expand(tree, op, start, parent), top, planned),
            True,
            planned=planned,
        )
        if fld.type in ("many2one", "integer") or fld.name == "id":
            return self.in_set(column, expanded, top)
        if fld.type == "many2many" and fld.relation == model.name and self.catalog.major == 17:
            # 17.0 compares the record's own id with the expanded ids (semantics.md).
            return self.in_set(f"{alias}.id", expanded, top)
        return (
            self.many2many(fld, "in", expanded, alias, top)
            if fld.type == "many2many"
            else self.one2many(fld, model, "in", expanded, alias, top)
        )

    def start_ids(self, value: Resolved) -> str:
        if isinstance(value, Static):
            items = value.value if isinstance(value.value, tuple) else (value.value,)
            if any(isinstance(v, str) for v in items):
                raise CompileError("child_of/parent_of by name is not supported")
            ids = [literal(v) for v in items if v]
            return "ARRAY[" + ", ".join(ids) + "]::integer[]" if ids else "'{}'::integer[]"
        if isinstance(value, Dynamic):
            return (
                f"({value.sql})::integer[]" if value.is_array else f"ARRAY[{value.sql}]::integer[]"
            )
        return f"ARRAY({self.search_sql(value)})"

    def expand(self, tree: Model, op: str, start: str, parent: str = "parent_id") -> str:
        table = f"public.{ident(self.table(tree))}"
        if tree.parent_path:
            if op == "child_of":
                return (
                    f"SELECT c.id FROM {table} AS c JOIN {table} AS r ON "
                    f"c.parent_path LIKE r.parent_path || '%' WHERE r.id = ANY({start})"
                )
            return (
                f"SELECT a::integer FROM {table} AS r, "
                f"unnest(string_to_array(rtrim(r.parent_path, '/'), '/')) AS a "
                f"WHERE r.id = ANY({start})"
            )
        if parent not in tree.fields:
            raise CompileError(f"model {tree.name} has no {parent} for {op}")
        column = ident(parent)
        seed = f"SELECT id FROM {table} WHERE id = ANY({start})"
        if op == "child_of":
            step = f"SELECT t.id FROM {table} AS t JOIN h ON t.{column} = h.id"
        else:
            step = (
                f"SELECT t.{column} FROM {table} AS t JOIN h ON t.id = h.id "
                f"WHERE t.{column} IS NOT NULL"
            )
        return f"WITH RECURSIVE h(id) AS ({seed} UNION {step}) SELECT id FROM h"

    # -- scalar leaves (§3.2) ----------------------------------------------
    def scalar(
        self, fld: Field, model: Model, op: str, value: Resolved, alias: str, top: bool
    ) -> str:
        column = self.column_sql(fld, alias)
        if isinstance(value, Search):
            sub = self.ids_array(self.search_sql(value), top)
            sql = f"{column} = ANY(({sub})::integer[])"
            return f"(NOT ({sql}))" if op in NEGATIVE_OPERATORS else sql
        if isinstance(value, Dynamic):
            if value.local_date and fld.type == "datetime":
                value = local_midnight(value, op)
            return self.dynamic_scalar(fld, op, value, column)
        if self.catalog.major == 17:
            return static_leaf_17(fld, op, value.value, column)
        return static_leaf(fld, op, value.value, column)

    def column_sql(self, fld: Field, alias: str) -> str:
        column = f"{alias}.{ident(fld.name)}"
        if fld.company_dependent and self.catalog.major == 17:
            # 17.0 keeps these values in ir_property rows, not in a column (semantics.md).
            raise CompileError(
                f"company-dependent field {fld.name} is stored in ir_property on Odoo 17.0",
                token=fld.name,
            )
        if fld.translate:
            # Rules carry no language: compare the en_US source, as Odoo does without `lang`.
            return f"({column}->>'en_US')"
        if fld.company_dependent:
            sql_type = SQL_TYPES.get(fld.type)
            if sql_type is None:
                raise CompileError(f"company-dependent {fld.type} field {fld.name}")
            return f"(({column}->(pgpolicy.planned_company_id()::text)->>0)::{sql_type})"
        return column

    def dynamic_scalar(self, fld: Field, op: str, value: Dynamic, column: str) -> str:
        """A leaf whose value is read at query time: NULL stands for Odoo's False."""
        if op in ("in", "not in") or value.is_array:
            array = value.sql if value.is_array else f"ARRAY[{value.sql}]"
            check_null = any(v is False or v is None for v in value.extras)
            sql = f"{column} = ANY(({array})::integer[])"
            if op in ("in", "="):
                return f"({sql} OR {column} IS NULL)" if check_null else sql
            if check_null:
                return f"(NOT ({sql}) AND {column} IS NOT NULL)"
            return f"(NOT ({sql}) OR {column} IS NULL)"
        if op == "=":
            if not value.nullable:
                return f"{column} = {value.sql}"
            return (
                f"(CASE WHEN {value.sql} IS NULL THEN {column} IS NULL "
                f"ELSE {column} = {value.sql} END)"
            )
        if op == "!=":
            if not value.nullable:
                return f"({column} != {value.sql} OR {column} IS NULL)"
            return (
                f"(CASE WHEN {value.sql} IS NULL THEN {column} IS NOT NULL "
                f"ELSE ({column} != {value.sql} OR {column} IS NULL) END)"
            )
        if op in ("<", "<=", ">", ">="):
            return f"{column} {op} {value.sql}"
        raise CompileError(f"operator {op} with a query-time value", token=op)


# ---------------------------------------------------------------------------
# Date placeholders of profile domains: the user's local dates, read at query time

_TODAY = "pgpolicy.local_today()"
LOCAL_DATES = {
    "__today__": _TODAY,
    "__yesterday__": f"{_TODAY} - 1",
    "__tomorrow__": f"{_TODAY} + 1",
    "__week_start__": f"date_trunc('week', {_TODAY})::date",
    "__week_end__": f"date_trunc('week', {_TODAY})::date + 6",
    "__month_start__": f"date_trunc('month', {_TODAY})::date",
    "__month_end__": f"(date_trunc('month', {_TODAY}) + interval '1 month - 1 day')::date",
    "__quarter_start__": f"date_trunc('quarter', {_TODAY})::date",
    "__quarter_end__": f"(date_trunc('quarter', {_TODAY}) + interval '3 months - 1 day')::date",
    "__year_start__": f"date_trunc('year', {_TODAY})::date",
    "__year_end__": f"(date_trunc('year', {_TODAY}) + interval '1 year - 1 day')::date",
    "__last_7_days__": f"{_TODAY} - 7",
    "__last_30_days__": f"{_TODAY} - 30",
    "__last_90_days__": f"{_TODAY} - 90",
    "__last_365_days__": f"{_TODAY} - 365",
}


def local_midnight(value: Dynamic, op: str) -> Dynamic:
    """A local date compared with a datetime (stored as UTC) becomes that day's start in UTC,
    or its last second for `>` and `<=`, as Odoo pads date strings (§3.5)."""
    end = " + interval '23:59:59'" if op in (">", "<=") else ""
    sql = (
        f"(SELECT (({value.sql})::timestamp{end}) AT TIME ZONE pgpolicy.user_tz() "
        "AT TIME ZONE 'UTC')"
    )
    return Dynamic(sql, False, False)


# ---------------------------------------------------------------------------
# Static scalar leaves, exactly as BaseModel._condition_to_sql


def static_leaf(fld: Field, op: str, value: Any, column: str) -> str:
    """SQL for `(field, op, value)` with a value known at compile time."""
    ftype = "id" if fld.name == "id" else fld.type
    if op == "=?":
        if value is False or value is None:
            return "true"
        op = "="
    if op in ("in", "not in") and isinstance(value, bool):
        op = "=" if op == "in" else "!="
    if op in ("=", "!=") and isinstance(value, tuple | list):
        op = "in" if op == "=" else "not in"
    if op in ("in", "not in"):
        return in_leaf(ftype, op, value if isinstance(value, tuple | list) else (value,), column)
    if ftype == "boolean" and op in ("=", "!=") and isinstance(value, bool | int):
        truthy = bool(value) == (op == "=")
        return f"({column} = true)" if truthy else f"({column} IS NULL OR {column} = false)"
    if (
        ftype in ("many2one", "id", "one2many", "many2many", "many2one_reference")
        and op in ("=", "!=")
        and not value
    ):
        return f"{column} IS NULL" if op == "=" else f"{column} IS NOT NULL"
    if op in ("=", "!=") and (value is False or value is None):
        if ftype in NUMBER_TYPES:
            value = 0
        elif ftype in CHAR_TYPES:
            value = ""
        else:
            return f"{column} IS NULL" if op == "=" else f"{column} IS NOT NULL"
    if op in ("like", "not like", "ilike", "not ilike", "=like", "=ilike"):
        return like_leaf(ftype, op, value, column)
    if ftype in ("date", "datetime") and isinstance(value, str):
        value = date_value(ftype, op, value)
    sql = f"{column} {op} {literal(value)}"
    negative = op in NEGATIVE_OPERATORS
    if op not in ("<", "<=", ">", ">=") and bool(value) == negative:
        return f"({sql} OR {column} IS NULL)"
    if (
        ftype in NUMBER_TYPES
        and isinstance(value, int | float)
        and (
            (op == ">=" and value <= 0)
            or (op == "<=" and value >= 0)
            or (op == "<" and value > 0)
            or (op == ">" and value < 0)
        )
    ):
        return f"({sql} OR {column} IS NULL)"
    return sql


SQL_OPERATORS_17 = {
    "=like": "LIKE",
    "=ilike": "ILIKE",
    "like": "LIKE",
    "ilike": "ILIKE",
    "not like": "NOT LIKE",
    "not ilike": "NOT ILIKE",
}


def static_leaf_17(fld: Field, op: str, value: Any, column: str) -> str:
    """SQL for `(field, op, value)` as Odoo 17.0's `expression.__leaf_to_sql` writes it.

    Unlike 18.0 (`static_leaf`): no zero/empty-string equivalents of False for numbers and
    texts, `like` with an empty pattern matches everything (NULLs included), `not like`
    with one only NULLs (docs/semantics.md, "Odoo versions")."""
    ftype = "id" if fld.name == "id" else fld.type
    if op == "=?":
        if value is False or value is None:
            return "true"
        op = "="
    if op in ("in", "not in") and isinstance(value, bool):
        op = "=" if op == "in" else "!="
    if op in ("=", "!=") and isinstance(value, tuple | list):
        op = "in" if op == "=" else "not in"
    if op in ("in", "not in"):
        if not isinstance(value, tuple | list):
            raise CompileError(f"{op} needs a list on Odoo 17.0", token=fld.name)
        if ftype == "boolean":
            params: list[Any] = [v for v in (True, False) if v in value]
            check_null = False in value
        else:
            params = [v for v in value if v is not False and v is not None]
            check_null = len(params) < len(value)
        if params:
            sql_op = "IN" if op == "in" else "NOT IN"
            sql = f"{column} {sql_op} ({', '.join(literal(convert_17(ftype, p)) for p in params)})"
        else:
            sql = "false" if op == "in" else "true"
        if (op == "in" and check_null) or (op == "not in" and not check_null):
            return f"({sql} OR {column} IS NULL)"
        if op == "not in" and check_null:
            return f"({sql} AND {column} IS NOT NULL)"
        return sql
    if ftype == "boolean" and op in ("=", "!=") and isinstance(value, bool):
        truthy = value if op == "=" else not value
        return f"({column} = true)" if truthy else f"({column} IS NULL OR {column} = false)"
    if op in ("=", "!=") and (value is False or value is None):
        return f"{column} IS NULL" if op == "=" else f"{column} IS NOT NULL"
    need_wildcard = op in ("like", "ilike", "not like", "not ilike")
    if need_wildcard:
        right = literal(f"%{value}%" if isinstance(value, str) else f"%{value!s}%")
    elif ftype in ("date", "datetime") and isinstance(value, str):
        right = literal(date_value(ftype, op, value))
    else:
        right = literal(convert_17(ftype, value))
    left = f"({column})::text" if op.endswith("like") else column
    sql = f"({left} {SQL_OPERATORS_17.get(op, op)} {right})"
    if (need_wildcard and not value) or (value and op in NEGATIVE_OPERATORS):
        return f"({sql} OR {column} IS NULL)"
    return sql


def convert_17(ftype: str, value: Any) -> Any:
    """`field.convert_to_column` of 17.0 for a domain value, where it changes the value."""
    if ftype == "boolean":
        return bool(value)
    if ftype == "many2one":
        return value or None
    return value


def in_leaf(ftype: str, op: str, values: tuple[Any, ...] | list[Any], column: str) -> str:
    params = [v for v in values if v is not False and v is not None]
    check_null = len(params) < len(values)
    if ftype == "boolean":
        params = [True] if any(params) else []
        if check_null:
            params.append(False)
    elif ftype in NUMBER_TYPES or ftype in CHAR_TYPES:
        zero: Any = 0 if ftype in NUMBER_TYPES else ""
        if check_null:
            params.append(zero)
        check_null = check_null or zero in params
    if not params:
        sql = "false" if op == "in" else "true"
    else:
        sql = f"{column} {'IN' if op == 'in' else 'NOT IN'} ({', '.join(map(literal, params))})"
    if op == "in":
        return f"({sql} OR {column} IS NULL)" if check_null else sql
    if check_null:
        return f"({sql} AND {column} IS NOT NULL)"
    return f"({sql} OR {column} IS NULL)"


def like_leaf(ftype: str, op: str, value: Any, column: str) -> str:
    wildcard = not op.startswith("=")
    if wildcard and not value:
        return "false" if op in NEGATIVE_OPERATORS else "true"
    if ftype not in CHAR_TYPES:
        column = f"({column})::text"
    pattern = str(value) if op.startswith("=") else f"%{value}%"
    sql_op = {
        "like": "LIKE",
        "not like": "NOT LIKE",
        "ilike": "ILIKE",
        "not ilike": "NOT ILIKE",
        "=like": "LIKE",
        "=ilike": "ILIKE",
    }[op]
    sql = f"{column} {sql_op} {literal(pattern)}"
    # `=like ''` is no wildcard: it matches empty strings, and NULL as Odoo's False
    if bool(value) == (op in NEGATIVE_OPERATORS):
        return f"({sql} OR {column} IS NULL)"
    return sql


def date_value(ftype: str, op: str, value: str) -> str:
    """Date strings compared with datetimes are padded (§3.5)."""
    if ftype == "datetime" and len(value) == 10:
        return value + (" 23:59:59" if op in (">", "<=") else " 00:00:00")
    return value


def pg_format(fmt: str) -> str:
    """A strftime format as a PostgreSQL to_char pattern (the codes rules use)."""
    codes = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH24", "%M": "MI", "%S": "SS"}
    out, i = [], 0
    while i < len(fmt):
        code = fmt[i : i + 2]
        if code in codes:
            out.append(codes[code])
            i += 2
        elif fmt[i] == "%":
            raise CompileError(f"unsupported time.strftime code {code!r}")
        else:
            out.append('"' + fmt[i] + '"' if fmt[i].isalpha() else fmt[i])
            i += 1
    return "".join(out)


def related_leaf(related: str, leaf: Leaf) -> Node:
    """A non-stored related field searched through its path (Odoo `_search_related`)."""
    head, _, rest = related.partition(".")
    return (
        Leaf(head, "any", Leaf(rest, leaf.op, leaf.value))
        if rest
        else Leaf(head, leaf.op, leaf.value)
    )


# ---------------------------------------------------------------------------
# Non-stored fields that rules search on: an explicit table of translations,
# each the SQL equivalent of the field's `_search` method in Odoo 18.

FieldTranslation = Callable[[Compiler, Model, Leaf], Node]


def _followers(compiler: Compiler, model: Model, leaf: Leaf) -> Node:
    """mail.thread `_search_message_partner_ids`: the record's followers (mail_followers)."""
    negative = leaf.op in NEGATIVE_OPERATORS
    op = {"!=": "=", "not in": "in", "not like": "like", "not ilike": "ilike"}.get(leaf.op, leaf.op)
    followers = conjoin(
        Leaf("res_model", "=", Const(model.name)), Leaf("partner_id", op, leaf.value)
    )
    return Leaf("id", "not in" if negative else "in", Search("mail.followers", "res_id", followers))


def _timesheet_followers(compiler: Compiler, model: Model, leaf: Leaf) -> Node:
    """hr_timesheet `_search_message_partner_ids`: followers of the line's project or task."""

    def followed(res_model: str) -> Search:
        return Search(
            "mail.followers",
            "res_id",
            conjoin(
                Leaf("partner_id", leaf.op, leaf.value), Leaf("res_model", "=", Const(res_model))
            ),
        )

    return disjoin(
        Leaf("project_id", "in", followed("project.project")),
        Leaf("task_id", "in", followed("project.task")),
    )


def _is_self(compiler: Compiler, model: Model, leaf: Leaf) -> Node:
    """discuss.channel.member `_search_is_self`: the member is the current user's partner."""
    positive = (leaf.op == "=" and _truthy(leaf)) or (leaf.op == "!=" and not _truthy(leaf))
    partner = Context("user", ("partner_id", "id"))
    return Leaf("partner_id", "=" if positive else "!=", partner)


def _is_member(compiler: Compiler, model: Model, leaf: Leaf) -> Node:
    """discuss.channel `_search_is_member`: channels the current user's partner is member of."""
    positive = (leaf.op == "=" and _truthy(leaf)) or (leaf.op == "!=" and not _truthy(leaf))
    members = Search(
        "discuss.channel.member",
        "channel_id",
        Leaf("partner_id", "=", Context("user", ("partner_id", "id"))),
    )
    return Leaf("id", "in" if positive else "not in", members)


def _website_published(compiler: Compiler, model: Model, leaf: Leaf) -> Node:
    """website.published.multi.mixin `_search_website_published` outside a website request."""
    if leaf.op not in ("=", "!=") or not isinstance(leaf.value, Const):
        raise CompileError("website_published supports = and != with a boolean", token=leaf.op)
    value = bool(leaf.value.value) == (leaf.op == "=")
    return Leaf("is_published", "=", Const(value))


def _department_manager(compiler: Compiler, model: Model, leaf: Leaf) -> Node:
    """hr.manager.department.report `_search_has_department_manager_access`."""
    if (
        leaf.op != "="
        or not isinstance(leaf.value, Const)
        or not isinstance(leaf.value.value, bool)
    ):
        raise CompileError("has_department_manager_access supports = with a boolean", token=leaf.op)
    if not leaf.value.value:
        return FALSE
    departments = Search(
        "hr.department",
        "id",
        Leaf("manager_id", "in", Context("user", ("employee_ids", "ids"))),
    )
    return disjoin(
        Leaf("employee_id", "any", Leaf("user_id", "=", Context("user", ("id",)))),
        Leaf("employee_id", "any", Leaf("department_id", "child_of", departments)),
    )


def _truthy(leaf: Leaf) -> bool:
    if not isinstance(leaf.value, Const):
        raise CompileError("expected a boolean literal", token=leaf.path)
    return bool(leaf.value.value)


FIELD_TRANSLATIONS: dict[tuple[str, str], FieldTranslation] = {
    ("mail.thread", "message_partner_ids"): _followers,
    ("account.analytic.line", "message_partner_ids"): _timesheet_followers,
    ("timesheets.analysis.report", "message_partner_ids"): _timesheet_followers,
    ("discuss.channel.member", "is_self"): _is_self,
    ("discuss.channel", "is_member"): _is_member,
    ("*", "website_published"): _website_published,
    ("*", "has_department_manager_access"): _department_manager,
}


def translate_field(compiler: Compiler, model: Model, fld: Field, leaf: Leaf) -> Node | None:
    """The stored-field domain equivalent to a leaf on a non-stored field, if one is known."""
    if fld.store:
        return None
    translation = (
        FIELD_TRANSLATIONS.get((model.name, fld.name))
        or (model.mail_thread and FIELD_TRANSLATIONS.get(("mail.thread", fld.name)))
        or FIELD_TRANSLATIONS.get(("*", fld.name))
    )
    return translation(compiler, model, leaf) if translation else None


# ---------------------------------------------------------------------------
# `user.<path>` values: the current user's record, read as superuser

# Non-stored fields of user-side paths, as stored paths (or None: special-cased).
USER_PATHS: dict[tuple[str, str], str] = {
    ("res.company", "country_id"): "partner_id.country_id",
}


def user_value(compiler: Compiler, path: tuple[str, ...]) -> Dynamic:
    """SQL for `user.<path>`: `.id` gives a scalar, `.ids` an array, a bare path its id(s)."""
    if path in (("id",),):
        return Dynamic("pgpolicy.planned_uid()", False, False, planned=True)
    if path in (("groups_id", "ids"),):
        return Dynamic("pgpolicy.planned_group_ids()", True, False, planned=True)
    names = list(path)
    if names[:2] == ["env", "companies"]:
        model, select = (
            compiler.catalog.model("res.company"),
            "SELECT unnest(pgpolicy.planned_company_ids())",
        )
        names = names[2:]
    elif names[:2] == ["env", "company"]:
        model = compiler.catalog.model("res.company")
        select = "SELECT pgpolicy.planned_company_id()"
        names = names[2:]
    else:
        model, select = compiler.catalog.model("res.users"), "SELECT pgpolicy.planned_uid()"
    suffix = names.pop() if names and names[-1] in ("id", "ids") else "id"
    for name in names:
        model, select = user_hop(compiler, model, name, select)
    body = f"SELECT v FROM ({select}) AS s(v) WHERE v IS NOT NULL"
    ids = compiler.ids_array(body, top=True, planned=True)
    if suffix == "ids":
        return Dynamic(ids, True, False, planned=True)
    return Dynamic(f"({ids})[1]", False, True, planned=True)


def user_hop(compiler: Compiler, model: Model, name: str, select: str) -> tuple[Model, str]:
    """One attribute step on a recordset given as a SELECT of ids."""
    fld = compiler.field(model, name)
    if (model.name, name) == ("res.users", "employee_id"):
        # hr `_compute_company_employee`: the active employee of the user in env.company
        sql = (
            "SELECT e.id FROM public.hr_employee AS e WHERE e.user_id IN (" + select + ") "
            "AND e.company_id = pgpolicy.planned_company_id() AND e.active"
        )
        return compiler.catalog.model("hr.employee"), sql
    stored_path = USER_PATHS.get((model.name, name)) or (None if fld.store else fld.related)
    if stored_path:
        for part in stored_path.split("."):
            model, select = user_hop(compiler, model, part, select)
        return model, select
    if not fld.store:
        raise CompileError(f"user field {model.name}.{name} is not stored", token=name)
    table = f"public.{ident(compiler.table(model))}"
    comodel = compiler.catalog.model(fld.relation or "")
    if fld.type == "many2one":
        return comodel, f"SELECT {ident(name)} FROM {table} WHERE id IN ({select})"
    if fld.type == "one2many":
        co_table = f"public.{ident(compiler.table(comodel))}"
        active = " AND active" if "active" in comodel.fields else ""
        sql = f"SELECT id FROM {co_table} WHERE {ident(fld.relation_field or '')} IN ({select})"
        return comodel, sql + active
    if fld.type == "many2many":
        sql = (
            f"SELECT {ident(fld.column2 or '')} FROM public.{ident(fld.relation_table or '')} "
            f"WHERE {ident(fld.column1 or '')} IN ({select})"
        )
        return comodel, sql
    raise CompileError(f"user path through a {fld.type} field", token=name)


def compile_domain(
    catalog: Catalog, model_name: str, node: Node, inline: bool = False
) -> Predicate:
    """The SQL predicate of a parsed domain over a model's table.

    `inline` puts relational subqueries in place instead of generated functions:
    the result is for readers that bypass RLS (a DBA's tooling, tests).
    """
    return Compiler(catalog, inline=inline).predicate(node, catalog.model(model_name))
