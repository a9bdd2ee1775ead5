"""The desired policy set of a database: its Odoo rules and access rights, compiled
(`pgpolicy.compiler.rules`), and its access profiles (`pgpolicy.profiles.policy`)."""

from __future__ import annotations

from collections.abc import Sequence

from pgpolicy.compiler.rules import RuleCombiner, protected_models
from pgpolicy.compiler.spec import PolicySet, PolicySpec, TableSpec
from pgpolicy.odoo.metadata import Catalog
from pgpolicy.profiles.model import Profile
from pgpolicy.profiles.policy import profile_policies, unknown_models


def build_policy_set(
    catalog: Catalog, roles: Sequence[str], profiles: Sequence[Profile] = ()
) -> PolicySet:
    """The desired policy set for every protected table of the catalog, access profiles
    included (`pgpolicy.profiles.policy`)."""
    builder = RuleCombiner(catalog, tuple(roles))
    builder.errors.extend(unknown_models(catalog, profiles))
    tables: list[TableSpec] = []
    policies: list[PolicySpec] = []
    for model in protected_models(catalog):
        assert model.table is not None
        tables.append(TableSpec(model.table, model.name))
        policies.extend(builder.table_policies(model))
        policies.extend(profile_policies(builder, model, profiles))
    return PolicySet(
        tuple(tables), tuple(policies), tuple(builder.functions.values()), tuple(builder.errors)
    )
