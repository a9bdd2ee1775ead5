"""pgpolicy: PostgreSQL row-level security compiled from Odoo's access rules.

The package follows the data flow, one subpackage per stage, each importing only the
stages before it (tests/test_layers.py holds it to that):

    odoo/            reading an Odoo database: metadata, domain_force text -> tree
    compiler/        tree -> SQL predicate; rules -> policy specs
    profiles/        access profiles: files, storage, checks, their policy specs
    deploy/          policy set -> plan -> DDL -> one transaction; runtime, health
    alembic_plugin/  the same changes as alembic operations, autogenerate, revisions
    audit/           explain and who-can, from the deployed policies
    demo/            the self-contained demonstration
    cli/             the `pgpolicy` command line (argument handling and output only)

The names below are the public surface, importable from the package itself; they load
their stage on first use, so `import pgpolicy` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC = {
    "PgPolicyError": "pgpolicy.errors",
    "CompileError": "pgpolicy.errors",
    "Catalog": "pgpolicy.odoo.metadata",
    "read_catalog": "pgpolicy.odoo.metadata",
    "parse_rule_domain": "pgpolicy.odoo.domain",
    "compile_domain": "pgpolicy.compiler.predicate",
    "PolicySet": "pgpolicy.compiler.spec",
    "build_policy_set": "pgpolicy.deploy.policy_set",
    "plan_for": "pgpolicy.deploy.apply",
    "apply_policy_set": "pgpolicy.deploy.apply",
}

__all__ = [
    "Catalog",
    "CompileError",
    "PgPolicyError",
    "PolicySet",
    "__version__",
    "apply_policy_set",
    "build_policy_set",
    "compile_domain",
    "parse_rule_domain",
    "plan_for",
    "read_catalog",
]

if TYPE_CHECKING:
    from pgpolicy.compiler.predicate import compile_domain
    from pgpolicy.compiler.spec import PolicySet
    from pgpolicy.deploy.apply import apply_policy_set, plan_for
    from pgpolicy.deploy.policy_set import build_policy_set
    from pgpolicy.errors import CompileError, PgPolicyError
    from pgpolicy.odoo.domain import parse_rule_domain
    from pgpolicy.odoo.metadata import Catalog, read_catalog


def __getattr__(name: str) -> Any:
    """Load a public name's stage when it is first asked for."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'pgpolicy' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
