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
bypass, so every such set of ids is read through a generated view that runs with
its owner's rights (`pgpolicy_sudo.rows_<hash>`, never `security_invoker`); the
policy compares with `= ANY(ARRAY(SELECT v FROM pgpolicy_sudo.rows_<hash>))`, an
InitPlan the planner plans with the statement itself, on the comodel's indexes,
and evaluates once when it runs (docs/semantics.md, "Relational rules"). Sets
that depend on the context alone (the user's records, the company hierarchy
above or below the allowed companies) are `planned_ids_*` functions instead,
folded at plan time like the context itself.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pgpolicy.errors import CompileError
from pgpolicy.odoo import orm
from pgpolicy.odoo.domain import (
    FALSE,
    NEGATION,
    NEGATIVE_OPERATORS,
    TRUE,
    And,
    Bool,
    Concat,
    Cond,
    Const,
    Context,
    Exists,
    HasGroup,
    IfElse,
    Leaf,
    ListOf,
    Missing,
    Negated,
    Node,
    Not,
    Or,
    Strftime,
    Value,
    anyfy,
    build_tree,
    conjoin,
    disjoin,
    is_false,
    negate,
)
from pgpolicy.odoo.metadata import Catalog, Field, Model

SUDO_SCHEMA = "pgpolicy_sudo"
PLANNED_PREFIX = "planned_ids_"
VIEW_PREFIX = "rows_"
VIEW_RETURNS = "SETOF integer"
NUMBER_TYPES = ("integer", "float", "monetary")
RELATIONAL_TYPES = ("many2one", "one2many", "many2many")
ORDERINGS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
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
    """A SQL literal for a Python scalar taken from a domain.

    Rule text reaches SQL only through here: a string is quoted whatever the server's
    `standard_conforming_strings` (an `E''` string when it holds a backslash); what SQL
    cannot hold as a constant (a NUL character, an infinite or NaN number) is refused."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise CompileError("a number must be finite", token=repr(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise CompileError("a string may not hold a NUL character", token=value)
        quoted = value.replace("'", "''")
        if "\\" in value:
            return "E'" + quoted.replace("\\", "\\\\") + "'"
        return "'" + quoted + "'"
    raise CompileError(f"unsupported literal {value!r}")


# What a generated function requires before it reads anything as superuser: a valid context,
# in the runtime's own sense (uid() is NULL whenever the context gate would hide every row).
# Without it the function answers nothing, whoever calls it and whenever (plan or run time).
CONTEXT_CHECK = "pgpolicy.uid() IS NOT NULL"

# The context a plan-time function's own query may read when it runs: the readers of the
# plan-time functions it would otherwise call (sql/runtime.sql).
RUNTIME_READERS = {
    "pgpolicy.planned_uid()": "pgpolicy.uid()",
    "pgpolicy.planned_company_ids()": "pgpolicy.company_ids()",
    "pgpolicy.planned_company_id()": "pgpolicy.company_id()",
    "pgpolicy.planned_group_ids()": "pgpolicy.group_ids()",
}


# The two PL/pgSQL forms of a generated function's body (`function_source`).
STATIC_HEAD, STATIC_TAIL = "BEGIN RETURN (", "); END"
DYNAMIC_HEAD, DYNAMIC_TAIL = "DECLARE result ", " INTO result; RETURN result; END"


def function_source(select: str, returns: str, planned: bool) -> str:
    """The body of a generated function whose value `select` computes.

    Its query reads the context when it runs (the readers in place of the runtime's
    plan-time functions): nothing is folded into a plan the function may keep. A planned
    (IMMUTABLE) function is PL/pgSQL, which keeps its query's plan, where a SQL function is
    parsed and planned again at every call (0.3 ms of every statement on a res.partner rule,
    bench/RESULTS.md); the others stay SQL. A query that still calls a plan-time function
    (another generated `planned_ids_*`) runs with EXECUTE: planned at every call, so what is
    folded into it for one context is never kept for the next. A SQL function gave that
    until PostgreSQL 18, which keeps a SQL function's plans in the session: a value folded
    into it for one user then served the next (docs/semantics.md, "Forgetting cached plans")."""
    source = select
    for planned_function, runtime in RUNTIME_READERS.items():
        source = source.replace(planned_function, runtime)
    if "planned_" in source:
        return f"{DYNAMIC_HEAD}{returns}; BEGIN EXECUTE {literal(source)}{DYNAMIC_TAIL}"
    return f"{STATIC_HEAD}{source}{STATIC_TAIL}" if planned else source


def unquoted(quoted: str) -> str:
    """The string that `literal()` quoted."""
    if quoted.startswith("E'"):
        return quoted[2:-1].replace("\\\\", "\\").replace("''", "'")
    return quoted[1:-1].replace("''", "'")


@dataclass(frozen=True)
class SudoFunction:
    """A generated function that computes a set of ids as superuser, once per statement,
    or (`view`) a generated view that reads them with its owner's rights."""

    name: str  # unqualified; lives in SUDO_SCHEMA
    returns: str
    body: str

    @property
    def qualified(self) -> str:
        return f"{ident(SUDO_SCHEMA)}.{ident(self.name)}"

    @property
    def language(self) -> str:
        """`plpgsql` for a body `function_source` made PL/pgSQL, else `sql`."""
        return "plpgsql" if self.body.startswith((STATIC_HEAD, DYNAMIC_HEAD)) else "sql"

    @property
    def query(self) -> str:
        """The query the function runs: what validation has PostgreSQL analyse first (a
        PL/pgSQL body's query is analysed only when it first runs)."""
        if self.body.startswith(STATIC_HEAD):
            return self.body.removeprefix(STATIC_HEAD).removesuffix(STATIC_TAIL)
        if self.body.startswith(DYNAMIC_HEAD):
            return unquoted(self.body.split(" EXECUTE ", 1)[1].removesuffix(DYNAMIC_TAIL))
        return self.body

    @property
    def planned(self) -> bool:
        """Whether it is folded at plan time (IMMUTABLE): its ids depend on the context only.

        The name says it, so deployed functions, plans and migrations need no other field."""
        return self.name.startswith(PLANNED_PREFIX)

    @property
    def view(self) -> bool:
        """Whether it is a view (one integer column `v`) rather than a function.

        A view's query is planned with the statement that reads it, where a SECURITY
        DEFINER function is a black box PostgreSQL calls (and, for SQL, plans again) at
        every statement; the owner's rights are the function's definer rights."""
        return self.name.startswith(VIEW_PREFIX)


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
    kind: str = "integer"  # integer (ids), boolean, text (time.strftime) or date


@dataclass(frozen=True)
class Search:
    """`comodel._search(domain)` as a set of values of `column` (a subquery in Odoo)."""

    model: str
    column: str
    domain: Node
    where_calc: bool = False  # `_where_calc`, not `_search`: no model-specific filter
    nulls: bool = False  # keep the rows whose column is NULL (a bare subselect in Odoo)
    # `comodel.search(domain)` itself (names of child_of / parent_of), not a subquery of a
    # condition: 19.0 runs the latter with `bypass_access` (sudo makes every `any` `any!`)
    searched: bool = False


Resolved = Static | Dynamic | Search


@dataclass
class Compiler:
    """Compiles domains over models of one catalog; collects the sudo functions used."""

    catalog: Catalog
    inline: bool = False  # subqueries in place: for readers that bypass RLS (tools, tests)
    # Ids read through views (`ids_view`), for the predicates of permissive policies only: a
    # view is a dependency, and `DROP ... CASCADE` of a table it reads drops the policies
    # reading it; a dropped permissive policy admits less, a dropped restrictive one more.
    views: bool = False
    functions: dict[str, SudoFunction] = field(default_factory=dict)
    _aliases: int = 0

    # -- entry points ------------------------------------------------------
    def predicate(self, node: Node, model: Model) -> Predicate:
        """The SQL condition of `node` over `model`'s table, for use in a policy."""
        self.functions = {}
        table = self.table(model)
        if is_false(node):
            return Predicate("FALSE")
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
        if isinstance(node, And | Or) and self.catalog.major >= 19:
            folded = self.folded_19(node, model, alias, top)
            if folded is not None:
                return folded
        if isinstance(node, And):
            return "(" + " AND ".join(self.node(c, model, alias, top) for c in node.children) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.node(c, model, alias, top) for c in node.children) + ")"
        if isinstance(node, Not):
            pushed = self.inherited_not(node.child, model)
            if pushed is not None:
                return self.node(pushed, model, alias, top)
            if self.catalog.major >= 19 and isinstance(node.child, Leaf):
                inverse = self.negated_inequality_19(node.child, model, alias, top)
                if inverse is not None:
                    return inverse
            return f"(NOT ({self.node(node.child, model, alias, top)}))"
        if isinstance(node, Cond):
            return self.cond(node, model, alias, top)
        if isinstance(node, Exists):
            found = self.search_sql(Search(node.model, "id", node.domain))
            if top and not self.inline:
                found = f"SELECT unnest(({self.ids_array(found, top)})::integer[])"
            return f"({'NOT ' if node.negated else ''}EXISTS ({found}))"
        return self.leaf(node, model, alias, top)

    def folded_19(self, node: And | Or, model: Model, alias: str, top: bool) -> str | None:
        """An AND (OR) holding a path through a scalar field, which 19.0 reads as a "field
        property" and fails on only when it writes the SQL (`Field.property_to_sql`,
        odoo/orm/fields.py:1243-1249), and a constant FALSE (TRUE) that its optimization
        finds first (`in []`, `not in []`: `_optimize_in_set`, odoo/orm/domains.py:1308-1309;
        child_of / parent_of nothing: `:1693-1694`, `:1734-1735`): the constant (the other
        children compiled all the same, so that their errors are raised). None otherwise."""
        absorbing = isinstance(node, Or)
        blocked = [c for c in node.children if self.scalar_path(c, model)]
        if not blocked:
            return None
        others = [c for c in node.children if c not in blocked]
        if not any(self.constant_19(c, model) is absorbing for c in others):
            return None
        for child in others:
            self.node(child, model, alias, top)
        return "true" if absorbing else "false"

    def scalar_path(self, node: Node, model: Model) -> bool:
        """A path `a.b` whose `a` is not relational (made `a any b` by `anyfy`)."""
        return (
            isinstance(node, Leaf)
            and node.origin is not None
            and node.op in ("any", "not any")
            and self.field(model, node.path).type not in RELATIONAL_TYPES
        )

    def constant_19(self, node: Node, model: Model) -> bool | None:
        """The constant 19.0's optimization makes of a leaf given now, or None."""
        if isinstance(node, Bool):
            return node.value
        if not isinstance(node, Leaf) or "." in node.path:
            return None
        self.field(model, node.path)  # an unknown field fails before
        empty = isinstance(node.value, ListOf) and not node.value.items
        if node.op in ("in", "not in") and empty:
            return node.op == "not in"
        nothing = empty or (isinstance(node.value, Const) and node.value.value is False)
        if node.op in ("child_of", "parent_of") and nothing:
            return False
        return None

    def cond(self, node: Cond, model: Model, alias: str, top: bool) -> str:
        """The branch Odoo would evaluate: chosen now for a constant test, else a CASE on a
        test that is folded with the context when the statement is planned."""
        test = self.truth(node.test)
        if isinstance(test, bool):
            return self.node(node.then if test else node.other, model, alias, top)
        then = self.node(node.then, model, alias, top)
        other = self.node(node.other, model, alias, top)
        return f"(CASE WHEN {test} THEN {then} ELSE {other} END)"

    def leaf(self, leaf: Leaf, model: Model, alias: str, top: bool) -> str:
        """One leaf, following `expression.parse` (odoo/osv/expression.py) branch by branch."""
        fld = self.field(model, leaf.path)
        if fld.company_dependent and self.catalog.major == 17:
            self.column_sql(fld, model, alias)  # refused: see column_sql
        translated = translate_field(self, model, fld, leaf)
        if translated is not None:
            return self.node(translated, model, alias, top)
        op = leaf.op
        if self.catalog.major >= 19 and op not in ("any", "not any"):
            rewritten = self.optimized_19(leaf, fld)
            if rewritten is not None:
                return self.node(rewritten, model, alias, top)
        explicit = fld.name == "id" and leaf.origin is None
        if op in ("any", "not any") and explicit and self.catalog.major >= 19:
            # `id any D` is D, `id not any D` its negation (`_optimize_any_domain`,
            # odoo/orm/domains.py:1345-1349); a path `id.x` stays refused (a "field
            # property" of an integer, which 19.0 cannot turn into SQL)
            sub = leaf.value if op == "any" else negate(leaf.value, self.catalog.major)
            return self.node(sub, model, alias, top)
        if op in ("any", "not any") and fld.type not in RELATIONAL_TYPES:
            # _anyfy_leaves keeps 'name.x' on a non-relational field; Odoo then fails on it
            raise CompileError(
                f"{op} (or a path) on the {fld.type} field {model.name}.{fld.name}",
                token=leaf.path,
            )
        if not fld.store:
            if fld.related:
                return self.node(self.related(model, fld, leaf), model, alias, top)
            raise CompileError(
                f"field {model.name}.{fld.name} is not stored and has no known SQL translation",
                token=leaf.path,
            )
        if op in ("any", "not any"):
            assert not isinstance(leaf.value, Const | ListOf | Context | Concat | HasGroup)
            return self.any_leaf(fld, model, op, leaf.value, alias, top)
        value = self.resolve(leaf.value)
        if op == "=?" and isinstance(value, Dynamic):
            # known at query time only. `_condition_to_sql`: TRUE when the value is False or
            # None, else `=`, which with a list is `column = ARRAY[...]` in Odoo 18:
            # PostgreSQL refuses it (a list known now is the static leaf's business)
            if self.is_list(leaf.value):
                raise CompileError(
                    "=? with a list: Odoo compares it with = and PostgreSQL refuses that",
                    token=leaf.path,
                )
            equal = Leaf(leaf.path, "=", leaf.value)
            return self.node(Cond(Missing(leaf.value), TRUE, equal), model, alias, top)
        if isinstance(value, Dynamic) and value.kind == "boolean":
            # a boolean known at query time: the term with True or with False, as Odoo
            # evaluates it (`= False` on a boolean field also admits NULL)
            either = (Leaf(leaf.path, op, Const(b)) for b in (True, False))
            return self.node(Cond(leaf.value, *either), model, alias, top)
        if op in ("child_of", "parent_of"):
            if self.catalog.major >= 19:
                found = self.hierarchy_19(fld, model, op, value, alias, top)
                if found is not None:
                    return found
            return self.hierarchy(fld, model, op, value, alias, top)
        if fld.type in ("one2many", "many2many") and self.catalog.major >= 19:
            split = self.x2many_in_19(fld, model, op, value, alias, top)
            if split is not None:
                return split
        if fld.type == "many2many":
            return self.many2many(fld, model, op, value, alias, top)
        if fld.type == "one2many":
            return self.one2many(fld, model, op, value, alias, top)
        if (
            fld.type == "many2one"
            and fld.company_dependent
            and self.catalog.major >= 19
            and op in ("not like", "not ilike")
            and not self.plain_name_search(self.comodel(fld))
        ):
            # `not any!` through a LEFT JOIN: `_condition_to_sql_company` evaluates the
            # fallback against the negated domain (odoo/orm/fields_relational.py:501-507,
            # odoo/orm/fields.py:1370-1378), dropping the rows without a stored value
            # depending on the index kind, the fallback and the name search's shape
            raise CompileError(f"{op} on the company-dependent {fld.name} (19.0)")
        if fld.type == "many2one" and isinstance(value, Static) and is_names(value.value):
            return self.node(self.many2one_by_name(fld, op, value.value), model, alias, top)
        return self.scalar(fld, model, op, value, alias, top)

    def negated_inequality_19(self, leaf: Leaf, model: Model, alias: str, top: bool) -> str | None:
        """`NOT leaf` where 19.0 negates otherwise than SQL's NOT: `NOT (field < v)`
        (`DomainCondition._negate`, odoo/orm/domains.py:853-866) the leaf optimized first
        (a constant is negated as such), else the inverse inequality, `OR field = False`
        when the field's type has no falsy value (dates, many2one, selection, …); a
        many2one's child_of / parent_of and name search with NULL; `=like` an empty value
        as `!= False`. None for other leaves."""
        fld = self.field(model, leaf.path) if "." not in leaf.path else None
        if (
            fld is not None
            and leaf.op in ("child_of", "parent_of")
            and fld.type == "many2one"
            and fld.store
            and fld.relation != model.name
        ):
            # `field in ids` (or `any!`) negated is `not in` (`not any!`): NULL included
            # (odoo/orm/fields_relational.py:529-530)
            column = self.column_sql(fld, model, alias)
            return f"(NOT ({self.leaf(leaf, model, alias, top)}) OR {column} IS NULL)"
        likes = ("like", "ilike", "=like", "=ilike")
        empty = isinstance(leaf.value, Const) and not leaf.value.value
        dependent = fld is not None and fld.company_dependent and fld.type == "many2one"
        if fld is not None and dependent and leaf.op in likes and empty:
            raise CompileError(f"NOT {leaf.op} on the company-dependent {fld.name} (19.0)")
        if (
            fld is not None
            and dependent
            and leaf.op in likes
            and not self.plain_name_search(self.comodel(fld))
        ):
            raise CompileError(f"NOT {leaf.op} on the company-dependent {fld.name} (19.0)")
        if leaf.op in ("=like", "=ilike") and empty and fld is not None:
            # `= False` first (`_optimize_like_str`, odoo/orm/domains.py:1386-1396), then
            # negated as such (`DomainCondition.__invert__`, :850-852): `!= False`, before a
            # related field is searched
            return self.node(Leaf(leaf.path, "!=", Const(False)), model, alias, top)
        if (
            fld is not None
            and fld.store
            and fld.type == "many2one"
            and leaf.op in likes
            and isinstance(leaf.value, Const)
            and isinstance(leaf.value.value, str)
        ):
            # a name search negated is `not any` (domains.py:1415-1425): NULL included
            column = self.column_sql(fld, model, alias)
            return f"(NOT ({self.leaf(leaf, model, alias, top)}) OR {column} IS NULL)"
        if leaf.op not in ("<", "<=", ">", ">=") or "." in leaf.path:
            return None
        compiled = self.leaf(leaf, model, alias, top)
        if compiled in ("TRUE", "FALSE", "true", "false"):
            return "FALSE" if compiled.upper() == "TRUE" else "TRUE"
        fld = self.field(model, leaf.path)
        inverse: Node = Leaf(leaf.path, NEGATION[leaf.op], leaf.value)
        if fld.type not in ("integer", "float", "monetary", "char", "text", "html", "boolean"):
            inverse = disjoin(Leaf(leaf.path, "=", Const(False)), inverse)
        return self.node(inverse, model, alias, top)

    def optimized_19(self, leaf: Leaf, fld: Field) -> Node | None:
        """The rewrites of 19.0's `Domain` optimization that come before the field searches
        (related fields included), for a value known now; None when none applies.

        - `=?` (odoo/orm/domains.py:1250-1255): TRUE for any falsy value (0, '', []), else
          `=` (`in` for a list);
        - `like` / `ilike` / `not like` / `not ilike` with an empty value (False, None, ''):
          TRUE / FALSE, on a relational field `!= False` / `= False`."""
        if isinstance(leaf.value, Const | ListOf):
            value = self.resolve(leaf.value)
        else:
            return None
        if not isinstance(value, Static):
            return None
        if leaf.op == "=?":
            if not value.value:
                return TRUE
            return Leaf(leaf.path, "in" if isinstance(value.value, tuple) else "=", leaf.value)
        if leaf.op in ("=like", "=ilike") and not value.value:
            return Leaf(leaf.path, "=", Const(False))  # `=like` an empty value is `= False`
        if leaf.op in ("like", "ilike", "not like", "not ilike") and not value.value:
            # `_optimize_like_str` (odoo/orm/domains.py:1386-1396): on a relational field,
            # "has a value" (`not like`: "has none")
            if fld.type in RELATIONAL_TYPES:
                return Leaf(leaf.path, "=" if leaf.op.startswith("not") else "!=", Const(False))
            return FALSE if leaf.op.startswith("not") else TRUE
        return None

    def inherited_not(self, child: Node, model: Model) -> Node | None:
        """`NOT leaf` on an `_inherits` field, which Odoo evaluates on the joined parent row
        (a NULL stays NULL): the negation goes inside the parent's search."""
        if not isinstance(child, Leaf):
            return None
        fld = model.fields.get(child.path)
        if fld is None or fld.store or not fld.related:
            return None
        head, _, rest = fld.related.partition(".")
        if head not in model.inherits.values() or rest != fld.name:
            return None
        return Leaf(head, "any", Not(Leaf(rest, child.op, child.value)))

    def field(self, model: Model, name: str) -> Field:
        try:
            return model.fields[name]
        except KeyError:
            raise CompileError(f"unknown field {model.name}.{name}", token=name) from None

    def model_named(self, name: str | None, token: str = "") -> Model:
        """A model of the catalog, or a CompileError (never a bare KeyError)."""
        model = self.catalog.models.get(name or "")
        if model is None:
            raise CompileError(f"unknown model {name!r}", token=token or (name or ""))
        return model

    def comodel(self, fld: Field) -> Model:
        return self.model_named(fld.relation, fld.name)

    # -- related and inherited fields --------------------------------------
    def related(self, model: Model, fld: Field, leaf: Leaf) -> Node:
        """A non-stored related field: an `_inherits` field is searched on its parent (a join
        in Odoo), any other through `Field._search_related` (odoo/fields.py:727)."""
        related = fld.related or ""
        head, _, rest = related.partition(".")
        if head in model.inherits.values() and rest == fld.name:
            return Leaf(head, "any", Leaf(rest, leaf.op, leaf.value))
        if self.catalog.major == 17:
            # 17.0 `Field._search_related` (odoo/fields.py:724): the dotted path itself,
            # turned into `any` by `_anyfy_leaves` (no `OR hop = False` for empty values)
            return anyfy(Leaf(related, leaf.op, leaf.value))
        op, value = leaf.op, leaf.value
        if op in ("any", "not any"):
            # expression.py:1140-1153: the sub-domain is searched first, then 'in' / 'not in'
            comodel = self.comodel(fld)
            sub = value
            if fld.type != "many2one":
                sub = conjoin(self.field_domain(model, fld), value)
            ids = Search(comodel.name, "id", sub)
            if op == "any":
                return self.related(model, fld, Leaf(leaf.path, "in", ids))
            if fld.type == "many2one":
                return disjoin(
                    self.related(model, fld, Leaf(leaf.path, "not in", ids)),
                    self.related(model, fld, Leaf(leaf.path, "=", Const(False))),
                )
            return self.related(model, fld, Leaf(leaf.path, "not in", ids))
        falsy: tuple[Any, ...] = ()
        if self.catalog.major >= 19:
            # `val == falsy_value` too (odoo/orm/fields.py:746-750)
            falsy = {"boolean": (False,), "integer": (0,), "float": (0,), "monetary": (0,)}.get(
                fld.type, ("",) if fld.type in ("char", "text", "html") else ()
            )

        def is_null(item: Any) -> bool:
            return (
                item is False
                or item is None
                or (
                    not isinstance(item, bool)
                    and any(isinstance(item, str | int | float) and item == f for f in falsy)
                )
            )

        if isinstance(value, ListOf):
            null_value = any(isinstance(v, Const) and is_null(v.value) for v in value.items)
        elif isinstance(value, Concat):  # `<query-time list> + [False]`
            null_value = any(
                isinstance(part, ListOf)
                and any(isinstance(v, Const) and is_null(v.value) for v in part.items)
                for part in (value.left, value.right)
            )
        else:
            null_value = isinstance(value, Const) and is_null(value.value)
        negative = op in NEGATIVE_OPERATORS
        can_be_null = null_value != negative
        if negative and not null_value and self.catalog.major >= 19:
            # 19.0 `_search_related` (odoo/orm/fields.py:754-757): NotImplemented, so the
            # ORM searches the positive condition and negates it
            positive = self.related(model, fld, Leaf(leaf.path, NEGATION[op], value))
            return negate(positive, self.catalog.major)

        def make(path: str, current: Model) -> Node:
            prefix, dot, suffix = path.partition(".")
            if not dot:
                return Leaf(prefix, op, value)
            hop = self.field(current, prefix)
            if hop.type not in RELATIONAL_TYPES:
                raise CompileError(f"related path through {hop.type} {prefix}", token=path)
            target = self.comodel(hop)
            domain: Node = Leaf(prefix, "in", Search(target.name, "id", make(suffix, target)))
            if self.catalog.major >= 19:  # `any` (`any!`: the same in sudo), fields.py:768-770
                domain = Leaf(prefix, "any", make(suffix, target))
            if can_be_null and hop.type == "many2one" and not hop.required:
                domain = disjoin(domain, Leaf(prefix, "=", Const(False)))
            return domain

        return make(related, model)

    def field_domain(self, model: Model, fld: Field) -> Node:
        """The x2many field's own domain (`get_domain_list`), as a tree over its comodel."""
        domain = orm.x2many_domain(self.catalog.major, model.name, fld.name)
        if domain is None:
            raise CompileError(f"Odoo cannot search {model.name}.{fld.name}", token=fld.name)
        return domain_tree(domain)

    def display_name(self, comodel: Model, op: str, value: Any) -> Node:
        """`('display_name', op, value)` on `comodel`: `BaseModel._search_display_name`
        (odoo/models.py:1773; 17.0 `_name_search`), over the model's `_rec_names_search` or
        `_rec_name`, or the translation of the model's override in that version."""
        major = self.catalog.major
        names = orm.name_search_fields(major, comodel.name, set(comodel.fields))
        if major != 18 and names is None:
            fields = orm.default_name_fields(major, comodel.name)
            override = VERSION_NAME_SEARCHES[major].get(comodel.name)
            if override is not None:
                return override(
                    lambda o, v: self.default_display_name(fields, o, v, major), op, value
                )
        custom = NAME_SEARCHES.get(comodel.name) if major == 18 else None
        if custom is not None:
            default = self.default_display_name(
                orm.default_name_fields(major, comodel.name), op, value
            )
            return custom(default, op, value)
        if names is None:
            raise CompileError(
                f"searching {comodel.name} by name is custom Python in Odoo", token=str(value)
            )
        return self.default_display_name(names, op, value, major)

    @staticmethod
    def default_display_name(names: tuple[str, ...], op: str, value: Any, major: int = 18) -> Node:
        if not names:
            # 17.0 `_name_search` adds no condition (odoo/models.py:1758-1760); 19.0
            # returns Domain.TRUE (odoo/orm/models.py:1452-1456); 18.0 FALSE (models.py:1785)
            return TRUE if major != 18 else FALSE
        if major == 17:
            return default_name_search_17(names, op, value)
        negative = op in NEGATIVE_OPERATORS
        if op.endswith("like") and not value and "=" not in op:
            return FALSE if negative else TRUE
        leaves = [anyfy(Leaf(name, op, as_value(value))) for name in names]
        return conjoin(*leaves) if negative else disjoin(*leaves)

    def plain_name_search(self, comodel: Model) -> bool:
        """Whether 19.0 searches `comodel` by name with positive conditions on stored,
        non-relational fields only: its default search over `_rec_names_search` /
        `_rec_name`. Such a `not any!` is `NOT IN` a subquery, not a LEFT JOIN
        (odoo/orm/fields_relational.py:485-499): the company-dependent case is then as any
        other many2one's (the fallback's check, `fields.py:1370-1378`, changes nothing)."""
        major = self.catalog.major
        if comodel.name in VERSION_NAME_SEARCHES.get(major, {}):
            return False
        names = orm.name_search_fields(major, comodel.name, set(comodel.fields))
        if not names:
            return False
        fields = [comodel.fields.get(name) for name in names]
        return all(
            f is not None and f.store and f.type not in RELATIONAL_TYPES and not f.related
            for f in fields
        )

    def many2one_by_name(self, fld: Field, op: str, value: Any) -> Node:
        """A string (or list of strings) on a many2one: a name search on the comodel
        (expression.py:1340-1363)."""
        comodel = self.comodel(fld)
        if op in ("<", ">", "<=", ">=") and self.catalog.major >= 19:
            # odoo/orm/domains.py:1427-1428
            raise CompileError("Odoo 19.0 refuses ordering a relational field with a string")
        if op in ("<", ">", "<=", ">="):
            op = "in"
        swap = {"not in": "!=", "in": "=", "=": "in", "!=": "not in"}
        is_list = isinstance(value, tuple)
        if (not is_list and op in ("in", "not in")) or (is_list and op in ("=", "!=")):
            op = swap[op]
        if op in NEGATIVE_OPERATORS and self.catalog.major == 17:
            # 17.0 searches with the negative operator itself, then `in` the ids found
            # (odoo/osv/expression.py:1340-1343)
            ids = Search(comodel.name, "id", self.display_name(comodel, op, value))
            return disjoin(Leaf(fld.name, "in", ids), Leaf(fld.name, "=", Const(False)))
        if op in NEGATIVE_OPERATORS:
            ids = Search(comodel.name, "id", self.display_name(comodel, NEGATION[op], value))
            return disjoin(Leaf(fld.name, "not in", ids), Leaf(fld.name, "=", Const(False)))
        ids = Search(comodel.name, "id", self.display_name(comodel, op, value))
        return Leaf(fld.name, "in", ids)

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
            return Dynamic(
                self.member_of(f"'{{{gid}}}'::integer[]"),
                False,
                False,
                planned=True,
                kind="boolean",
            )
        if isinstance(value, Strftime):
            return Dynamic(
                f"to_char((now() AT TIME ZONE 'UTC'), {literal(pg_format(value.fmt))})",
                False,
                False,
                kind="text",
            )
        if isinstance(value, Negated | Missing):
            truth = self.truth(value)
            if isinstance(truth, bool):
                return Static(truth)
            return Dynamic(truth, False, False, planned=self.planned(value), kind="boolean")
        if isinstance(value, IfElse):
            test = self.truth(value.test)
            if isinstance(test, bool):
                return self.resolve(value.then if test else value.other)
            raise CompileError(
                "a conditional value on a query-time test is supported as a term's value "
                "or a whole domain only"
            )
        raise CompileError(f"unsupported value {value!r}")

    def is_list(self, value: Any) -> bool:
        resolved = self.resolve(value)
        if isinstance(resolved, Static):
            return isinstance(resolved.value, tuple)
        return isinstance(resolved, Dynamic) and resolved.is_array

    # -- tests of conditionals: Python's truth of a value -------------------
    def truth(self, value: Any) -> bool | str:
        """Python's `bool(value)`: a constant, or a SQL boolean that is never NULL."""
        if isinstance(value, Negated):
            inner = self.truth(value.operand)
            return (not inner) if isinstance(inner, bool) else f"(NOT {inner})"
        if isinstance(value, Missing):
            return self.missing(value.operand)
        if isinstance(value, IfElse):
            return self.truth_case(value, self.truth)
        resolved = self.resolve(value)
        if isinstance(resolved, Static):
            return bool(resolved.value)
        if isinstance(resolved, Search):
            raise CompileError("a search cannot be tested")
        if resolved.is_array:
            if resolved.extras:
                return True  # holds False or None: a non-empty list
            return f"(coalesce(cardinality({resolved.sql}), 0) > 0)"
        if resolved.kind == "boolean":
            return f"coalesce({resolved.sql}, false)"
        if resolved.kind == "text":
            return f"(coalesce({resolved.sql}, '') <> '')"
        return f"({resolved.sql} IS NOT NULL)"  # ids are never 0

    def missing(self, value: Any) -> bool | str:
        """`value is False or value is None` (the test of `=?`)."""
        if isinstance(value, Negated | Missing):
            truth = self.truth(value)
            return (not truth) if isinstance(truth, bool) else f"(NOT {truth})"
        if isinstance(value, IfElse):
            return self.truth_case(value, self.missing)
        resolved = self.resolve(value)
        if isinstance(resolved, Static):
            return resolved.value is False or resolved.value is None
        if isinstance(resolved, Search) or resolved.is_array:
            return False  # a list is neither False nor None, even empty
        if resolved.kind == "boolean":
            return f"(NOT coalesce({resolved.sql}, false))"
        return f"({resolved.sql} IS NULL)"

    def truth_case(self, value: IfElse, test_of: Callable[[Any], bool | str]) -> bool | str:
        test = self.truth(value.test)
        if isinstance(test, bool):
            return test_of(value.then if test else value.other)
        then, other = test_of(value.then), test_of(value.other)
        return f"(CASE WHEN {test} THEN {sql_bool(then)} ELSE {sql_bool(other)} END)"

    def planned(self, value: Any) -> bool:
        """Whether a test depends on the context alone (then it is folded when planned)."""
        if isinstance(value, Negated | Missing):
            return self.planned(value.operand)
        if isinstance(value, IfElse):
            return all(self.planned(v) for v in (value.test, value.then, value.other))
        resolved = self.resolve(value)
        return not isinstance(resolved, Dynamic) or resolved.planned

    def dynamic_list(self, parts: list[Resolved], flatten: bool = False) -> Dynamic:
        arrays: list[str] = []
        scalars: list[str] = []
        extras: list[Any] = []
        kinds = {p.kind for p in parts if isinstance(p, Dynamic)}
        if kinds == {"text"} and all(
            not isinstance(p, Dynamic) or p.is_array for p in parts
        ):  # `.mapped('<char field>') + [...]`: a text[]
            return self.text_list(parts, flatten)
        for part in parts:
            if isinstance(part, Static):
                items = part.value if flatten and isinstance(part.value, tuple) else (part.value,)
                for item in items:
                    if item is False or item is None:
                        extras.append(item)
                    else:
                        scalars.append(literal(item))
            elif isinstance(part, Dynamic) and part.kind != "integer":
                raise CompileError(f"a list holding a query-time {part.kind} value")
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

    def text_list(self, parts: list[Resolved], flatten: bool) -> Dynamic:
        """A list of strings known at query time (text arrays and constants)."""
        arrays: list[str] = []
        extras: list[Any] = []
        for part in parts:
            if isinstance(part, Dynamic):
                arrays.append(part.sql)
                extras.extend(part.extras)
                continue
            assert isinstance(part, Static)
            items = part.value if flatten and isinstance(part.value, tuple) else (part.value,)
            for item in items:
                if item is False or item is None:
                    extras.append(item)
                elif isinstance(item, str):
                    arrays.append(f"ARRAY[{literal(item)}]::text[]")
                else:
                    raise CompileError("a list mixing strings and other values", token=repr(item))
        sql = " || ".join(arrays) if arrays else "'{}'::text[]"
        planned = all(not isinstance(p, Dynamic) or p.planned for p in parts)
        return Dynamic(sql, True, False, tuple(extras), planned, kind="text")

    def context(self, value: Context) -> Dynamic:
        if value.name == "company_ids":
            return Dynamic("pgpolicy.planned_company_ids()", True, False, planned=True)
        if value.name == "company_id":
            return Dynamic("pgpolicy.planned_company_id()", False, False, planned=True)
        if value.name == "date":
            return Dynamic(
                f"(SELECT {LOCAL_DATES[value.path[0]]})",
                False,
                False,
                local_date=True,
                kind="date",
            )
        return user_value(self, value.path, value.mapped)

    # -- sets of ids computed as superuser ---------------------------------
    def ids_array(self, select_sql: str, top: bool, planned: bool = False) -> str:
        """An integer[] expression of the ids a SELECT returns, bypassing RLS when `top`.

        `planned`: the SELECT depends on the context alone; a function folded when the
        statement is planned (a bare call). Else the ids are evaluated once when the
        statement runs (an InitPlan): read through a view when `views` (`ids_view`), else
        returned by a SECURITY DEFINER function."""
        if not top or self.inline:
            return f"ARRAY({select_sql})"
        if not planned and self.views:
            return self.ids_view(select_sql)
        body = (
            f"SELECT coalesce(array_agg(DISTINCT v), '{{}}') FROM ({select_sql}) AS s(v) "
            f"WHERE {CONTEXT_CHECK}"
        )
        body = function_source(body, "integer[]", planned)
        prefix = PLANNED_PREFIX if planned else "ids_"
        name = prefix + hashlib.sha256(body.encode()).hexdigest()[:16]
        function = SudoFunction(name, "integer[]", body)
        self.functions[name] = function
        return f"{function.qualified}()" if planned else f"(SELECT {function.qualified}())"

    def member_of(self, groups: str) -> str:
        """Whether the current user is in any of `groups` (an integer[] literal), decided
        when the statement is planned.

        Up to 18.0 the ORM reads `res_groups_users_rel`, where implied groups are written
        too (`planned_in_groups`). 19.0 writes there only the groups given to the user
        (`group_ids`) and reads `all_group_ids`, their closure over `res_groups_implied_rel`
        (odoo/addons/base/models/res_users.py:258, :449, :1104; ir_rule.py:130, :156;
        ir_model.py:2120): a generated plan-time function computes it."""
        if self.catalog.major < 19:
            return f"pgpolicy.planned_in_groups({groups})"
        closure = self.ids_array(
            all_groups_select(self, "SELECT pgpolicy.planned_uid()"), True, True
        )
        return f"({closure} OPERATOR(pg_catalog.&&) {groups})"

    def ids_view(self, select_sql: str) -> str:
        """The ids as an uncorrelated `ARRAY(SELECT v FROM <view>)`: an InitPlan planned with
        the statement, whose result is an index condition on the policy's table.

        Not a semi-join: PostgreSQL never pulls a sublink of a row level security policy up
        into a join, so `id IN (SELECT ...)` or a correlated EXISTS is a (hashed) SubPlan
        filtering every row of a sequential scan; the array keeps the `id = ANY($0)` index
        scan (docs/semantics.md, "Relational rules"). Without a context the view is empty."""
        body = f"SELECT v FROM ({select_sql}) AS s(v) WHERE {CONTEXT_CHECK}"
        name = VIEW_PREFIX + hashlib.sha256(body.encode()).hexdigest()[:16]
        view = SudoFunction(name, VIEW_RETURNS, body)
        self.functions[name] = view
        return f"ARRAY(SELECT v FROM {view.qualified})"

    def search_sql(self, search: Search) -> str:
        """`SELECT <column> FROM comodel WHERE <domain>` (no rules: Odoo runs it in sudo)."""
        model = self.model_named(search.model)
        alias = self.new_alias()
        domain = search.domain
        # IrAttachment._search (odoo/addons/base/models/ir_attachment.py:520): the
        # attachments of binary fields are left out unless the domain names id/res_field;
        # 19.0 only without `bypass_access` (odoo/addons/base/models/ir_attachment.py:607-613),
        # which every condition of a superuser's search has (`_optimize_any_with_rights`,
        # odoo/orm/domains.py:1797-1801)
        special = model.name == "ir.attachment" and not search.where_calc
        special = special and (self.catalog.major < 19 or search.searched)
        if special and not names_field(domain, ("id", "res_field")):
            domain = conjoin(Leaf("res_field", "=", Const(False)), domain)
        where = self.node(domain, model, alias, top=False)
        column = f"{alias}.{ident(search.column)}"
        not_null = "" if search.nulls else f" AND {column} IS NOT NULL"
        return (
            f"SELECT {column} FROM public.{ident(self.table(model))} AS {alias} WHERE {where}"
            + (not_null)
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
        """expression.py:1140-1153: a many2one's ids in (or, negated, not in or empty) the
        comodel's search; an x2many's searched with the field's domain."""
        comodel = self.comodel(fld)
        # 19.0's `bypass_search_access` (auto_join's successor) only skips access checks: its
        # LEFT JOIN tests `IS NOT NULL` first (odoo/orm/fields_relational.py:481-513)
        joined = self.catalog.major < 19 and fld.name in orm.auto_join_fields(
            self.catalog.major, model.name
        )
        if fld.type == "many2one" and joined:
            return self.joined_any(fld, model, comodel, op, sub, alias, top)
        if fld.type == "many2one":
            column = self.column_sql(fld, model, alias)
            ids = Search(comodel.name, "id", sub)
            if op == "any":
                return self.in_set(column, ids, top)
            return f"({self.in_set(column, ids, top, negate=True)} OR {column} IS NULL)"
        if fld.type == "many2many" and joined:
            raise CompileError(f"auto_join on many2many {fld.name} (Odoo raises)", token=fld.name)
        if fld.type == "one2many" and joined:
            # expression.py:1128: a subselect of the inverse over _where_calc(right + domain)
            lines = Search(
                comodel.name,
                fld.relation_field or "",
                conjoin(sub, self.field_domain(model, fld)),
                where_calc=True,
                nulls=True,
            )
            return self.in_set(f"{alias}.id", lines, top, negate=op == "not any")
        ids = Search(comodel.name, "id", conjoin(self.field_domain(model, fld), sub))
        in_op = "in" if op == "any" else "not in"
        if fld.type == "one2many":
            return self.one2many(fld, model, in_op, ids, alias, top)
        return self.many2many(fld, model, in_op, ids, alias, top)

    def joined_any(
        self, fld: Field, model: Model, comodel: Model, op: str, sub: Node, alias: str, top: bool
    ) -> str:
        """An `auto_join` many2one (expression.py:1113): the sub-domain is evaluated on the
        LEFT JOINed row, so a record without one is judged on a row of NULLs; `not any`
        is `id = False OR NOT (sub-domain)` there."""
        column = self.column_sql(fld, model, alias)
        if op == "not any":
            ids = Search(comodel.name, "id", Not(sub))
            return (
                f"(CASE WHEN {column} IS NULL THEN TRUE ELSE {self.in_set(column, ids, top)} END)"
            )
        empty = self.new_alias()
        on_nulls = self.node(sub, comodel, empty, top=False)
        null_row = (
            f"SELECT {on_nulls} FROM (SELECT 1) AS {empty}_one "
            f"LEFT JOIN public.{ident(self.table(comodel))} AS {empty} ON FALSE"
        )
        if top and not self.inline:
            # in a policy, as superuser: the table may be the policy's own (no recursion);
            # without a context it answers nothing (NULL), like every generated function
            null_row = function_source(f"{null_row} WHERE {CONTEXT_CHECK}", "boolean", False)
            name = "ids_" + hashlib.sha256(null_row.encode()).hexdigest()[:16]
            function = SudoFunction(name, "boolean", null_row)
            self.functions[name] = function
            null_row = f"(SELECT {function.qualified}())"
        else:
            null_row = f"({null_row})"
        ids = Search(comodel.name, "id", sub)
        return (
            f"(CASE WHEN {column} IS NULL THEN {null_row} ELSE {self.in_set(column, ids, top)} END)"
        )

    def x2many_in_19(
        self, fld: Field, model: Model, op: str, value: Resolved, alias: str, top: bool
    ) -> str | None:
        """19.0 `_RelationalMulti.condition_to_sql` (odoo/orm/fields_relational.py:772-810):
        `in` / `not in` a list of ids is `any` / `not any` of those ids with the field's
        domain; False in the list (`0` too: it is a set) stands for "no related record"
        (`not any` of everything) and is ORed (ANDed for `not in`) with the other ids.
        None when the leaf is not such a list (a name, a search)."""
        if op in ("=", "!=") and isinstance(value, Static) and not isinstance(value.value, tuple):
            op = "in" if op == "=" else "not in"  # `=` is `in [v]` in 19.0's Domain
        if op not in ("in", "not in") or isinstance(value, Search):
            return None
        if isinstance(value, Static):
            items = value.value if isinstance(value.value, tuple) else (value.value,)
            items = tuple(False if v is None else v for v in items)
            if not all(isinstance(v, int) for v in items):  # bool is an int
                return None
            has_false = any(v == 0 for v in items)
            rest: Resolved = Static(tuple(v for v in items if v != 0 and v is not True))
            if any(v is True for v in items):
                return None
            several = len(set(items)) > 1
        else:
            if not value.is_array or value.kind != "integer":
                return None
            has_false = any(v is False or v is None for v in value.extras)
            rest = replace(value, extras=())
            several = True
        positive = op == "in"
        parts = []
        if has_false:
            parts.append(
                self.any_leaf(fld, model, "not any" if positive else "any", TRUE, alias, top)
            )
        if several or not has_false:
            ids = Leaf("id", "in", rest)
            parts.append(
                self.any_leaf(fld, model, "any" if positive else "not any", ids, alias, top)
            )
        return "(" + (" OR " if positive else " AND ").join(parts) + ")"

    def x2many_targets(self, fld: Field, model: Model, op: str, value: Resolved) -> Resolved:
        """The comodel ids an x2many leaf compares with (expression.py:1194-1206, 1274-1285):
        a string is a name search (with the field's domain), a list its items, any other
        value the one id."""
        if not isinstance(value, Static):
            return value
        if isinstance(value.value, str):
            comodel = self.comodel(fld)
            positive = NEGATION[op] if op in NEGATIVE_OPERATORS else op
            within = self.field_domain(model, fld)
            if (self.catalog.major, comodel.name) in SEARCHES_WITHIN_DOMAIN and within != TRUE:
                # the override decides on the records found within the field's domain
                raise CompileError(f"{comodel.name} name search within {fld.name}'s domain")
            domain = conjoin(within, self.display_name(comodel, positive, value.value))
            return Search(comodel.name, "id", domain)
        items = value.value if isinstance(value.value, tuple) else (value.value,)
        for item in items:
            if isinstance(item, str) or item is True or isinstance(item, float):
                raise CompileError(
                    f"{fld.type} {fld.name} compared with {item!r} (not an id)", token=str(item)
                )
        return Static(items)

    def many2many(
        self, fld: Field, model: Model, op: str, value: Resolved, alias: str, top: bool
    ) -> str:
        """expression.py:1255-1335: EXISTS (or NOT EXISTS) a row of the relation table."""
        rel, col1, col2 = fld.relation_table, fld.column1, fld.column2
        if not (rel and col1 and col2):
            raise CompileError(f"many2many {fld.name} has no relation table", token=fld.name)
        negative = op in NEGATIVE_OPERATORS
        r = self.new_alias()
        if isinstance(value, Static) and value.value is False:
            # `= False`: no relation row at all (no comodel filter), `!= False`: some
            return self.related_rows(alias, rel, col1, r, "TRUE", top, negate=not negative)
        value = self.x2many_targets(fld, model, op, value)
        if isinstance(value, Search):
            targets = f"{r}.{ident(col2)} IN ({self.search_sql(value)})"
        elif isinstance(value, Dynamic):
            array = value.sql if value.is_array else f"ARRAY[{value.sql}]"
            targets = f"{r}.{ident(col2)} = ANY(({array})::integer[])"
        else:
            items = value.value if isinstance(value.value, tuple) else (value.value,)
            ids = [literal(v) for v in items if v]
            targets = f"{r}.{ident(col2)} IN ({', '.join(ids) or 'NULL'})"
        return self.related_rows(alias, rel, col1, r, targets, top, negate=negative)

    def related_rows(
        self, alias: str, rel: str, col1: str, r: str, targets: str, top: bool, negate: bool
    ) -> str:
        """Whether the record has rows in a many2many relation table meeting `targets`:
        EXISTS as Odoo writes it, or, in a policy, the ids computed once by a function."""
        if top and not self.inline:
            rel_sql = f"SELECT {r}.{ident(col1)} FROM public.{ident(rel)} AS {r} WHERE {targets}"
            return self.in_set(
                f"{alias}.id", Dynamic(self.ids_array(rel_sql, top), True), top, negate=negate
            )
        exists = "NOT EXISTS" if negate else "EXISTS"
        link = f"{r}.{ident(col1)} = {alias}.id"
        return f"{exists} (SELECT 1 FROM public.{ident(rel)} AS {r} WHERE {link} AND {targets})"

    def one2many(
        self, fld: Field, model: Model, op: str, value: Resolved, alias: str, top: bool
    ) -> str:
        """expression.py:1188-1253: the ids of the records having (or not) such lines."""
        comodel = self.comodel(fld)
        inverse = self.field(comodel, fld.relation_field or "")
        if not inverse.store:
            raise CompileError(f"one2many {fld.name} has a computed inverse", token=fld.name)
        negative = op in NEGATIVE_OPERATORS
        inverse_is_int = inverse.type in ("integer", "many2one_reference")
        domain = self.field_domain(model, fld)
        if isinstance(value, Static) and value.value is False:
            lines_domain: Node = Leaf(inverse.name, "!=", Const(False))
            if inverse_is_int:
                lines_domain = conjoin(lines_domain, domain)
            lines = Search(comodel.name, inverse.name, lines_domain, where_calc=not inverse_is_int)
            return self.in_set(f"{alias}.id", lines, top, negate=not negative)
        value = self.x2many_targets(fld, model, op, value)
        if isinstance(value, Static) and not (inverse_is_int and domain != TRUE):
            items = value.value if isinstance(value.value, tuple) else (value.value,)
            if any(item is False for item in items):
                # Odoo's SQL compares the ids with FALSE: PostgreSQL rejects it
                raise CompileError(f"one2many {fld.name} compared with False in a list")
        targets: Node = Leaf("id", "in", value)
        if inverse_is_int:
            targets = conjoin(targets, domain)
        lines = Search(comodel.name, inverse.name, targets)
        return self.in_set(f"{alias}.id", lines, top, negate=negative)

    def hierarchy(
        self, fld: Field, model: Model, op: str, value: Resolved, alias: str, top: bool
    ) -> str:
        """child_of / parent_of (§3.4, expression.py:870-925): expanded as superuser,
        inactive records included."""
        if isinstance(value, Static):
            items = value.value if isinstance(value.value, tuple) else (value.value,)
            if not items or items == (0,):
                return "FALSE"  # to_ids: no ids, whatever the field (expression.py:874, 904)
        if fld.name == "id":
            tree, column, parent = model, f"{alias}.id", "parent_id"
        elif fld.type == "many2one" and fld.relation == model.name:
            tree, column, parent = model, f"{alias}.id", fld.name
        elif fld.type == "one2many" and fld.relation == model.name:
            # the one2many is taken as the parent field (expression.py:1179-1187): its records'
            # parents are the records having them as lines, so the walk goes the other way
            tree, column, parent = model, f"{alias}.id", fld.relation_field or ""
            if not model.parent_path:
                op = "parent_of" if op == "child_of" else "child_of"
        elif fld.type in RELATIONAL_TYPES:
            tree, parent = self.comodel(fld), "parent_id"
            column = self.column_sql(fld, model, alias)
        else:
            raise CompileError(f"{op} on the {fld.type} field {fld.name}", token=fld.name)
        start = self.start_ids(tree, value)
        # Expanding a context value (the allowed companies, the user's partner) is itself
        # a context value: folded at plan time like its start, also inside a subquery (the
        # followers of the user's partners), where Odoo too expands it before it queries.
        planned = isinstance(value, Dynamic) and value.planned
        expanded = Dynamic(
            self.ids_array(self.expand(tree, op, start, parent), top or planned, planned),
            True,
            planned=planned,
        )
        if fld.type in ("many2one", "integer") or fld.name == "id" or column.endswith(".id"):
            return self.in_set(column, expanded, top)
        if fld.type == "many2many" and fld.relation == model.name and self.catalog.major == 17:
            # 17.0 compares the record's own id with the expanded ids (semantics.md).
            return self.in_set(f"{alias}.id", expanded, top)
        return (
            self.many2many(fld, model, "in", expanded, alias, top)
            if fld.type == "many2many"
            else self.one2many(fld, model, "in", expanded, alias, top)
        )

    def hierarchy_19(
        self, fld: Field, model: Model, op: str, value: Resolved, alias: str, top: bool
    ) -> str | None:
        """19.0's child_of / parent_of where it differs from 18.0 (`_optimize_child_of_parent_of`,
        odoo/orm/domains.py:1671-1742); None for the others (compiled as 18.0).

        - on a one2many: the comodel's hierarchy (on its own model: the one2many itself is
          the parent field, `:1710-1712`, so child_of walks up through its inverse and
          parent_of down), and the field `in` the ids found, i.e. `any` of them with the
          field's domain (`:1740-1742`);
        - on a model whose `parent_id` is its `_inherits` parent's (res.users: the partner's):
          child_of adds the records whose parent's `parent_id` is in the set (`:1757-1766`),
          parent_of the parent's `parent_id` and, from there, the parents' own
          (`:1782-1794`), ids of both models mixed as Odoo mixes them."""
        if fld.type == "one2many":
            tree = self.comodel(fld)
            walked = tree.name == model.name
            if walked and orm.x2many_domain(self.catalog.major, model.name, fld.name):
                raise CompileError(f"{op} through the one2many {fld.name} with a domain (19.0)")
            if self.empty_start(value):
                return "FALSE"
            start = self.start_ids(tree, value)
            if walked:
                reverse = "parent_of" if op == "child_of" else "child_of"
                ids = self.expand(tree, reverse, start, fld.relation_field or "", walk=True)
            else:
                ids = self.inherited_parents(tree, op, start) or self.expand(tree, op, start)
            return self.any_leaf(fld, model, "any", self.expanded(ids, value, top), alias, top)
        if fld.name == "id":
            tree = model
        elif fld.type in RELATIONAL_TYPES and fld.relation != model.name:
            tree = self.comodel(fld)
        else:
            return None
        link = tree.fields.get("parent_id")
        if link is None or link.store or not link.related:
            return None
        if self.empty_start(value):
            return "FALSE"
        start = self.start_ids(tree, value)
        if fld.type == "many2many":
            # the ids are searched first (`:1723-1726`): those of existing records
            table = f"public.{ident(self.table(tree))}"
            start = f"ARRAY(SELECT t.id FROM {table} AS t WHERE t.id = ANY({start}))"
        found = self.inherited_parents(tree, op, start)
        if found is None:
            return None
        within = self.expanded(found, value, top)
        if fld.name == "id":
            return self.in_set(f"{alias}.id", self.resolve(within.value), top)
        if fld.type == "many2one":
            return self.in_set(self.column_sql(fld, model, alias), self.resolve(within.value), top)
        return self.any_leaf(fld, model, "any", within, alias, top)

    def expanded(self, select: str, value: Resolved, top: bool) -> Leaf:
        """`id in` the ids `select` finds: folded when the statement is planned when the
        start is a context value (as `hierarchy` does), else computed when it runs."""
        planned = isinstance(value, Dynamic) and value.planned
        ids = self.ids_array(select, top or planned, planned)
        return Leaf("id", "in", Dynamic(ids, True, planned=planned))

    @staticmethod
    def empty_start(value: Resolved) -> bool:
        """No start (False, an empty list, only 0): 19.0 finds nothing (`:1693-1694`,
        `:1734-1735`, a record 0 has no path, no parent and no child)."""
        if not isinstance(value, Static):
            return False
        items = value.value if isinstance(value.value, tuple) else (value.value,)
        return value.value is False or not items or all(v == 0 and v is not True for v in items)

    def inherited_parents(self, tree: Model, op: str, start: str) -> str | None:
        """The walk of 19.0's `_operator_child_of_domain` / `_operator_parent_of_domain`
        (odoo/orm/domains.py:1745-1794) on a model whose `parent_id` is an `_inherits`
        parent's (`<link>.parent_id`); None for other models.

        child_of: the start ids as given, then the records whose parent row's `parent_id`
        is in the set. parent_of: the existing start records, then their parent row's
        `parent_id`, then those parents' `parent_id` (the parent model's ids), each step
        without the ids already found (`filtered(lambda p: p.id not in parent_ids)`)."""
        link = tree.fields.get("parent_id")
        if link is None or link.store or not link.related:
            return None
        head, _, rest = link.related.partition(".")
        delegate = tree.fields.get(head)
        if rest != "parent_id" or head not in tree.inherits.values() or delegate is None:
            return None
        parent_model = self.comodel(delegate)
        up = parent_model.fields.get("parent_id")
        if up is None or not up.store or up.relation != parent_model.name:
            return None
        table = f"public.{ident(self.table(tree))}"
        parents = f"public.{ident(self.table(parent_model))}"
        column = ident(head)
        if op == "child_of":
            step = (
                f"SELECT t.id FROM {table} AS t JOIN {parents} AS p ON p.id = t.{column} "
                "JOIN h ON p.parent_id = h.id"
            )
            return f"WITH RECURSIVE h(id) AS (SELECT unnest({start}) UNION {step}) SELECT id FROM h"
        found = f"SELECT t.id FROM {table} AS t WHERE t.id = ANY({start})"
        first = (
            f"SELECT p.parent_id FROM {table} AS t JOIN {parents} AS p ON p.id = t.{column} "
            f"WHERE t.id = ANY({start}) AND p.parent_id IS NOT NULL "
            f"AND p.parent_id NOT IN ({found})"
        )
        step = (
            f"SELECT p.parent_id FROM {parents} AS p JOIN h ON p.id = h.id "
            f"WHERE p.parent_id IS NOT NULL AND p.parent_id NOT IN ({found})"
        )
        return f"WITH RECURSIVE h(id) AS ({first} UNION {step}) {found} UNION SELECT id FROM h"

    def start_ids(self, tree: Model, value: Resolved) -> str:
        """`to_ids` (expression.py:835): ids, or names searched with ilike on the tree."""
        if isinstance(value, Static):
            items = value.value if isinstance(value.value, tuple) else (value.value,)
            if items and all(isinstance(v, str) for v in items):
                found = disjoin(*(self.display_name(tree, "ilike", v) for v in items))
                return f"ARRAY({self.search_sql(Search(tree.name, 'id', found, searched=True))})"
            if any(isinstance(v, str | float) or v is True for v in items):
                raise CompileError(f"child_of/parent_of with {items!r}")
            ids = [literal(v) for v in items if v]
            return "ARRAY[" + ", ".join(ids) + "]::integer[]" if ids else "'{}'::integer[]"
        if isinstance(value, Dynamic):
            return (
                f"({value.sql})::integer[]" if value.is_array else f"ARRAY[{value.sql}]::integer[]"
            )
        return f"ARRAY({self.search_sql(value)})"

    def expand(
        self, tree: Model, op: str, start: str, parent: str = "parent_id", walk: bool = False
    ) -> str:
        """The ids child_of / parent_of `start` through `parent`: from `parent_path`, or
        (`walk`, or without it) a recursive walk of the parent field."""
        table = f"public.{ident(self.table(tree))}"
        if tree.parent_path and not walk:
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
        link = tree.fields.get(parent)
        if link is None or not link.store or link.type != "many2one" or link.relation != tree.name:
            # Odoo: "Invalid parent field" (child_of), or a failure mixing models (parent_of)
            raise CompileError(f"model {tree.name} has no parent field {parent} for {op}")
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
        column = self.column_sql(fld, model, alias)
        if isinstance(value, Search):
            sub = self.ids_array(self.search_sql(value), top)
            sql = f"{column} = ANY(({sub})::integer[])"
            return f"(NOT ({sql}))" if op in NEGATIVE_OPERATORS else sql
        if isinstance(value, Dynamic):
            if value.local_date and fld.type == "datetime":
                value = local_midnight(value, op)
            if value.kind == "text" and value.is_array:
                return self.text_array_leaf(fld, op, value, column)
            if value.kind == "text":
                value = typed_text(fld, op, value)
            return self.dynamic_scalar(fld, op, value, column)
        if self.catalog.major == 17:
            return static_leaf_17(fld, op, value.value, column)
        if self.catalog.major >= 19:
            check_19(fld, op, value.value)
            special = static_leaf_19(fld, op, value.value, column)
            if special is not None:
                return special
        if fld.company_dependent:
            check_company_dependent(fld, op, value.value)
        return static_leaf(fld, op, value.value, column)

    def column_sql(self, fld: Field, model: Model, alias: str) -> str:
        """The field's value as SQL (`BaseModel._field_to_sql`, odoo/models.py:2903)."""
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
            # odoo/models.py:2949-2968: the current company's value, else the field's
            # fallback (ir.default) unless that is empty, 0 or False
            sql_type = SQL_TYPES.get(fld.type)
            if sql_type is None:
                raise CompileError(f"company-dependent {fld.type} field {fld.name}")
            value = f"{column}->(pgpolicy.planned_company_id()::text)"
            fallback = self.company_fallback(model, fld)
            return f"((coalesce({value}, {fallback})->>0)::{sql_type})"
        return column

    def company_fallback(self, model: Model, fld: Field) -> str:
        """The company-dependent field's fallback as jsonb: the `ir.default` of the field for
        the current company or all, as `ir.default._get_model_defaults` picks it for the
        superuser (odoo/addons/base/models/ir_default.py:154)."""
        select = (
            "SELECT CASE WHEN v IN ('0'::jsonb, 'false'::jsonb, 'null'::jsonb) THEN NULL "
            "ELSE v END FROM (SELECT d.json_value::jsonb FROM public.ir_default AS d "
            "JOIN public.ir_model_fields AS f ON f.id = d.field_id "
            f"WHERE f.model = {literal(model.name)} AND f.name = {literal(fld.name)} "
            "AND (d.user_id IS NULL OR d.user_id = 1) "
            "AND (d.company_id IS NULL OR d.company_id = pgpolicy.planned_company_id()) "
            "AND d.condition IS NULL ORDER BY d.user_id, d.company_id, d.id LIMIT 1) AS s(v)"
        )
        if self.inline:
            return f"({select})"
        body = function_source(select, "jsonb", planned=True)
        name = PLANNED_PREFIX + hashlib.sha256(body.encode()).hexdigest()[:16]
        function = SudoFunction(name, "jsonb", body)
        self.functions[name] = function
        return f"{function.qualified}()"

    def text_array_leaf(self, fld: Field, op: str, value: Dynamic, column: str) -> str:
        """`in` / `not in` a list of strings known at query time, on a text column: False in
        the list admits NULL, and from 18.0 the empty string too (odoo/models.py:3104,
        odoo/orm/models.py in 19.0), as for a constant list."""
        text = fld.type in CHAR_TYPES or fld.type == "selection"
        if not text or op not in ("in", "not in"):
            raise CompileError(f"{op} a query-time list of strings on a {fld.type} field")
        sql = f"{column} = ANY(({value.sql})::text[])"
        empty = f"{column} IS NULL"
        if self.catalog.major >= 18:
            empty = f"({column} IS NULL OR {column} = '')"
        if any(v is False or v is None for v in value.extras):
            return f"({sql} OR {empty})" if op == "in" else f"(NOT ({sql}) AND NOT {empty})"
        return sql if op == "in" else f"(NOT ({sql}) OR {column} IS NULL)"

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


def typed_text(fld: Field, op: str, value: Dynamic) -> Dynamic:
    """A string known at query time (`time.strftime(...)`) as a value of the field's type.

    Odoo passes it as a parameter, which PostgreSQL reads as a literal of the column's
    type; a 10-character string compared with a datetime is padded first (§3.5,
    `expression.py`: `' 23:59:59'` for `>` and `<=`, else `' 00:00:00'`)."""
    if fld.type in CHAR_TYPES or fld.type == "selection":
        return value
    if op in ("in", "not in"):
        raise CompileError(f"{op} with a query-time string on a {fld.type} field", token=op)
    if fld.type == "datetime":
        pad = literal(" 23:59:59" if op in (">", "<=") else " 00:00:00")
        sql = (
            f"(CASE WHEN length({value.sql}) = 10 THEN {value.sql} || {pad} "
            f"ELSE {value.sql} END)::timestamp"
        )
        return replace(value, sql=sql, kind="timestamp")
    if fld.type == "date" or fld.type in NUMBER_TYPES:
        return replace(value, sql=f"({value.sql})::{SQL_TYPES[fld.type]}", kind=fld.type)
    raise CompileError(f"a query-time string compared with a {fld.type} field", token=fld.name)


def sql_bool(value: bool | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


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
# Static scalar leaves, exactly as BaseModel._condition_to_sql (odoo/models.py:3075)


def static_leaf(fld: Field, op: str, value: Any, column: str) -> str:
    """SQL for `(field, op, value)` with a value known at compile time."""
    ftype = "id" if fld.name == "id" else fld.type
    if op in ("in", "not in") and isinstance(value, bool):
        op = "=" if op == "in" else "!="  # normalize_leaf (expression.py:690)
    if op in ("=", "!=") and isinstance(value, tuple | list):
        op = "in" if op == "=" else "not in"
    if op == "=?":
        if value is False or value is None:
            return "TRUE"
        if isinstance(value, tuple | list):
            raise CompileError(f"=? with a list on {fld.name} (Odoo's SQL compares with an array)")
        op = "="
    if ftype == "datetime" and isinstance(value, str) and len(value) == 10:
        value += " 23:59:59" if op in (">", "<=") else " 00:00:00"  # expression.py:1389
    if op in ("in", "not in"):
        if not isinstance(value, tuple | list):
            raise CompileError(f"{op} needs a list, got {value!r}", token=op)
        return in_leaf(fld, ftype, op, value, column)
    if ftype == "boolean" and op in ("=", "!=") and isinstance(value, bool):
        truthy = value != (op == "!=")
        return f"({column} = TRUE)" if truthy else f"({column} IS NULL OR {column} = FALSE)"
    relational = ftype in ("many2one", "id", "one2many", "many2many", "many2one_reference")
    if (relational and ftype != "many2one_reference") and op in ("=", "!=") and not value:
        value = False
    number = ftype in NUMBER_TYPES
    char = ftype in CHAR_TYPES
    if op in ("=", "!=") and (value is False or value is None):
        if number:
            value = 0
        elif char:
            value = ""
        else:
            return f"{column} IS NULL" if op == "=" else f"{column} IS NOT NULL"
    wildcard = op in ("like", "not like", "ilike", "not ilike")
    if wildcard:
        sql_value = literal(f"%{python_str(value)}%")
    else:
        sql_value = column_value(fld, ftype, value, op)
    left = column
    if op.endswith("like") and ftype not in CHAR_TYPES:
        left = f"({column})::text"
    if wildcard and not value:
        return "FALSE" if op in NEGATIVE_OPERATORS else "TRUE"
    sql = f"({left} {SQL_OPERATORS[op]} {sql_value})"
    if bool(value) == (op in NEGATIVE_OPERATORS) and op[:1] not in (">", "<"):
        sql = f"({sql} OR {column} IS NULL)"
    if not wildcard and number:
        compared = number_value(ftype, value)
        if (
            (op == ">=" and compared <= 0)
            or (op == "<=" and compared >= 0)
            or (op == "<" and compared > 0)
            or (op == ">" and compared < 0)
        ):
            sql = f"({sql} OR {column} IS NULL)"
    return sql


SQL_OPERATORS = {
    "=": "=",
    "!=": "!=",
    "<=": "<=",
    "<": "<",
    ">": ">",
    ">=": ">=",
    "=like": "LIKE",
    "=ilike": "ILIKE",
    "like": "LIKE",
    "not like": "NOT LIKE",
    "ilike": "ILIKE",
    "not ilike": "NOT ILIKE",
}
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
        if isinstance(value, tuple | list):
            raise CompileError(f"=? with a list on {fld.name} (Odoo's SQL compares with an array)")
        if fld.translate:
            # the translated branch of `__leaf_to_sql` maps its operators with a dict that
            # has no '=?' (KeyError, odoo/osv/expression.py of 17.0)
            raise CompileError("=? on a translated field: Odoo 17.0 raises KeyError")
        op = "="
    if op in ("in", "not in") and isinstance(value, bool):
        op = "=" if op == "in" else "!="
    if op in ("=", "!=") and isinstance(value, tuple | list):
        op = "in" if op == "=" else "not in"
    check_17(fld, ftype, op, value)
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
        # `pycompat.to_text`: '' for False and None (odoo/tools/pycompat.py:23)
        text = "" if value is None or value is False else python_str(value)
        right = literal(f"%{text}%")
    elif ftype in ("date", "datetime") and isinstance(value, str):
        right = literal(date_value(ftype, op, value))
    else:
        right = literal(convert_17(ftype, value))
    left = f"({column})::text" if op.endswith("like") else column
    sql = f"({left} {SQL_OPERATORS_17.get(op, op)} {right})"
    if (need_wildcard and not value) or (value and op in NEGATIVE_OPERATORS):
        return f"({sql} OR {column} IS NULL)"
    return sql


def check_17(fld: Field, ftype: str, op: str, value: Any) -> None:
    """A value 17.0 passes to PostgreSQL as is, which PostgreSQL rejects for the column
    (`'abc'` on a number, `'not a date'`, `True` or a list on an integer): Odoo fails with
    the SQL error, pgpolicy refuses it (a policy never fails on types)."""
    if ftype == "boolean" or op.endswith("like") or ftype in CHAR_TYPES or ftype == "selection":
        return
    items = value if op in ("in", "not in") and isinstance(value, tuple | list) else (value,)
    for item in items:
        if item is False or item is None:
            continue
        if isinstance(item, tuple | list | dict) or (item is True and ftype in ("id", "many2one")):
            raise CompileError(f"{fld.name} compared with {item!r}", token=str(item))
        if ftype in ("date", "datetime") and isinstance(item, str):
            item = date_value(ftype, op, item)
        if ftype in ("date", "datetime", "id", "many2one"):
            column_value(fld, ftype, item, op)
        else:
            convert_17(ftype, item)


def date_value(ftype: str, op: str, value: str) -> str:
    """A date string compared with a datetime is padded (expression.py's `__leaf_to_sql`)."""
    if ftype == "datetime" and len(value) == 10:
        return value + (" 23:59:59" if op in (">", "<=") else " 00:00:00")
    return value


def convert_17(ftype: str, value: Any) -> Any:
    """`field.convert_to_column(value, validate=False)` of 17.0 (odoo/fields.py:907, 1410,
    1434, 1533, 1939): booleans `bool`, integers `int(v or 0)`, floats `float(v or 0.0)`,
    many2one `v or None`, others None for False/None and else the text of the value. A value
    Python cannot convert is Odoo's ValueError: refused."""
    if ftype == "id":
        return None if value is False else value
    if ftype == "boolean":
        return bool(value)
    if ftype == "many2one":
        return value or None
    try:
        if ftype in ("integer", "many2one_reference"):
            return int(value or 0)
        if ftype in ("float", "monetary"):
            return float(value or 0.0)
    except (TypeError, ValueError) as exc:
        raise CompileError(f"{value!r} is not a number", token=str(value)) from exc
    if value is None or value is False:
        return None
    return python_str(value)


def in_leaf(
    fld: Field, ftype: str, op: str, values: tuple[Any, ...] | list[Any], column: str
) -> str:
    params = [v for v in values if v is not False and v is not None]
    check_null = len(params) < len(values)
    if ftype == "boolean":
        params = [True] if any(params) else []
        if check_null:
            params.append(False)
    elif ftype in NUMBER_TYPES or ftype in CHAR_TYPES:
        zero: Any = 0 if ftype in NUMBER_TYPES else ""
        if check_null and zero not in params:
            params.append(zero)
        check_null = check_null or zero in params
    if not params:
        sql = "FALSE" if op == "in" else "TRUE"
    else:
        if ftype == "boolean":
            items = [literal(p) for p in params]
        elif ftype == "id":
            items = [id_literal(p) for p in params]
        else:
            items = [column_value(fld, ftype, p, op) for p in params]
        sql = f"({column} {'IN' if op == 'in' else 'NOT IN'} ({', '.join(items)}))"
    if (op == "in" and check_null) or (op == "not in" and not check_null):
        return f"({sql} OR {column} IS NULL)"
    if op == "not in" and check_null:
        return f"({sql} AND {column} IS NOT NULL)"
    return sql


def python_str(value: Any) -> str:
    """`str(value)` as Python writes it (a domain's `%{value}%` pattern)."""
    if value is None:
        return "None"
    return str(value)


def id_literal(value: Any) -> str:
    """An item of `('id', 'in', [...])`, passed raw to PostgreSQL by Odoo."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CompileError(f"id compared with {value!r}", token=str(value))
    return literal(value)


def number_value(ftype: str, value: Any) -> float:
    """`convert_to_record(convert_to_cache(value))` of a number field (the null checks)."""
    try:
        return int(value or 0) if ftype == "integer" else float(value or 0.0)
    except (TypeError, ValueError) as exc:
        raise CompileError(f"{value!r} is not a number", token=str(value)) from exc


DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


def column_value(fld: Field, ftype: str, value: Any, op: str) -> str:
    """The SQL literal of `field.convert_to_column(value, validate=False)` (odoo/fields.py),
    typed so that PostgreSQL accepts it; a value PostgreSQL (or Odoo) would reject is a
    CompileError."""
    if ftype == "boolean":
        return "true" if value else "false"
    if ftype in ("integer", "many2one_reference"):
        return literal(int(number_value("integer", value)))
    if ftype == "float":
        number = number_value("float", value)
        return literal(float(number))
    if value is None or value is False:
        return "NULL"
    if ftype == "monetary":
        text = python_str(value)
        try:
            decimal.Decimal(text.strip())
        except decimal.InvalidOperation as exc:
            raise CompileError(f"{value!r} is not a number", token=text) from exc
        return f"{literal(text)}::numeric"
    if ftype == "many2one" and not value:
        return "NULL"  # Many2one.convert_to_column: `value or None`
    if ftype in ("many2one", "id"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CompileError(f"{fld.name} compared with {value!r}", token=str(value))
        if ftype == "id" and isinstance(value, float) and not value.is_integer():
            raise CompileError(f"id compared with {value!r}", token=str(value))
        return literal(value)
    text = python_str(value)
    if ftype in ("date", "datetime") and not op.endswith("like"):
        if not (DATE_RE.fullmatch(text) or DATETIME_RE.fullmatch(text)) or not valid_date(text):
            raise CompileError(f"{text!r} is not a {ftype}", token=text)
        return f"{literal(text)}::{'date' if ftype == 'date' else 'timestamp'}"
    if ftype == "html" and fld.sanitize:
        return literal(sanitized(text))
    if ftype in CHAR_TYPES or ftype in ("selection", "date", "datetime"):
        return literal(text)
    raise CompileError(f"comparing a {ftype} field", token=fld.name)


def sanitized(text: str) -> str:
    """What Odoo's `html_sanitize` makes of a plain-text value (a paragraph); any other
    value is refused, its sanitizing being beyond a compiler."""
    if text == "" or re.fullmatch(r"<p>[^<>&\"\n\r\t]+</p>", text):
        return text  # already what sanitizing gives
    if any(c in text for c in '<>&"\n\r\t') or text != text.strip():
        raise CompileError(f"html value {text!r}: Odoo compares it sanitized", token=text)
    return f"<p>{text}</p>"


def valid_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def static_leaf_19(fld: Field, op: str, value: Any, column: str) -> str | None:
    """Where 19.0's `Domain` optimizations change a leaf 18.0 compiled otherwise; None for
    the others (then as 18.0).

    - datetimes (`_optimize_type_datetime`, odoo/orm/domains.py:1586-1640): ordering with
      False matches nothing; a value is cut to the second, a date string is midnight, and
      `>` / `<=` move to the next second (day for a date); `=` / `in` compare with the whole
      second `[v, v + 1 s)`;
    - texts ordered with a string (`Field._condition_to_sql`, odoo/orm/fields.py:1336-1351):
      NULL counts as the field's falsy value `''`, so NULL rows match when `''` does."""
    ordering = op in ("<", "<=", ">", ">=")
    if op in ("=", "!=", "in", "not in") and fld.type == "boolean" and fld.name != "id":
        # `in` (`=` is `in [v]`, odoo/orm/fields.py:1283-1310): each value as `bool(v)`;
        # False (the falsy value, 0 included) also admits NULL
        items = value if isinstance(value, tuple | list) else (value,)
        if isinstance(value, str) or any(isinstance(v, str | tuple | list) for v in items):
            return None
        values = {bool(v) for v in items}
        positive = op in ("=", "in")
        if not values:
            return "FALSE" if positive else "TRUE"
        sql = f"{column} IN ({', '.join(literal(v) for v in sorted(values))})"
        if False in values:
            sql = f"({sql} OR {column} IS NULL)"
        if positive:
            return sql
        return f"(NOT {sql})" if False in values else f"(NOT {sql} OR {column} IS NULL)"
    if op in ("=", "!=", "in", "not in") and fld.type == "many2one":
        # Many2one.convert_to_column: `v or None`, and no falsy value: an id 0 is a NULL
        # parameter (`IN (NULL)` matches nothing), not False
        items = value if isinstance(value, tuple | list) else (value,)
        if not any(v == 0 and v is not False for v in items) or not all(
            isinstance(v, int) for v in items
        ):
            return None
        ids = sorted({v for v in items if v})
        null = any(v is False for v in items)
        positive = op in ("=", "in")
        sql = f"{column} IN ({', '.join([literal(v) for v in ids] + ['NULL'])})"
        if positive:
            return f"({sql} OR {column} IS NULL)" if null else sql
        if null:
            return f"(NOT {sql} AND {column} IS NOT NULL)"
        return f"(NOT {sql} OR {column} IS NULL)"
    if fld.type == "date" and ordering and value is False:
        return "FALSE"  # `_optimize_type_date`, odoo/orm/domains.py:1518-1520
    if fld.type == "datetime" and fld.name != "id":
        if ordering:
            if value is False or value is None:
                return "FALSE"
            if not isinstance(value, str):
                return None
            moment, is_date = datetime_19(value)
            if op in (">", "<="):
                moment += datetime.timedelta(days=1) if is_date else datetime.timedelta(seconds=1)
                op = ">=" if op == ">" else "<"
            return f"{column} {op} {literal(moment.isoformat(' '))}::timestamp"
        if op in ("=", "!=", "in", "not in"):
            items = value if isinstance(value, tuple | list) else (value,)
            if not all(isinstance(v, str) or v is False for v in items) or not any(
                isinstance(v, str) for v in items
            ):
                return None
            parts = []
            for item in items:
                if item is False:
                    parts.append(f"{column} IS NULL")
                    continue
                start, _ = datetime_19(item)
                end = start + datetime.timedelta(seconds=1)
                parts.append(
                    f"({column} >= {literal(start.isoformat(' '))}::timestamp AND "
                    f"{column} < {literal(end.isoformat(' '))}::timestamp)"
                )
            sql = "(" + " OR ".join(parts) + ")"
            if op in ("=", "in"):
                return sql
            # the OR negated, each inequality `OR field = False` (no falsy value for
            # datetimes, `DomainCondition._negate`, odoo/orm/domains.py:853-866)
            return f"(NOT {sql})" if False in items else f"(NOT {sql} OR {column} IS NULL)"
    number = fld.type in ("integer", "float", "monetary")
    if ordering and number and (value is False or value is None):
        # the falsy value 0 stands for False (odoo/orm/fields.py:1336-1351)
        accept_null = {"<": False, ">": False, "<=": True, ">=": True}[op]
        sql = f"{column} {op} 0"
        return f"({sql} OR {column} IS NULL)" if accept_null else sql
    if ordering and fld.type in ("char", "text") and not fld.company_dependent:
        if value is False or value is None:
            value = ""
        if not isinstance(value, str):
            return None
        accept_null = ORDERINGS[op]("", value)
        sql = f"{column} {op} {literal(value)}"
        return f"({sql} OR {column} IS NULL)" if accept_null else sql
    return None


def datetime_19(text: str) -> tuple[datetime.datetime, bool]:
    """`_value_to_datetime(value, iso_only=True)` for a string: a naive datetime cut to the
    second, and whether the string was a date (then midnight UTC: no user time zone in a
    rule or the differential's superuser)."""
    try:
        if len(text) == 10:
            return datetime.datetime.fromisoformat(text + " 00:00:00"), True
        return datetime.datetime.fromisoformat(text).replace(microsecond=0, tzinfo=None), False
    except ValueError as exc:
        raise CompileError(f"{text!r} is not a datetime", token=text) from exc


def check_19(fld: Field, op: str, value: Any) -> None:
    """Values Odoo 19.0 rejects where 18.0 compared them: None with a datetime
    (`_value_to_datetime`, odoo/orm/domains.py:1582), and `id` ordered with False (its SQL
    compares an integer with a boolean, which PostgreSQL refuses)."""
    items = value if isinstance(value, tuple | list) else (value,)
    ordering = op in ("<", "<=", ">", ">=")
    if fld.type == "datetime" and op in ("in", "not in") and None in items:
        raise CompileError("Odoo 19.0 cannot cast None into a datetime", token=fld.name)
    if fld.name == "id" and ordering and value is False:
        raise CompileError("id ordered with False: PostgreSQL refuses Odoo 19.0's SQL")


def check_company_dependent(fld: Field, op: str, value: Any) -> None:
    """Odoo first evaluates the leaf in Python on the field's fallback
    (`ir.default._evaluate_condition_with_fallback`, expression.py:995-1003): ordering a
    fallback value with None, or a string or date with False, raises there. Whether a
    fallback exists is data: refused whatever it is (fail closed)."""
    if op not in ("<", "<=", ">", ">="):
        return
    comparable = fld.type in ("integer", "float", "monetary", "many2one", "boolean")
    if value is None or (value is False and not comparable):
        raise CompileError(
            f"{fld.name} {op} {value!r}: Odoo compares it with the field's fallback in Python",
            token=op,
        )


def names_field(node: Node, names: tuple[str, ...]) -> bool:
    """Whether a leaf of the domain (not of its sub-domains) is on one of `names`."""
    if isinstance(node, And | Or):
        return any(names_field(child, names) for child in node.children)
    if isinstance(node, Not):
        return names_field(node.child, names)
    return isinstance(node, Leaf) and node.path in names


def is_null(value: Any) -> bool:
    """Odoo's `value is False or value is None` (0 and '' are not)."""
    return value is False or value is None


def is_names(value: Any) -> bool:
    """A string, or a non-empty list of strings (searched by name on a many2one)."""
    if isinstance(value, str):
        return True
    return isinstance(value, tuple) and bool(value) and all(isinstance(v, str) for v in value)


def as_value(value: Any) -> Value:
    """A static Python value back as a domain value."""
    if isinstance(value, tuple | list):
        return ListOf(tuple(Const(v) for v in value))
    return Const(value)


def domain_tree(domain: list[Any]) -> Node:
    """A domain given as data (an x2many field's own domain) as a tree."""
    items: list[str | Leaf | Bool] = []
    for item in domain:
        if isinstance(item, str):
            items.append(item)
        else:
            path, op, value = item
            items.append(Leaf(path, op, as_value(value)))
    return build_tree(items)


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


# ---------------------------------------------------------------------------
# Name searches that Odoo's models override (`_search_display_name`), as domains. Each
# gets the default search (over `_rec_names_search` / `_rec_name`), the operator and the
# value, in the rule evaluation context (no `partner_id`, `user_preference`, ... keys).

NameSearch = Callable[[Node, str, Any], Node]


def _positive(op: str) -> bool:
    return op not in NEGATIVE_OPERATORS


def _users_by_name(default: Node, op: str, value: Any) -> Node:
    """res.users (odoo/addons/base/models/res_users.py:825): a user whose login is the
    value exactly wins over the name search."""
    if op not in ("=", "ilike") or not value:
        return default
    login = Leaf("login", "=", as_value(value))
    return disjoin(login, conjoin(default, Exists("res.users", login, negated=True)))


def _products_by_name(default: Node, op: str, value: Any) -> Node:
    """product.product (addons/product/models/product_product.py:533)."""
    parts: list[Node] = [
        anyfy(Leaf("name", op, as_value(value))),
        Leaf("default_code", op, as_value(value)),
    ]
    if op in ("=", "in") or (op.endswith("like") and _positive(op)):
        barcodes = value if op == "in" else (value,)
        if not isinstance(barcodes, tuple):
            raise CompileError(f"product name search with {op} {value!r}")
        parts.append(Leaf("barcode", "in", as_value(barcodes)))
    if op == "=" and isinstance(value, str) and (m := re.search(r"(\[(.*?)\])", value)):
        parts.append(Leaf("default_code", "=", Const(m.group(2))))
    return disjoin(*parts) if _positive(op) else conjoin(*parts)


def _templates_by_name(default: Node, op: str, value: Any) -> Node:
    """product.template (addons/product/models/product_template.py:568): its variants' names
    too, when there is a value."""
    if not value:
        return default
    variants = Leaf("product_variant_ids", op, as_value(value))
    return disjoin(default, variants) if _positive(op) else conjoin(default, variants)


def _warehouse_and_type(op: str, value: Any) -> Node | None:
    """'Warehouse: Type' searched as the warehouse's name and the type's (stock.picking.type,
    18.0 and 19.0 alike), or None for any other value."""
    parts = value.split(": ") if isinstance(value, str) else []
    if len(parts) != 2:
        return None
    return conjoin(
        anyfy(Leaf("warehouse_id.name", op, Const(parts[0]))), Leaf("name", op, Const(parts[1]))
    )


def _picking_types_by_name(default: Node, op: str, value: Any) -> Node:
    """stock.picking.type (addons/stock/models/stock_picking.py:300): 'Warehouse: Type'."""
    found = _warehouse_and_type(op, value)
    return default if found is None else found


def _state_in_country(name: str, operator: str) -> Node:
    """`_get_name_search_domain` of res.country.state (the same in 17.0, 18.0, 19.0):
    'State (Country)' as the state's name in a country of that name or code."""
    m = re.fullmatch(r"(?P<name>.+)\((?P<country>.+)\)", name) if isinstance(name, str) else None
    if m is None:
        return FALSE
    country = m["country"].strip()
    return conjoin(
        Leaf("name", operator, Const(m["name"].strip())),
        disjoin(
            anyfy(Leaf("country_id.name", "ilike", Const(country))),
            anyfy(Leaf("country_id.code", "=", Const(country))),
        ),
    )


def _states_by_name(default: Node, op: str, value: Any) -> Node:
    """res.country.state (odoo/addons/base/models/res_country.py:193): 'State (Country)'."""
    if value and _positive(op):
        if op in ("ilike", "="):
            return disjoin(default, _state_in_country(value, op))
        if op == "in":
            return disjoin(default, *(_state_in_country(name, "=") for name in value))
    return default


def _banks_by_name(default: Node, op: str, value: Any) -> Node:
    """res.bank (odoo/addons/base/models/res_bank.py:41)."""
    if op in ("ilike", "not ilike") and value:
        if not isinstance(value, str):
            raise CompileError(f"bank name search with {value!r}")
        found = disjoin(
            Leaf("bic", "=ilike", Const(value + "%")), Leaf("name", "ilike", Const(value))
        )
        return negate(found) if op == "not ilike" else found
    return default


def _categories_by_name(default: Node, op: str, value: Any) -> Node:
    """res.partner.category (odoo/addons/base/models/res_partner.py:175): the matching
    tags and their children."""
    if op.endswith("like"):
        return Leaf("id", "child_of", Search("res.partner.category", "id", default))
    return default


def _code_or_name(column: str, prefix: str, name: str, op: str, major: int = 18) -> Node:
    """An account searched by name: the code's first word too, exactly with `=`/`!=`, else
    as a prefix with the `prefix` operator; a negative operator AND-s the two."""
    first = name.split(" ")[0]
    code = (
        Leaf(column, "=", Const(first))
        if op in ("=", "!=")
        else Leaf(column, prefix, Const(first + "%"))
    )
    by_name = Leaf("name", op, Const(name))
    if op in NEGATIVE_OPERATORS:
        return conjoin(negate(code, major), by_name)
    return disjoin(code, by_name)


def _accounts_by_name(default: Node, op: str, value: Any) -> Node:
    """account.account (addons/account/models/account_account.py:813): the code's first word
    too (the code is `code_store` of the company, `_search_code`)."""
    name = value or ""
    if not isinstance(name, str):
        raise CompileError(f"account name search with {value!r}")
    return _code_or_name("code_store", "=like", name, op)


NAME_SEARCHES: dict[str, NameSearch] = {
    "account.account": _accounts_by_name,
    "sale.order": lambda default, op, value: default,  # sale_expense: a context key only
    # res.company's override only matters with `user_preference` in the context
    "res.company": lambda default, op, value: default,
    "res.users": _users_by_name,
    "product.product": _products_by_name,
    "product.template": _templates_by_name,
    "stock.picking.type": _picking_types_by_name,
    "res.country.state": _states_by_name,
    "res.bank": _banks_by_name,
    "res.partner.category": _categories_by_name,
}


# ---------------------------------------------------------------------------
# The name searches of Odoo 17.0 and 19.0: their default and overrides differ from 18.0's
# (17.0 overrides `_name_search`, which receives the operator as written; 19.0 rewrote
# most overrides). Only overrides translated from that version's source are here; any
# other override of that version is refused (fail closed). Each translation gets the
# version's default search as a function of (operator, value).

DefaultSearch = Callable[[str, Any], Node]
VersionNameSearch = Callable[[DefaultSearch, str, Any], Node]


def default_name_search_17(names: tuple[str, ...], op: str, value: Any) -> Node:
    """17.0 `BaseModel._name_search` (odoo/models.py:1750-1766): only `like`/`ilike` with
    the empty string matches every record; any other value is searched on every field,
    with the operator as given (AND for a negative one)."""
    if isinstance(value, str) and value == "" and op in ("like", "ilike"):
        return TRUE
    leaves = [anyfy(Leaf(name, op, as_value(value))) for name in names]
    return conjoin(*leaves) if op in NEGATIVE_OPERATORS else disjoin(*leaves)


def _name_string(model: str, value: Any) -> str:
    """A value the override handles as a string (it calls string methods on it)."""
    if not isinstance(value, str):
        raise CompileError(f"{model} name search with {value!r} (Odoo fails)")
    return value


def _accounts_by_name_17(default: DefaultSearch, op: str, value: Any) -> Node:
    """17.0 account.account (addons/account/models/account_account.py:567-580): the
    code's first word too (`code` is a stored column in 17.0); no value, every account."""
    if not value:
        return TRUE
    return _code_or_name("code", "=ilike", _name_string("account.account", value), op, 17)


def parse_tax_name_17(name: str) -> str:
    """17.0 `AccountTax._parse_name_search` (addons/account/models/account_tax.py:407-430):
    quoted parts kept between wildcards, other characters joined by wildcards."""
    regex = r"(\"[^\"]*\")"
    parts = re.split(regex, name)
    for i, part in enumerate(parts.copy()):
        if not part:
            continue
        if re.search(regex, part):
            parts[i] = "%" + part.replace("%", "_").replace('"', "") + "%"
        else:
            parts[i] = "%".join(re.sub(r"\W+", "", part))
    return "".join(parts)


def _taxes_by_name_17(default: DefaultSearch, op: str, value: Any) -> Node:
    """17.0 account.tax (addons/account/models/account_tax.py:433-436): like/ilike search
    the parsed name."""
    if op in ("ilike", "like"):
        return default(op, parse_tax_name_17(_name_string("account.tax", value)))
    return default(op, value)


def _countries_by_name_17(default: DefaultSearch, op: str, value: Any) -> Node:
    """17.0 res.country (odoo/addons/base/models/res_country.py:85-97): a two-character
    value is a code too (`code ilike`); the name with the operator as given."""
    name = _name_string("res.country", value)
    by_name = Leaf("name", op, Const(name))
    if len(name) == 2:
        return disjoin(Leaf("code", "ilike", Const(name)), by_name)
    return by_name


def _banks_by_name_17(default: DefaultSearch, op: str, value: Any) -> Node:
    """17.0 res.bank (odoo/addons/base/models/res_bank.py:40-47)."""
    if not value:
        return TRUE
    name = _name_string("res.bank", value)
    bic = Leaf("bic", "=ilike", Const(name + "%"))
    if op in NEGATIVE_OPERATORS:
        return conjoin(negate(bic, 17), Leaf("name", op, Const(name)))
    return disjoin(bic, Leaf("name", op, Const(name)))


def _categories_by_name_17(default: DefaultSearch, op: str, value: Any) -> Node:
    """17.0 res.partner.category (odoo/addons/base/models/res_partner.py:156-162): the
    last part of 'Parent / Child'."""
    if not value:
        return TRUE
    name = _name_string("res.partner.category", value).split(" / ")[-1]
    return Leaf("name", op, Const(name))


def _picking_types_by_name_17(default: DefaultSearch, op: str, value: Any) -> Node:
    """17.0 stock.picking.type (addons/stock/models/stock_picking.py:259-265)."""
    parts = _name_string("stock.picking.type", value).split(": ")
    if len(parts) == 2:
        return conjoin(
            anyfy(Leaf("warehouse_id.name", op, Const(parts[0]))),
            Leaf("name", op, Const(parts[1])),
        )
    return default(op, value)


_ISO_DATE = re.compile(r"^(\d{4})-?([01]\d)-?([0-3]\d)$", re.ASCII)


def _rates_by_name(default: DefaultSearch, op: str, value: Any) -> Node:
    """res.currency.rate: the value goes through `parse_date` (17.0
    odoo/addons/base/models/res_currency.py:457-458; 19.0 res_currency.py:476-481, each
    item of a list), i.e. `babel.dates.parse_date` in the user's language, which returns
    the original value when it fails. It fails, whatever babel's version and language,
    for a value that is not a string and for a string with fewer than three numbers that
    is not an ISO date (odoo/tools/misc.py `parse_date`); any other value may become a
    date, depending on the server: refused."""
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if isinstance(item, str) and (
            len(re.findall(r"(\d+)", item)) >= 3 or _ISO_DATE.match(item)
        ):
            raise CompileError(
                f"res.currency.rate name search with {item!r} (a localized date parse)",
                token=item,
            )
    return default(op, value)


def _users_by_name_19(default: DefaultSearch, op: str, value: Any) -> Node:
    """19.0 res.users (odoo/addons/base/models/res_users.py:674-683): the users whose login
    is one of the values, when there are some, else the name search."""
    if op not in ("=", "in", "ilike") or not value:
        return default(op, value)
    logins = value if isinstance(value, tuple) else (value,)
    login = Leaf("login", "in", as_value(logins))
    return disjoin(login, conjoin(default(op, value), Exists("res.users", login, negated=True)))


def _users_by_name_17(default: DefaultSearch, op: str, value: Any) -> Node:
    """17.0 res.users (odoo/addons/base/models/res_users.py:765-776): a positive search
    finds the users whose login is the value (`ilike` with a blank value: every user), and
    only when there are none the users by name; a negative one searches the name."""
    by_name = Leaf("name", op, as_value(value))
    if op in NEGATIVE_OPERATORS:
        return by_name
    if op == "ilike" and not _name_string("res.users", value or "").strip():
        return TRUE  # every user, when there is one (else the name search finds none either)
    login = Leaf("login", "=", as_value(_name_string("res.users", value)))
    return disjoin(login, conjoin(by_name, Exists("res.users", login, negated=True)))


def _accounts_by_name_19(default: DefaultSearch, op: str, value: Any) -> Node:
    """19.0 account.account (addons/account/models/account_account.py:836-849): a
    negative operator is NotImplemented (the ORM negates the positive search); `in` (19.0
    makes `=` an `in` first) the codes' first words or the names; a string the code's first
    word as a prefix, the name, or the description. `code` is searched as `code_store`
    (`_search_code`, account_account.py:341), as for 18.0."""
    if op in NEGATIVE_OPERATORS:
        return negate(_accounts_by_name_19(default, NEGATION[op], value), 19)
    if op == "=":
        op, value = "in", (value,)
    if op == "in" and isinstance(value, tuple):
        names = [_name_string("account.account", item or "") for item in value]
        firsts = tuple(name.split(" ")[0] for name in names)
        return disjoin(
            Leaf("code_store", "in", as_value(firsts)), Leaf("name", "in", as_value(value))
        )
    name = _name_string("account.account", value)
    return disjoin(
        Leaf("code_store", "=like", Const(name.split(" ")[0] + "%")),
        Leaf("name", op, Const(name)),
        Leaf("description", "ilike", Const(name)),
    )


def _states_by_name_17(default: DefaultSearch, op: str, value: Any) -> Node:
    """17.0 res.country.state (odoo/addons/base/models/res_country.py:172-206): the states
    whose code is the value (`=ilike`) and those whose name matches (with the operator as
    given; `ilike` a blank value: every state); only when there are none, 'State (Country)'
    (`ilike` and `=`)."""
    name = _name_string("res.country.state", value or "")
    if op == "ilike" and not name.strip():
        return TRUE
    found = disjoin(Leaf("code", "=ilike", Const(name)), Leaf("name", op, Const(name)))
    if not (name and op in ("ilike", "=")):
        return found
    fallback = _state_in_country(name, op)
    return disjoin(found, conjoin(fallback, Exists("res.country.state", found, negated=True)))


def _products_by_name_17(default: DefaultSearch, op: str, value: Any) -> Node:
    """17.0 product.product (addons/product/models/product_product.py:530-573), a cascade:
    with a positive operator the products whose default code, else whose barcode, is the
    value; else those whose default code or name matches (a negative operator: the name,
    and the default code unless there is none); else, for a positive operator, the
    default code in brackets ('[CODE] Name'). No value: every product."""
    if not value:
        return TRUE
    positive = op in ("=", "ilike", "=ilike", "like", "=like")
    if op in NEGATIVE_OPERATORS:
        by_name = Leaf("name", op, as_value(value))
        return conjoin(
            by_name,
            disjoin(
                Leaf("default_code", op, as_value(value)), Leaf("default_code", "=", Const(False))
            ),
        )
    matching = disjoin(Leaf("default_code", op, as_value(value)), Leaf("name", op, as_value(value)))
    if not positive:
        return matching
    name = _name_string("product.product", value)
    steps: list[Node] = [
        Leaf("default_code", "=", Const(name)),
        Leaf("barcode", "=", Const(name)),
        matching,
    ]
    if m := re.search(r"(\[(.*?)\])", name):
        steps.append(Leaf("default_code", "=", Const(m.group(2))))
    cascade: list[Node] = []
    for i, step in enumerate(steps):
        earlier = [Exists("product.product", s, negated=True) for s in steps[:i]]
        cascade.append(conjoin(*earlier, step))
    return disjoin(*cascade)


def _picking_types_by_name_19(default: DefaultSearch, op: str, value: Any) -> Node:
    """19.0 stock.picking.type (addons/stock/models/stock_picking.py:303-315); 19.0 makes
    `=` an `in` and `!=` a `not in` first (odoo/orm/fields.py:147-149); `in` is each value
    searched with `=`, `not in` NotImplemented (the positive search negated)."""
    if op in ("=", "!="):
        op, value = "in" if op == "=" else "not in", (value,)
    if op in ("in", "not in") and not isinstance(value, tuple):
        raise CompileError(f"stock.picking.type name search {op} {value!r}")
    if op == "in":
        return disjoin(*(_picking_type_19(default, "=", item) for item in value))
    if op == "not in":
        return negate(_picking_types_by_name_19(default, "in", value), 19)
    return _picking_type_19(default, op, value)


def _picking_type_19(default: DefaultSearch, op: str, value: Any) -> Node:
    """One call of 19.0's method with an operator other than `in` / `not in`."""
    found = _warehouse_and_type(op, value)
    if found is not None:
        return found
    return default("in", (value,)) if op == "=" else default(op, value)


def _products_by_name_19(default: DefaultSearch, op: str, value: Any) -> Node:
    """19.0 product.product (addons/product/models/product_product.py:623-677): the
    template's name or the default code (`in` adds the barcodes and the codes in brackets,
    a positive like the barcode); a negative operator all of them (AND). 19.0 makes `=` an
    `in` and `!=` a `not in` first (odoo/orm/fields.py:147-149)."""
    if op in ("=", "!="):
        op, value = "in" if op == "=" else "not in", (value,)
    parts: list[Node] = [
        Leaf("name", op, as_value(value)),
        Leaf("default_code", op, as_value(value)),
    ]
    if op == "in":
        if not isinstance(value, tuple):
            raise CompileError(f"product.product name search in {value!r}")
        parts.append(Leaf("barcode", "in", as_value(value)))
        for item in value:
            if isinstance(item, str) and (m := re.search(r"(\[(.*?)\])", item)):
                parts.append(Leaf("default_code", "=", Const(m.group(2))))
    elif op.endswith("like") and op not in NEGATIVE_OPERATORS:
        parts.append(Leaf("barcode", "in", as_value((value,))))
    return conjoin(*parts) if op in NEGATIVE_OPERATORS else disjoin(*parts)


def _categories_by_name_19(default: DefaultSearch, op: str, value: Any) -> Node:
    """19.0 res.partner.category (odoo/addons/base/models/res_partner.py:175-181): a like
    operator finds the tags and their children; a negative one is NotImplemented (the
    positive search negated)."""
    if op.endswith("like") and op.startswith("not"):
        positive = NEGATION[op]
        return negate(_categories_by_name(default(positive, value), positive, value), 19)
    return _categories_by_name(default(op, value), op, value)


def _same_as_18(translation: NameSearch) -> VersionNameSearch:
    """An 18.0 translation of an override whose source is the same in that version."""
    return lambda default, op, value: translation(default(op, value), op, value)


# Overrides that test whether some record matches (`Exists`): 17.0 tests it within the
# x2many field's domain, which the translation does not see.
SEARCHES_WITHIN_DOMAIN = frozenset(
    {(17, "res.users"), (17, "res.country.state"), (17, "product.product")}
)

VERSION_NAME_SEARCHES: dict[int, dict[str, VersionNameSearch]] = {
    17: {
        "account.account": _accounts_by_name_17,
        "account.tax": _taxes_by_name_17,
        "res.country": _countries_by_name_17,
        "res.bank": _banks_by_name_17,
        "res.partner.category": _categories_by_name_17,
        "stock.picking.type": _picking_types_by_name_17,
        "res.currency.rate": _rates_by_name,
        "res.users": _users_by_name_17,
        "res.country.state": _states_by_name_17,
        "product.product": _products_by_name_17,
        # without `user_preference` (res_company.py:201), `sale_expense_all_order`
        # (sale_expense/models/sale_order.py:15) or `project_id` (project_tags.py:63) in
        # the context, the default search
        "res.company": lambda default, op, value: default(op, value),
        "sale.order": lambda default, op, value: default(op, value),
        "project.tags": lambda default, op, value: default(op, value),
    },
    19: {
        "account.account": _accounts_by_name_19,
        "res.bank": _same_as_18(_banks_by_name),  # res_bank.py:41, as in 18.0
        "res.country.state": _same_as_18(_states_by_name),  # res_country.py:241
        "res.currency.rate": _rates_by_name,
        "res.users": _users_by_name_19,
        "stock.picking.type": _picking_types_by_name_19,
        "product.product": _products_by_name_19,
        # product_template.py:585-597: its variants too, as in 18.0 (`search_product_product`
        # defaults to whether there is a value)
        "product.template": _same_as_18(_templates_by_name),
        "res.partner.category": _categories_by_name_19,
        # res_company.py:250 (`user_preference`), sale_expense/models/sale_order.py:20
        "res.company": lambda default, op, value: default(op, value),
        "sale.order": lambda default, op, value: default(op, value),
    },
}


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


def _employee_version(compiler: Compiler, model: Model, leaf: Leaf) -> Node:
    """19.0 hr.employee `version_id` (the `_inherits` link to hr.version, not stored):
    `_search_version_id` searches `current_version_id` for `any`, and `_field_to_sql` joins
    the parent through it (addons/hr/models/hr_employee.py:535-545)."""
    if leaf.op != "any":
        raise CompileError("version_id supports any (and inherited fields)", token=leaf.op)
    return Leaf("current_version_id", leaf.op, leaf.value)


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
    ("hr.employee", "version_id"): _employee_version,
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


def user_value(compiler: Compiler, path: tuple[str, ...], mapped: bool = False) -> Dynamic:
    """SQL for `user.<path>`: `.id` gives a scalar, `.ids` an array, a bare path its id(s)."""
    if path in (("id",),):
        return Dynamic("pgpolicy.planned_uid()", False, False, planned=True)
    if path in (("groups_id", "ids"),) and compiler.catalog.major < 19:
        return Dynamic("pgpolicy.planned_group_ids()", True, False, planned=True)
    names = list(path)
    uid = "SELECT pgpolicy.planned_uid()"
    if names[:2] == ["env", "companies"]:
        # `user` is `env.user.with_context({})` (ir_rule.py `_eval_context`): its
        # `env.companies` has no allowed_company_ids, so it is the user's active companies
        # (odoo/orm/environments.py:266-283 in 19.0, odoo/api.py in 17.0 and 18.0)
        model, select = compiler.catalog.model("res.company"), user_companies(compiler, uid)
        names = names[2:]
    elif names[:2] == ["env", "company"]:
        # ... and its `env.company` the user's main company (environments.py:236-243)
        model = compiler.catalog.model("res.company")
        select = f"SELECT company_id FROM public.res_users WHERE id IN ({uid})"
        names = names[2:]
    else:
        model, select = compiler.catalog.model("res.users"), uid
    suffix = names.pop() if names and names[-1] in ("id", "ids") else "id"
    scalar = None
    if mapped and names and suffix == "id" and path[-1] != "id":
        # `.mapped('field')` of a non-relational field: the list of its values
        last = compiler.field(scalar_model(compiler, model, names[:-1]), names[-1])
        if last.type in CHAR_TYPES or last.type == "selection":
            scalar = names.pop()
    if mapped and scalar is None and suffix == "id" and path[-1] != "id":
        # a recordset: Odoo cannot add it to a list nor compare a field with it as an id
        raise CompileError("mapped() of a relational field without .ids", token=".".join(path))
    for name in names:
        model, select = user_hop(compiler, model, name, select)
    if scalar is not None:
        return user_texts(compiler, model, scalar, select)
    body = f"SELECT v FROM ({select}) AS s(v) WHERE v IS NOT NULL"
    ids = compiler.ids_array(body, top=True, planned=True)
    if suffix == "ids":
        return Dynamic(ids, True, False, planned=True)
    return Dynamic(f"({ids})[1]", False, True, planned=True)


def user_companies(compiler: Compiler, users: str) -> str:
    """The active companies of the users `users` selects (`res.users._get_company_ids`)."""
    fld = compiler.field(compiler.catalog.model("res.users"), "company_ids")
    return (
        f"SELECT r.{ident(fld.column2 or '')} FROM public.{ident(fld.relation_table or '')} AS r "
        f"JOIN public.res_company AS c ON c.id = r.{ident(fld.column2 or '')} "
        f"WHERE r.{ident(fld.column1 or '')} IN ({users}) AND c.active"
    )


def all_groups_select(compiler: Compiler, users: str) -> str:
    """19.0 `res.users.all_group_ids` of the users `users` selects: their `group_ids` and,
    transitively, the groups those imply (`res.groups.all_implied_ids`,
    odoo/addons/base/models/res_users.py:447-449, res_groups.py:69-73)."""
    given = compiler.field(compiler.catalog.model("res.users"), "group_ids")
    implied = compiler.field(compiler.catalog.model("res.groups"), "implied_ids")
    seed = (
        f"SELECT {ident(given.column2 or '')} FROM public.{ident(given.relation_table or '')} "
        f"WHERE {ident(given.column1 or '')} IN ({users})"
    )
    step = (
        f"SELECT i.{ident(implied.column2 or '')} FROM public.{ident(implied.relation_table or '')}"
        f" AS i JOIN g ON i.{ident(implied.column1 or '')} = g.id"
    )
    return f"WITH RECURSIVE g(id) AS ({seed} UNION {step}) SELECT id FROM g"


def scalar_model(compiler: Compiler, model: Model, names: list[str]) -> Model:
    """The model reached from `model` through the relational fields `names` (no SQL)."""
    for name in names:
        fld = compiler.field(model, name)
        if fld.type not in RELATIONAL_TYPES:
            raise CompileError(f"user path through a {fld.type} field", token=name)
        model = compiler.comodel(fld)
    return model


def user_texts(compiler: Compiler, model: Model, name: str, select: str) -> Dynamic:
    """`<records>.mapped('<char field>')`: a list of the values, `False` for an empty one
    (`Field.mapped`), as a text[] read when the statement is planned."""
    fld = compiler.field(model, name)
    if not fld.store:
        if not fld.related:
            raise CompileError(f"user field {model.name}.{name} is not stored", token=name)
        *hops, last = fld.related.split(".")
        for hop in hops:
            model, select = user_hop(compiler, model, hop, select)
        return user_texts(compiler, model, last, select)
    if fld.translate or fld.company_dependent:
        raise CompileError(f"mapped() of the field {model.name}.{name}", token=name)
    table = f"public.{ident(compiler.table(model))}"
    # An empty value (Odoo's False) is left out: a list holding False is compared as a list
    # without it, which admits fewer rows (fail closed); rules add `+ [False]` themselves.
    values = (
        f"SELECT v FROM (SELECT nullif({ident(name)}::text, '') FROM {table} "
        f"WHERE id IN ({select})) AS s(v) WHERE v IS NOT NULL"
    )
    body = f"SELECT coalesce(array_agg(v), '{{}}') FROM ({values}) AS s(v) WHERE {CONTEXT_CHECK}"
    if compiler.inline:
        return Dynamic(f"ARRAY({values})", True, False, planned=True, kind="text")
    body = function_source(body, "text[]", planned=True)
    name = PLANNED_PREFIX + hashlib.sha256(body.encode()).hexdigest()[:16]
    function = SudoFunction(name, "text[]", body)
    compiler.functions[function.name] = function
    return Dynamic(f"{function.qualified}()", True, False, planned=True, kind="text")


def user_hop(compiler: Compiler, model: Model, name: str, select: str) -> tuple[Model, str]:
    """One attribute step on a recordset given as a SELECT of ids."""
    fld = compiler.field(model, name)
    if (model.name, name) == ("res.users", "all_group_ids") and compiler.catalog.major >= 19:
        return compiler.catalog.model("res.groups"), all_groups_select(compiler, select)
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
    compiler = Compiler(catalog, inline=inline)
    return compiler.predicate(node, compiler.model_named(model_name))
