"""Compile access profiles into one RESTRICTIVE policy per table and command.

For user U, model M and mode m (docs/profiles.md):
  allowed = Odoo(U, M, m)  AND  ( no profile restricting M applies to U
                                  OR  OR(domain of each such profile that is in force) )

A profile restricts M when it lists M (or `*`, or has `deny_by_default`). It applies
to U when U is a member and the current company is one of its companies; it is in
force when now() is inside its window and the session enabled it. Membership, window,
companies and the enabled subset are data, read when the statement is planned
(`pgpolicy.planned_in_profiles`, `pgpolicy.planned_profile_in_force`, folded to
constants like `planned_in_groups`), so what remains of the policy is the user's own
profile domains. Strict profiles are gates: superuser mode lifts only the others; the
system principal lifts all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pgpolicy.compiler.predicate import Predicate, ident, literal
from pgpolicy.compiler.rules import RuleCombiner
from pgpolicy.compiler.spec import COMMANDS, PolicySpec, Provenance
from pgpolicy.errors import CompileError, RuleRef
from pgpolicy.odoo.domain import parse_rule_domain
from pgpolicy.odoo.metadata import MODES, Catalog, Model
from pgpolicy.profiles.model import ANY_MODEL, FILE_MODES, Access, Profile

FILE_MODE = {mode: name for name, mode in FILE_MODES.items()}


def names_literal(names: Sequence[str]) -> str:
    """A text[] literal of profile names (validated: letters, digits, '_' and '-')."""
    return "'{" + ",".join(sorted(names)) + "}'::text[]"


def profile_sql(combiner: RuleCombiner, profile: Profile, model: Model, mode: str) -> str:
    """The profile's condition on (model, mode): its domain, or false when it cannot compile."""
    access = profile.access(model.name)
    assert access is not None
    value: Access = access.mode(mode)
    if value is True:
        return "true"
    if value is False:
        return "false"
    try:
        predicate: Predicate = combiner.compiler.predicate(
            parse_rule_domain(value, placeholders=True), model
        )
    except CompileError as exc:
        where = f"model {model.name}, {FILE_MODE[mode]}"
        error = CompileError(
            exc.reason, rule=RuleRef("profile", profile.name), position=where, token=exc.token
        )
        combiner.errors.append(error)
        return "false"  # fail closed: the profile grants nothing there
    combiner.functions.update({f.name: f for f in predicate.functions})
    return predicate.sql


def mode_policy(
    combiner: RuleCombiner, model: Model, mode: str, profiles: Sequence[Profile]
) -> PolicySpec | None:
    """The RESTRICTIVE policy of the profiles restricting (model, mode), if any."""
    restricting = [p for p in profiles if p.access(model.name) is not None]
    if not restricting:
        return None
    strict = [p.name for p in restricting if p.strict]
    applies = (
        f"pgpolicy.planned_in_profiles(CASE WHEN pgpolicy.planned_su() "
        f"THEN {names_literal(strict)} ELSE {names_literal([p.name for p in restricting])} END)"
    )
    terms = ["pgpolicy.planned_system()", f"NOT {applies}"]
    for profile in sorted(restricting, key=lambda p: p.name):
        sql = profile_sql(combiner, profile, model, mode)
        if sql == "false":
            continue
        lifted = "" if profile.strict else "NOT pgpolicy.planned_su() AND "
        in_force = f"pgpolicy.planned_profile_in_force({literal(profile.name)})"
        terms.append(f"({lifted}{in_force} AND {sql})")
    provenance = Provenance("profile", mode, profiles=tuple(sorted(p.name for p in restricting)))
    return combiner.policy(
        model, f"pgpolicy_{mode}_profiles", COMMANDS[mode], False, " OR ".join(terms), provenance
    )


def lock_policy(
    combiner: RuleCombiner, model: Model, profiles: Sequence[Profile]
) -> PolicySpec | None:
    """RESTRICTIVE on UPDATE: members may not change the fields their profiles lock.

    One term per (profile, field); for anyone the profile does not apply to, the planner
    folds the term to true, so only members pay for the comparison with the old row.
    Superuser mode lifts the locks of profiles that are not strict; the system principal
    lifts all. Several profiles locking or not: any applying profile that locks a field
    locks it.
    """
    assert model.table is not None
    table = ident(model.table)
    terms: list[str] = []
    locking: list[str] = []
    for profile in sorted(profiles, key=lambda p: p.name):
        access = profile.access(model.name)
        if access is None or not access.locked_fields:
            continue
        names = access.locked_fields
        if access.model == ANY_MODEL:  # `*`: wherever the field exists
            names = tuple(n for n in names if n in model.fields)
            if not names:
                continue
        locking.append(profile.name)
        lifted = "pgpolicy.planned_system()" if profile.strict else "pgpolicy.planned_su()"
        applies = f"pgpolicy.planned_in_profiles({names_literal([profile.name])})"
        for name in names:
            fld = model.fields.get(name)
            if fld is None or not fld.store or fld.type in ("one2many", "many2many"):
                combiner.errors.append(
                    CompileError(
                        f"cannot lock {model.name}.{name}: not a stored column",
                        rule=RuleRef("profile", profile.name),
                    )
                )
                check = "false"  # fail closed: members may not update the table at all
            else:
                check = (
                    # the table named with its schema: the policy is parsed with search_path
                    # pinned to pg_catalog (pgpolicy.db)
                    f"pgpolicy.check_locked({literal('public.' + ident(model.table))}::regclass, "
                    f"{literal(name)}, "
                    f"{table}.id, {table}.{ident(name)}, {literal(profile.name)}, "
                    f"{literal(model.name)})"
                )
            terms.append(f"({lifted} OR NOT {applies} OR {check})")
    if not terms:
        return None
    provenance = Provenance("lock", "write", profiles=tuple(locking))
    return PolicySpec(
        model.table,
        "pgpolicy_write_locks",
        "UPDATE",
        False,
        combiner.roles,
        "true",
        " AND ".join(terms),
        provenance,
    )


def profile_policies(
    combiner: RuleCombiner, model: Model, profiles: Sequence[Profile]
) -> list[PolicySpec]:
    """The profile policies of one protected table (none when no profile restricts it)."""
    policies = []
    lock = lock_policy(combiner, model, profiles)
    if lock is not None:
        policies.append(lock)
    own_writes = combiner.own_writes(model)
    for mode in MODES:
        policy = mode_policy(combiner, model, mode, profiles)
        if policy is None:
            continue
        if mode == "read" and own_writes:
            policy = replace(policy, using=f"{policy.using} OR {own_writes}")
        policies.append(policy)
    return policies


def unknown_models(catalog: Catalog, profiles: Sequence[Profile]) -> list[CompileError]:
    """Models a profile lists that the database does not have (they restrict nothing)."""
    errors = []
    for profile in profiles:
        for entry in profile.models:
            if entry.model != ANY_MODEL and entry.model not in catalog.models:
                errors.append(
                    CompileError(
                        f"unknown model {entry.model}: the entry restricts nothing",
                        rule=RuleRef("profile", profile.name),
                    )
                )
    return errors
