"""Policies for the tables of the Odoo schema that are not a model's own table.

Every table an app role can reach must be protected, not only the models' tables
(`pgpolicy.compiler.rules`):

- a **many2many relation table** (`res_groups_users_rel`, ...) holds the value of the
  many2many fields stored in it (several can share one table: `res.users.groups_id` and
  its inverse `res.groups.users`). Odoo reads such a field of a record the user may read,
  filtered by the comodel's read rules (`Many2many.read` applies
  `comodel._apply_ir_rules(query, 'read')`), and changes it only by writing the record
  that owns the field (ACL write and write rules). So a row `(column1, column2)` is
  readable when some field stored in the table lets the user read it that way, and
  written (inserted, updated, deleted) only when some field lets the user write its
  `column1` record: inserting into `res_groups_users_rel` needs the right to write
  `res.users` (or `res.groups`), which only administrators of access rights have;
- a **table that maps to no model** (left over by an uninstalled module, made by hand) is
  for the system principal only (uid 1 in superuser mode: registry loading, module
  install and upgrade).

Like the models' mirrors, relation policies are lifted in superuser mode, as the ORM
reads and writes relation tables itself once it has checked access.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgpolicy.compiler.predicate import ident
from pgpolicy.compiler.rules import CONTEXT_GATE, LIFT, RuleCombiner, protected_models
from pgpolicy.compiler.spec import PolicySpec, Provenance
from pgpolicy.odoo.metadata import Catalog, Field, Model

SYSTEM = "pgpolicy.planned_system()"


@dataclass(frozen=True)
class RelationField:
    """A stored many2many field and the model owning it (the `column1` side)."""

    model: Model
    field: Field

    @property
    def label(self) -> str:
        return f"{self.model.name}.{self.field.name}"


def relation_tables(catalog: Catalog) -> dict[str, list[RelationField]]:
    """Relation table -> the stored many2many fields it holds, for tables that exist and are
    no model's own table (`project_task_user_rel` is both: the model's policies hold)."""
    model_tables = {m.table for m in catalog.models.values() if m.table is not None}
    existing = set(catalog.tables)
    relations: dict[str, list[RelationField]] = {}
    for model in sorted(catalog.models.values(), key=lambda m: m.name):
        if model.table is None:
            continue
        for fld in sorted(model.fields.values(), key=lambda f: f.name):
            rel = fld.relation_table
            if fld.type != "many2many" or not fld.store or not (rel and fld.column1):
                continue
            if rel in existing and rel not in model_tables:
                relations.setdefault(rel, []).append(RelationField(model, fld))
    return relations


def unmapped_tables(catalog: Catalog) -> list[str]:
    """Tables of the Odoo schema that are neither a protected model's table nor a relation
    table: inheritance parents without a model, tables no model or field names."""
    covered = {m.table for m in protected_models(catalog)} | set(relation_tables(catalog))
    return [t for t in catalog.tables if t not in covered]


@dataclass
class RelationPolicies:
    """Policies of relation tables and unmapped tables, sharing the rule combiner (and so the
    generated functions) of the model policies."""

    builder: RuleCombiner

    def spec(
        self, table: str, name: str, command: str, sql: str, provenance: Provenance
    ) -> PolicySpec:
        using = None if command == "INSERT" else sql
        check = None if command in ("SELECT", "DELETE") else sql
        return PolicySpec(table, name, command, True, self.builder.roles, using, check, provenance)

    def gate(self, table: str) -> PolicySpec:
        return PolicySpec(
            table,
            "pgpolicy_context",
            "ALL",
            False,
            self.builder.roles,
            CONTEXT_GATE,
            CONTEXT_GATE,
            Provenance("context"),
        )

    def relation(self, table: str, fields: list[RelationField]) -> list[PolicySpec]:
        """The context gate, then one permissive policy per command: read as some field lets
        the user read the row, write as some field lets the user write its owner."""
        reads = [self.read_sql(table, f) for f in fields]
        writes = [self.write_sql(table, f) for f in fields]
        read = f"{LIFT} OR " + " OR ".join(f"({r})" for r in reads)
        write = f"{LIFT} OR " + " OR ".join(f"({w})" for w in writes)
        policies = [self.gate(table)]
        for mode, command, sql in (
            ("read", "SELECT", read),
            ("create", "INSERT", write),
            ("write", "UPDATE", write),
            ("unlink", "DELETE", write),
        ):
            provenance = Provenance("relation", mode)
            policies.append(self.spec(table, f"pgpolicy_{mode}_relation", command, sql, provenance))
        return policies

    def read_sql(self, table: str, rel: RelationField) -> str:
        """The owner record is readable (its table's own SELECT policies, applied to the
        sub-select as the querying role: ACL, rules, profiles) and the other side passes
        the comodel's read rules (as superuser, like Odoo's `_apply_ir_rules`)."""
        fld, owner = rel.field, rel.model
        assert owner.table is not None and fld.column1
        column1 = f"{ident(table)}.{ident(fld.column1)}"
        terms = [f"EXISTS (SELECT FROM public.{ident(owner.table)} AS o WHERE o.id = {column1})"]
        comodel = self.builder.catalog.models.get(fld.relation or "")
        if comodel is not None and comodel.table is not None and fld.column2:
            column2 = f"{ident(table)}.{ident(fld.column2)}"
            rules = self.rules_in(comodel, "read", column2)
            if rules is not None:
                terms.append(rules)
        return " AND ".join(terms)

    def write_sql(self, table: str, rel: RelationField) -> str:
        """The user may write the owner record: the owning model's write right and rules."""
        fld, owner = rel.field, rel.model
        assert fld.column1
        column1 = f"{ident(table)}.{ident(fld.column1)}"
        acl = self.builder.acl_sql(owner, "write")
        terms = [f"({acl})"] if acl is not None else []
        rules = self.rules_in(owner, "write", column1)
        if rules is not None:
            terms.append(rules)
        return " AND ".join(terms) or "true"

    def rules_in(self, model: Model, mode: str, column: str) -> str | None:
        """`column` is the id of a record of `model` its rules of `mode` admit (computed as
        superuser once per statement); None when no rule restricts `model`."""
        combined = self.builder.combined_sql(model, mode)
        if combined is None:
            return None
        assert model.table is not None
        table = ident(model.table)
        body = f"SELECT {table}.id FROM public.{table} WHERE {combined}"
        # relation policies are permissive: the ids may be read through a view
        compiler = self.builder.compiler
        compiler.views = True
        try:
            ids = compiler.ids_array(body, top=True)
        finally:
            compiler.views = False
        self.builder.functions.update(compiler.functions)
        return f"{column} = ANY(({ids})::integer[])"

    def system_only(self, table: str) -> list[PolicySpec]:
        """A table no model maps: the system principal alone reads and writes it."""
        return [
            self.gate(table),
            PolicySpec(
                table,
                "pgpolicy_system",
                "ALL",
                True,
                self.builder.roles,
                SYSTEM,
                SYSTEM,
                Provenance("system"),
            ),
        ]
