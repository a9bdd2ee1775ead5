"""Diff the desired policy set against what is deployed: the plan a DBA reviews.

Each change says whether it opens access (a permissive policy added, a
restrictive one dropped, RLS disabled), closes it (the reverse), or changes
it (a policy replaced). Policies are compared by provenance hash (the spec
changed) and by PostgreSQL's rendering hash (drift: edited by hand).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from pgpolicy.compiler.predicate import SUDO_SCHEMA, VIEW_PREFIX
from pgpolicy.compiler.search import SEARCH_SCHEMA
from pgpolicy.compiler.spec import PolicySet, PolicySpec
from pgpolicy.deploy import ddl
from pgpolicy.deploy.catalog import Deployed, DeployedPolicy
from pgpolicy.deploy.policy_set import ANALYST_GROUP


@dataclass(frozen=True)
class Change:
    """One step of a plan, with the DDL that performs it."""

    action: str  # create, replace, drop, enable_rls, force_rls, view_invoker, create_function, ...
    table: str | None
    name: str
    access: str  # opens, closes, changes, none
    reason: str
    statements: tuple[sql.Composed, ...] = field(compare=False)
    policy: PolicySpec | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "table": self.table,
            "name": self.name,
            "access": self.access,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not self.changes

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        return counts


def _policy_access(permissive: bool, adding: bool) -> str:
    return "opens" if permissive == adding else "closes"


RENDERED_DIFFERENTLY = "drift: PostgreSQL renders it unlike the compiled rule"


def diff(
    desired: PolicySet,
    deployed: Deployed,
    force_tables: Iterable[str],
    misrendered: Collection[tuple[str, str]] = (),
) -> Plan:
    """The changes that turn `deployed` into `desired`, in the order they must run.

    `misrendered`: policies a deep check found PostgreSQL renders unlike their
    spec (`apply.rendering_drift`); they are replaced like any other drift.
    """
    functions: list[Change] = []
    if desired.functions and not deployed.sudo_schema:
        functions.append(
            Change(
                "create_schema",
                None,
                "pgpolicy_sudo",
                "none",
                "new",
                tuple(ddl.sudo_schema(roles_of(desired))),
            )
        )
    roles = roles_of(desired)
    for function in desired.functions:
        body = deployed.functions.get(function.name)
        if body != function.body:
            why = "new" if body is None else "drift: body edited by hand"
            statements = tuple(ddl.create_function(function, roles))
            functions.append(
                Change("create_function", None, function.name, "none", why, statements)
            )

    wanted = {(p.table, p.name): p for p in desired.policies}
    drops: list[Change] = []
    for key, old in sorted(deployed.policies.items()):
        if key not in wanted:
            drops.append(
                Change(
                    "drop",
                    old.table,
                    old.name,
                    _policy_access(old.permissive, adding=False),
                    "no longer desired",
                    (ddl.drop_policy(*key),),
                )
            )

    desired_tables = {t.table for t in desired.tables}
    for pending_table, name in sorted(deployed.pending_policies):
        if pending_table in desired_tables:
            drops.append(
                Change(
                    "drop",
                    pending_table,
                    name,
                    "changes",
                    "created after apply: replaced by the table's compiled policies",
                    (ddl.drop_policy(pending_table, name),),
                )
            )

    creates: list[Change] = []
    for key, spec in wanted.items():
        current = deployed.policies.get(key)
        if current is None:
            creates.append(
                Change(
                    "create",
                    spec.table,
                    spec.name,
                    _policy_access(spec.permissive, adding=True),
                    "new",
                    tuple(ddl.create_policy_only(spec)),
                    spec,
                )
            )
            continue
        reason = replace_reason(spec, current)
        if not reason and key in misrendered:
            reason = RENDERED_DIFFERENTLY
        if reason:
            statements = (ddl.drop_policy(*key), *ddl.create_policy_only(spec))
            creates.append(
                Change("replace", spec.table, spec.name, "changes", reason, statements, spec)
            )

    tables: list[Change] = []
    force = set(force_tables)
    for table in desired.tables:
        state = deployed.tables.get(table.table)
        if state is None or not state.rls_enabled:
            tables.append(
                Change(
                    "enable_rls",
                    table.table,
                    table.table,
                    "closes",
                    "row level security is off",
                    (ddl.enable_rls(table.table, False)[0],),
                )
            )
        if table.table in force and (state is None or not state.rls_forced):
            tables.append(
                Change(
                    "force_rls",
                    table.table,
                    table.table,
                    "closes",
                    "an app role owns the table: RLS must be forced",
                    (ddl.enable_rls(table.table, True)[1],),
                )
            )

    views = [
        Change(
            "view_invoker",
            view,
            view,
            "closes",
            "the view runs with its owner's rights, past row level security",
            (ddl.view_invoker(view, True),),
        )
        for view in desired.views
        if deployed.views is not None and deployed.views.get(view) is False
    ]

    used = {f.name for f in desired.functions}
    stale = [
        Change("drop_function", None, name, "none", "no longer used", (ddl.drop_function(name),))
        for name in callers_first(
            {name: body for name, body in deployed.functions.items() if name not in used}
        )
    ]
    stamp = [c.policy for c in creates if c.policy is not None]
    stamps = (
        [
            Change(
                "comment",
                None,
                f"{len(stamp)} policies",
                "none",
                "provenance",
                (ddl.stamp_policies(stamp),),
            )
        ]
        if stamp
        else []
    )
    released = sorted(
        {table for table, _ in deployed.policies} - desired_tables - deployed.foreign_policy_tables
    )
    for name in released:
        state = deployed.tables.get(name)
        if state is not None and state.rls_enabled:
            tables.append(
                Change(
                    "disable_rls",
                    name,
                    name,
                    "opens",
                    "no pgpolicy policy left",
                    tuple(ddl.disable_rls(name)),
                )
            )
    if deployed.sudo_schema and not desired.functions:
        stale.append(
            Change(
                "drop_schema",
                None,
                SUDO_SCHEMA,
                "none",
                "no generated function left",
                (ddl.drop_sudo_schema(),),
            )
        )
    searches = search_changes(desired, deployed)
    return Plan(tuple(functions + drops + creates + stamps + tables + views + searches + stale))


def search_changes(desired: PolicySet, deployed: Deployed) -> list[Change]:
    """Create, replace or drop the name-search functions (`compiler.search`): after the
    policies and generated functions they repeat and call, before stale ones are dropped."""
    changes: list[Change] = []
    current = deployed.searches
    roles = tuple(r for r in roles_of(desired) if r != ANALYST_GROUP)
    if desired.searches and current is None:
        statements = tuple(ddl.search_schema(roles))
        changes.append(
            Change("create_search_schema", None, SEARCH_SCHEMA, "none", "new", statements)
        )
    for function in desired.searches:
        body = (current or {}).get(function.name)
        if body != function.body:
            why = "new" if body is None else "source changed or body edited by hand"
            statements = tuple(ddl.create_search_function(function, roles))
            changes.append(
                Change("create_search", function.table, function.name, "none", why, statements)
            )
    wanted = {f.name for f in desired.searches}
    for name in sorted(set(current or {}) - wanted):
        statements = (ddl.drop_search_function(name),)
        changes.append(Change("drop_search", None, name, "none", "no longer used", statements))
    if current is not None and not desired.searches:
        why = "no search function left"
        statements = (ddl.drop_search_schema(),)
        changes.append(Change("drop_search_schema", None, SEARCH_SCHEMA, "none", why, statements))
    return changes


def callers_first(bodies: dict[str, str]) -> list[str]:
    """Function names, each before the functions its body calls (else by name).

    A generated function may call another (the ids of an `_inherits` parent's or a
    relation owner's rules): dropped callers first, a downgrade creating them again in
    reverse order creates the called function before the SQL body that needs it.
    """
    ordered: list[str] = []
    # Views first: a view depends on the functions it calls (PostgreSQL refuses to drop
    # them before it), even one whose source is unknown (edited by hand: body '').
    for group in (
        sorted(n for n in bodies if n.startswith(VIEW_PREFIX)),
        sorted(n for n in bodies if not n.startswith(VIEW_PREFIX)),
    ):
        left = group
        while left:
            called = {n for n in left for other in left if other != n and n in bodies[other]}
            free = [n for n in left if n not in called] or left[:1]
            ordered.extend(free)
            left = [n for n in left if n not in free]
    return ordered


def replace_reason(spec: PolicySpec, current: DeployedPolicy) -> str | None:
    """Why a deployed policy must be recreated, or None if it is what we want."""
    provenance = current.provenance or {}
    if provenance.get("sha256") != spec.sha256:
        return "source changed" if provenance else "no pgpolicy provenance"
    if current.drifted:
        return "drift: edited by hand"
    return None


def roles_of(policy_set: PolicySet) -> tuple[str, ...]:
    roles: set[str] = set()
    for policy in policy_set.policies:
        roles.update(policy.roles)
    return tuple(sorted(roles))
