"""Combine compiled rules into the policy set that makes PostgreSQL allow what Odoo allows.

Odoo, for user U, model M and mode m (odoo-semantics §1.3, §2):
  ACL(U, M, m)  AND  [ su  OR  AND(global rules)  AND  AND(_inherits parents' rules)
                       AND  (no group rule applies to U  OR  OR(group rules of U's groups)) ]

In PostgreSQL, per table and command:
- one RESTRICTIVE policy per global rule, per `_inherits` link and for the ACL;
- one PERMISSIVE policy per group rule, guarded by `planned_in_groups(<its groups>)`,
  plus one PERMISSIVE policy "no group rule applies" — PostgreSQL ORs permissive
  policies and ANDs restrictive ones, which is exactly Odoo's combination;
- a RESTRICTIVE context gate shared by all commands.

Group membership, superuser mode and every context value a rule reads are decided
when the statement is planned (`planned_*` functions, folded to constants by the
planner) so that what is left is the user's own indexable predicate; the context
gate re-checks, when the statement runs, that the context is the one planned for.
Mirrors of Odoo's rules and access rights are lifted in superuser mode, as the ORM
lifts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from pgpolicy.compiler.predicate import Compiler, SudoFunction, ident
from pgpolicy.compiler.spec import COMMANDS, PolicySpec, Provenance, RuleCheck
from pgpolicy.errors import CompileError, RuleRef
from pgpolicy.odoo.domain import parse_rule_domain
from pgpolicy.odoo.metadata import MODES, Catalog, Model, Rule

LIFT = "pgpolicy.planned_su()"
# Shadow mode (set by the bridge, read at plan time): a mirror that would deny a row
# reports it instead. Folded away when off, so plans are those of enforcement.
SHADOW = "pgpolicy.planned_shadow()"
SHADOWED_KINDS = ("acl", "rule", "inherits")
# The context the statement runs under (read once when it runs, in an InitPlan) is the one
# every plan-time function folded into its plan (a constant). IS NOT NULL rather than `=`
# keeps the planner's row estimates those of the user's predicate: see sql/runtime.sql.
CONTEXT_GATE = (
    "((SELECT true WHERE pgpolicy.context_key() = pgpolicy.planned_context_key()) IS NOT NULL)"
)


@dataclass
class RuleCombiner:
    """Compiles rules once each and combines them per (model, mode)."""

    catalog: Catalog
    roles: tuple[str, ...] = ()
    inline: bool = False  # subqueries in place (for readers that bypass RLS)
    user_groups: frozenset[int] | None = None  # decide group guards now, for one user
    # rules whose compiled predicate PostgreSQL refused (`pgpolicy.deploy.validate`): id →
    # the server's message; they fail closed like a rule that does not compile
    rejected: Mapping[int, str] = field(default_factory=dict)
    compiler: Compiler = field(init=False)
    functions: dict[str, SudoFunction] = field(default_factory=dict)
    errors: list[CompileError] = field(default_factory=list)
    checks: list[RuleCheck] = field(default_factory=list)
    _compiled: dict[int, str | CompileError] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.compiler = Compiler(self.catalog, inline=self.inline)

    def rule_sql(self, rule: Rule, model: Model) -> str | CompileError:
        """The rule's predicate (cached), or the reason it cannot be compiled."""
        if rule.id not in self._compiled:
            ref = RuleRef("ir.rule", rule.id, rule.xml_id)
            try:
                if rule.id in self.rejected:
                    raise CompileError(
                        f"PostgreSQL rejects its compiled predicate: {self.rejected[rule.id]}"
                    )
                # a group rule is a permissive policy: its ids may be read through views
                self.compiler.views = not rule.is_global
                try:
                    predicate = self.compiler.predicate(
                        parse_rule_domain(rule.domain, odoo_major=self.catalog.major), model
                    )
                finally:
                    self.compiler.views = False
            except CompileError as exc:
                error = exc.with_rule(ref)
                self.errors.append(error)
                self._compiled[rule.id] = error
            except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
                # a construct the compiler did not foresee: fail closed for this rule only
                error = CompileError(
                    f"internal error ({type(exc).__name__}: {exc})", rule=ref, token=rule.domain
                )
                self.errors.append(error)
                self._compiled[rule.id] = error
            else:
                self.functions.update({f.name: f for f in predicate.functions})
                self._compiled[rule.id] = predicate.sql
                assert model.table is not None
                names = tuple(f.name for f in predicate.functions)
                self.checks.append(RuleCheck(rule.id, model.table, predicate.sql, names))
        return self._compiled[rule.id]

    def policy(
        self,
        model: Model,
        name: str,
        command: str,
        permissive: bool,
        sql: str,
        provenance: Provenance,
    ) -> PolicySpec:
        assert model.table is not None
        using = None if command == "INSERT" else sql
        check = sql if command == "INSERT" else ("true" if command == "UPDATE" else None)
        if command == "ALL":
            check = sql
        return PolicySpec(
            model.table, name, command, permissive, self.roles, using, check, provenance
        )

    # -- per table -----------------------------------------------------------
    def own_writes(self, model: Model) -> str | None:
        """Rows this user created or wrote in this transaction, for write statements only.

        PostgreSQL checks SELECT policies on the new row of `UPDATE ... WHERE` and of
        `INSERT ... RETURNING`; Odoo checks write rules on the old row only and never
        requires read access to what it just wrote (odoo-semantics §7). Odoo stamps
        every create and write with `write_uid` and `write_date = now() at time zone
        'UTC'`, so such rows stay visible to the statement writing them.
        `planned_write()` is decided when the statement is planned: read queries
        never carry this term, and keep their indexable plans.
        """
        stamps = [model.fields.get("write_uid"), model.fields.get("write_date")]
        if not all(f is not None and f.store for f in stamps):
            return None
        table = ident(self.compiler.table(model))
        return (
            f"(pgpolicy.planned_write() AND {table}.write_uid = pgpolicy.planned_uid() "
            f"AND {table}.write_date = (now() AT TIME ZONE 'UTC'))"
        )

    def table_policies(self, model: Model) -> list[PolicySpec]:
        policies = [
            self.policy(
                model, "pgpolicy_context", "ALL", False, CONTEXT_GATE, Provenance("context")
            )
        ]
        own_writes = self.own_writes(model)
        for mode in MODES:
            of_mode = []
            for policy in self.mode_policies(model, mode):
                if mode == "read" and own_writes and not policy.permissive:
                    policy = replace(policy, using=f"{policy.using} OR {own_writes}")
                of_mode.append(self.shadowed(model, policy))
            if mode == "read" and own_writes:
                of_mode.append(
                    self.policy(
                        model,
                        "pgpolicy_read_own_write",
                        "SELECT",
                        True,
                        own_writes,
                        Provenance("own_write", mode),
                    )
                )
            policies.extend(of_mode)
            shadow = self.shadow_policy(model, mode, [p for p in of_mode if p.permissive])
            if shadow is not None:
                policies.append(shadow)
        return policies

    def shared_table_policies(self, model: Model) -> list[PolicySpec]:
        """Another model's table (`ir.actions.act_window_close` shares `ir_actions` with
        `ir.actions.actions`): its access rights and rules AND-ed onto the table's policies,
        one restrictive policy per command, so that a row is admitted only as every model
        of the table admits it."""
        own_writes = self.own_writes(model)
        policies = []
        for mode in MODES:
            sql = self.effective_sql(model, mode)
            if mode == "read" and own_writes:
                sql = f"{sql} OR {own_writes}"
            name = f"pgpolicy_{mode}_also_{model.name.replace('.', '_')}"[:63]
            provenance = Provenance("shared_table", mode)
            policies.append(self.policy(model, name, COMMANDS[mode], False, sql, provenance))
        return policies

    def shadow_policy(
        self, model: Model, mode: str, permissive: list[PolicySpec]
    ) -> PolicySpec | None:
        """In shadow mode, the permissive policy that admits and reports a row no group rule
        admits; None when the command has no group rules (then everything is permissive).

        PostgreSQL ORs permissive policies in no particular order, so it repeats the others
        (negated): planned away with the rest when shadow mode is off.
        """
        groups = [p for p in permissive if p.provenance.kind == "no_group_rule"]
        if not groups:
            return None
        name = f"pgpolicy_{mode}_shadow"
        command = COMMANDS[mode]
        others = [(p.check if command == "INSERT" else p.using) or "false" for p in permissive]
        admitted = " OR ".join(f"({o})" for o in others)
        report = self.shadow_report(model, name, groups[0].provenance.rule_ids)
        sql = f"({SHADOW} AND NOT coalesce({admitted}, false) AND {report})"
        provenance = Provenance("shadow", mode, groups[0].provenance.rule_ids)
        return self.policy(model, name, command, True, sql, provenance)

    def shadow_report(self, model: Model, name: str, source_ids: Iterable[int]) -> str:
        """In shadow mode: report the row this policy would deny, and admit it."""
        assert name.replace("_", "").isalnum() and name.isascii(), name
        table = ident(self.compiler.table(model))
        return (
            f"({SHADOW} AND pgpolicy.shadow_denied('{model.table}', '{name}', "
            f"{groups_literal(source_ids)}, {table}.id))"
        )

    def shadowed(self, model: Model, policy: PolicySpec) -> PolicySpec:
        """A restrictive mirror with its shadow-mode report as the last alternative.

        Evaluated only when everything before it is false (PostgreSQL evaluates OR
        from left to right and stops at the first true).
        """
        if policy.permissive or policy.provenance.kind not in SHADOWED_KINDS:
            return policy
        report = self.shadow_report(model, policy.name, policy.provenance.rule_ids)
        if policy.command == "INSERT":
            return replace(policy, check=f"{policy.check} OR {report}")
        return replace(policy, using=f"{policy.using} OR {report}")

    def mode_policies(self, model: Model, mode: str) -> Iterable[PolicySpec]:
        command = COMMANDS[mode]
        acl = self.acl_sql(model, mode)
        if acl is not None:
            rows = [a for a in self.catalog.access if a.model == model.name and a.active]
            yield self.policy(
                model,
                f"pgpolicy_{mode}_acl",
                command,
                False,
                acl,
                Provenance(
                    "acl",
                    mode,
                    tuple(a.id for a in rows if mode in a.modes),
                    tuple(a.xml_id for a in rows if mode in a.modes and a.xml_id),
                ),
            )
        for parent, link in sorted(model.inherits.items()):
            parent_sql = self.parent_sql(model, parent, link, mode)
            if parent_sql is not None:
                yield self.policy(
                    model,
                    f"pgpolicy_{mode}_inherits_{link}"[:63],
                    command,
                    False,
                    f"{LIFT} OR {parent_sql}",
                    Provenance("inherits", mode),
                )
        rules = self.rules(model, mode)
        group_rules = [r for r in rules if not r.is_global]
        for rule in rules:
            yield self.rule_policy(model, rule, mode, command)
        if group_rules:
            all_groups = sorted({g for r in group_rules for g in r.group_ids})
            yield self.policy(
                model,
                f"pgpolicy_{mode}_no_group_rule",
                command,
                True,
                f"{LIFT} OR NOT {self.member_of(all_groups)}",
                Provenance("no_group_rule", mode, tuple(r.id for r in group_rules)),
            )

        else:
            yield self.policy(
                model, f"pgpolicy_{mode}_allow", command, True, "true", Provenance("allow", mode)
            )

    def rules(self, model: Model, mode: str) -> list[Rule]:
        return [
            r for r in self.catalog.rules if r.model == model.name and r.active and mode in r.modes
        ]

    def rule_policy(self, model: Model, rule: Rule, mode: str, command: str) -> PolicySpec:
        sql = self.rule_sql(rule, model)
        xml_ids = (rule.xml_id,) if rule.xml_id else ()
        error = str(sql) if isinstance(sql, CompileError) else None
        provenance = Provenance("rule", mode, (rule.id,), xml_ids, error)
        name = f"pgpolicy_{mode}_rule_{rule.id}"
        guard = self.member_of(rule.group_ids)
        if isinstance(sql, CompileError):
            # Fail closed: deny whoever the rule applies to, as a restrictive policy.
            deny = LIFT if rule.is_global else f"{LIFT} OR NOT {guard}"
            return self.policy(model, name, command, False, deny, provenance)
        if rule.is_global:
            return self.policy(model, name, command, False, f"{LIFT} OR {sql}", provenance)
        return self.policy(model, name, command, True, f"{LIFT} OR ({guard} AND {sql})", provenance)

    def member_of(self, group_ids: Iterable[int]) -> str:
        """Whether the current user is in any of the groups, decided at plan time (from 19.0
        through the generated function of the user's groups and the groups they imply)."""
        guard = self.compiler.member_of(groups_literal(group_ids))
        self.functions.update(self.compiler.functions)
        return guard

    def in_groups(self, group_ids: Iterable[int]) -> str:
        """Membership guard: decided at plan time, or now when the user's groups are given."""
        if self.user_groups is None:
            return self.member_of(group_ids)
        return "true" if self.user_groups & set(group_ids) else "false"

    def effective_sql(self, model: Model, mode: str) -> str:
        """ACL and rules of (model, mode) as one condition (for one user when groups are given)."""
        acl = self.acl_sql(model, mode) or "true"
        rules = self.combined_sql(model, mode) or "true"
        if self.user_groups is not None:
            return rules if acl == "true" else "false"
        return f"(({acl}) AND ({LIFT} OR {rules}))"

    def acl_sql(self, model: Model, mode: str) -> str | None:
        """None when everybody has the right; else who has it (folded at plan time)."""
        rows = [
            a for a in self.catalog.access if a.model == model.name and a.active and mode in a.modes
        ]
        if any(a.group_id is None for a in rows):
            return None
        groups = sorted({a.group_id for a in rows if a.group_id is not None})
        if self.user_groups is not None:
            return "true" if self.in_groups(groups) == "true" else "false"
        if not groups:
            return LIFT
        return f"{LIFT} OR {self.in_groups(groups)}"

    # -- _inherits parents -------------------------------------------------
    def parent_sql(self, model: Model, parent_name: str, link: str, mode: str) -> str | None:
        """`link any <parent's combined domain>`, or None when the parent has no rules.

        19.0 skips a parent whose link field is not stored (hr.employee's `version_id`,
        odoo/addons/base/models/ir_rule.py:145-146)."""
        parent = self.catalog.models.get(parent_name)
        if parent is None or parent.table is None:
            return None
        linked = model.fields.get(link)
        if self.catalog.major >= 19 and linked is not None and not linked.store:
            return None
        combined = self.combined_sql(parent, mode)
        if combined is None:
            return None
        table = ident(parent.table)
        body = f"SELECT {table}.id FROM public.{table} WHERE {combined}"
        ids = self.compiler.ids_array(body, top=True)
        self.functions.update(self.compiler.functions)
        return f"{ident(link)} = ANY(({ids})::integer[])"

    def combined_sql(self, model: Model, mode: str) -> str | None:
        """Odoo's `_compute_domain` for (model, mode) as one SQL condition, groups at run time."""
        parts: list[str] = []
        for parent, link in sorted(model.inherits.items()):
            parent_sql = self.parent_sql(model, parent, link, mode)
            if parent_sql is not None:
                parts.append(parent_sql)
        rules = self.rules(model, mode)
        if not rules and not parts:
            return None
        group_terms: list[str] = []
        for rule in rules:
            sql = self.rule_sql(rule, model)
            if isinstance(sql, CompileError):
                sql = "false"
            if rule.is_global:
                parts.append(sql)
                continue
            guard = self.in_groups(rule.group_ids)
            if guard == "true":
                group_terms.append(sql)
            elif guard != "false":
                group_terms.append(f"({guard} AND {sql})")
        all_groups = sorted({g for r in rules for g in r.group_ids})
        if self.user_groups is None and group_terms:
            group_terms.append(f"NOT {self.in_groups(all_groups)}")
        if group_terms:
            parts.append("(" + " OR ".join(group_terms) + ")")
        return "(" + " AND ".join(parts) + ")" if parts else "true"


def groups_literal(group_ids: Iterable[int]) -> str:
    return "'{" + ",".join(str(g) for g in sorted(group_ids)) + "}'::integer[]"


def protected_models(catalog: Catalog) -> list[Model]:
    """Models with a table. One without any access right is denied to everyone but
    superuser mode (Odoo: no `ir.model.access` row, no access), like an access right no
    group of the user has."""
    return [catalog.models[n] for n in sorted(catalog.models) if catalog.models[n].table]
