"""The desired policy set of a database: its Odoo rules and access rights, compiled
(`pgpolicy.compiler.rules`), and its access profiles (`pgpolicy.profiles.policy`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from pgpolicy.compiler.relations import RelationPolicies, relation_tables, unmapped_tables
from pgpolicy.compiler.rules import RuleCombiner, protected_models
from pgpolicy.compiler.search import search_functions
from pgpolicy.compiler.spec import PolicySet, PolicySpec, TableSpec
from pgpolicy.odoo.metadata import Catalog
from pgpolicy.profiles.model import Profile
from pgpolicy.profiles.policy import profile_policies, unknown_models

# The group role of the analyst logins (runtime 9, `pgpolicy analyst add`): every policy is
# created TO it as well as TO the app roles, so that its members read under the policies.
ANALYST_GROUP = "pgpolicy_analysts"


def policy_roles(roles: Sequence[str]) -> tuple[str, ...]:
    """The roles policies are created TO: the app roles, then the analysts' group."""
    return tuple(dict.fromkeys([*roles, ANALYST_GROUP]))


def build_policy_set(
    catalog: Catalog,
    roles: Sequence[str],
    profiles: Sequence[Profile] = (),
    rejected: Mapping[int, str] | None = None,
) -> PolicySet:
    """The desired policy set for every table of the catalog: the models' tables (access
    profiles included, `pgpolicy.profiles.policy`), the many2many relation tables and the
    tables no model maps (`pgpolicy.compiler.relations`); and the views to run with the
    querying role's rights.

    `rejected`: rules whose compiled predicate PostgreSQL refused, with its message
    (`pgpolicy.deploy.validate.checked_policy_set`): they fail closed.

    Policies and generated functions are for the app roles and the analysts' group
    (`policy_roles`); the name-search functions (`compiler.search`), for the app roles only."""
    builder = RuleCombiner(catalog, policy_roles(roles), rejected=rejected or {})
    builder.errors.extend(unknown_models(catalog, profiles))
    tables: list[TableSpec] = []
    policies: list[PolicySpec] = []
    for model in protected_models(catalog):
        assert model.table is not None
        if any(t.table == model.table for t in tables):
            policies.extend(builder.shared_table_policies(model))
            continue
        tables.append(TableSpec(model.table, model.name))
        policies.extend(builder.table_policies(model))
        policies.extend(profile_policies(builder, model, profiles))
    relations = RelationPolicies(builder)
    for table, fields in sorted(relation_tables(catalog).items()):
        tables.append(TableSpec(table, ", ".join(f.label for f in fields)))
        policies.extend(relations.relation(table, fields))
    for table in unmapped_tables(catalog):
        tables.append(TableSpec(table, "", unmapped=True))
        policies.extend(relations.system_only(table))
    return PolicySet(
        tuple(tables),
        tuple(policies),
        tuple(builder.functions.values()),
        tuple(builder.errors),
        checks=tuple(builder.checks),
        views=catalog.views,
        searches=search_functions(
            catalog, [(t.table, t.model) for t in tables if not t.unmapped], policies
        ),
    )


def within_reach(
    policy_set: PolicySet,
    reachable: Collection[str],
    protected: Collection[str],
    pending: Collection[str] = (),
) -> PolicySet:
    """`policy_set` without the tables no model maps that pgpolicy does not protect yet and
    that either no app role can reach (a tool's own table, left alone until it is granted)
    or the event trigger already holds for the system principal (`pending`: its
    `pgpolicy_pending` policy says the same; alembic's version table, created by a
    revision, stays as the revision left it). A table once protected stays so."""
    left_out = {
        t.table
        for t in policy_set.tables
        if t.unmapped
        and t.table not in protected
        and (t.table not in reachable or t.table in pending)
    }
    if not left_out:
        return policy_set
    return replace(
        policy_set,
        tables=tuple(t for t in policy_set.tables if t.table not in left_out),
        policies=tuple(p for p in policy_set.policies if p.table not in left_out),
        searches=tuple(f for f in policy_set.searches if f.table not in left_out),
    )
