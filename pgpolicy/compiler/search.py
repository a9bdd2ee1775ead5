"""Name-search functions: a substring search that keeps its index under row-level security.

`ILIKE` is not LEAKPROOF, so under any row-level security PostgreSQL applies it after the
policies and cannot use the trigram or btree index of the searched column (bench/RESULTS.md:
a one-match name search 50-850x the hand-written WHERE). A generated function per table,
`pgpolicy_search.<table>(pattern, fields, max_rows)`, runs the search with its owner's
rights (who reads past row-level security) and applies the read predicate itself: the
table's SELECT policies as the policy set compiled them, combined as PostgreSQL combines
them (restrictive ones AND-ed, permissive ones OR-ed), in one plain WHERE clause with the
`ILIKE`, so the planner may use the index. Exact by construction: the predicate is the
policies' own text, plan-time functions and context gate included, so the function returns
the ids `SELECT id FROM <table> WHERE <fields> ILIKE pattern` returns under the policies in
the same context (no context, no rows; superuser mode lifts what the policies lift).

The searched fields are the model's name-search fields (`_rec_names_search` or
`_rec_name`, `pgpolicy.odoo.orm`) that are plain columns of the table: stored `char` or
`text`, neither translated nor company-dependent. A model with none gets no function.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pgpolicy.compiler.predicate import ident, literal
from pgpolicy.odoo import orm
from pgpolicy.odoo.metadata import Catalog, Model

if TYPE_CHECKING:  # spec holds the policy set, search functions included
    from pgpolicy.compiler.spec import PolicySpec

SEARCH_SCHEMA = "pgpolicy_search"
SEARCHABLE_TYPES = ("char", "text")
# The function's SQL signature (its arguments, without names): how DDL names it.
ARGUMENTS = "text, text[], integer"


@dataclass(frozen=True)
class SearchFunction:
    """`pgpolicy_search.<table>(pattern, fields, max_rows)`, as data."""

    table: str
    model: str
    fields: tuple[str, ...]  # the columns it may search, in the model's order
    predicate: str  # the read predicate of the table's policies, combined

    @property
    def name(self) -> str:
        return self.table

    @property
    def body(self) -> str:
        """PL/pgSQL: checks its arguments, then runs the search as dynamic SQL.

        Dynamic (`RETURN QUERY EXECUTE ... USING`) so that each call is planned with its
        arguments as constants and the context of that call folded in, as a top-level
        statement is: a cached plan would carry the plan-time values of an earlier context
        (its context gate would then admit nothing). The pattern reaches SQL only as a
        parameter; the field names only as literals compared with the arguments."""
        names = "ARRAY[" + ", ".join(literal(f) for f in self.fields) + "]::text[]"
        return (
            "DECLARE chosen text[] := coalesce(fields, " + names + "); "
            "BEGIN "
            "IF NOT chosen <@ " + names + " THEN "
            "RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = format("
            + literal(f"{SEARCH_SCHEMA}.{self.table}: fields must be among %s, got %s")
            + ", " + names + ", fields); END IF; "
            # No context: no rows, nothing read (as the policies' context gate).
            "IF pgpolicy.uid() IS NULL OR pattern IS NULL OR max_rows < 0 "
            "OR cardinality(chosen) IS NULL THEN RETURN; END IF; "
            "RETURN QUERY EXECUTE " + literal(self.query()) + " USING pattern, chosen, max_rows; "
            "END"
        )  # fmt: skip

    def query(self) -> str:
        """The search: `$1` the pattern, `$2` the fields chosen, `$3` the row limit (NULL:
        none). `$2` is a constant when the call is planned, so the terms of the fields not
        chosen fold away and what is left is the hand-written WHERE and the policies'."""
        table = ident(self.table)
        terms = " OR ".join(
            f"({literal(f)} = ANY ($2) AND {table}.{ident(f)} ILIKE $1)" for f in self.fields
        )
        return (
            f"SELECT {table}.id FROM public.{table} WHERE ({self.predicate}) AND ({terms}) LIMIT $3"
        )

    @property
    def comment(self) -> str:
        """What the Odoo bridge and auditors read: the model, the fields, a hash of the body."""
        return json.dumps(
            {
                "source": "pgpolicy",
                "model": self.model,
                "fields": list(self.fields),
                "sha256": hashlib.sha256(self.body.encode()).hexdigest(),
            },
            sort_keys=True,
        )


def read_predicate(policies: Sequence[PolicySpec]) -> str:
    """What PostgreSQL admits for SELECT on a table from its policies: every restrictive
    policy for SELECT (or ALL) AND-ed, with the OR of the permissive ones; no permissive
    policy admits nothing (PostgreSQL's default deny)."""
    reading = [p for p in policies if p.command in ("ALL", "SELECT") and p.using is not None]
    permissive = [f"({p.using})" for p in reading if p.permissive]
    restrictive = [f"({p.using})" for p in reading if not p.permissive]
    admitted = "(" + " OR ".join(permissive) + ")" if permissive else "false"
    return " AND ".join([*restrictive, admitted])


def searchable_fields(major: int, model: Model) -> tuple[str, ...]:
    """The model's name-search fields that are plain text columns of its table."""
    names = orm.default_name_fields(major, model.name) or (
        ("name",) if "name" in model.fields else ()
    )
    found = []
    for name in names:
        fld = model.fields.get(name)
        if (
            fld is not None
            and fld.store
            and fld.type in SEARCHABLE_TYPES
            and not fld.translate
            and not fld.company_dependent
        ):
            found.append(name)
    return tuple(found)


def search_functions(
    catalog: Catalog, tables: Sequence[tuple[str, str]], policies: Sequence[PolicySpec]
) -> tuple[SearchFunction, ...]:
    """One function per (table, model) of `tables` whose model has searchable fields, over
    the table's policies in `policies`."""
    by_table: dict[str, list[PolicySpec]] = {}
    for policy in policies:
        by_table.setdefault(policy.table, []).append(policy)
    functions = []
    for table, model_name in tables:
        model = catalog.models.get(model_name)
        if model is None or model.table != table or not by_table.get(table):
            continue
        fields = searchable_fields(catalog.major, model)
        if fields:
            functions.append(
                SearchFunction(table, model.name, fields, read_predicate(by_table[table]))
            )
    return tuple(functions)
