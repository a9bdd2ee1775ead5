"""Alembic glue: policy changes as migration operations, and autogenerate that sees drift.

Importing this package registers the operations a revision file calls:

    op.create_policy(table, name, command, permissive, roles, using, check, provenance=...)
    op.drop_policy(table, name)
    op.replace_policy(table, name, old=Policy(...), new=Policy(...))
    op.enable_rls(table, force=False)      op.disable_rls(table, force=False)
    op.force_rls(table)                    op.no_force_rls(table)
    op.create_sudo_schema(roles)           op.drop_sudo_schema()
    op.create_sudo_function(name, body, roles, replaces=None)
    op.drop_sudo_function(name)

Each operation is data with a `reverse()`, carrying what is needed to undo it
(a dropped policy carries its definition and its comment), and runs exactly
the statements `pgpolicy.deploy.ddl` composes: online through the connection's
driver, offline (`alembic upgrade --sql`) written out verbatim. Going through
SQLAlchemy's `text()` would read `:name` in a policy as a bind parameter and
double every `%`.

`setup(plugin)` is the `alembic.plugins` entry point: a comparator that
diffs the policy set compiled from the database's own Odoo rules against the
deployed one (`pgpolicy.deploy.plan.diff`: provenance hash and PostgreSQL's rendering
hash, so PostgreSQL re-deparsing an expression is never a difference) and
emits these operations, so `alembic revision --autogenerate` writes them and
`alembic check` fails on drift. `register_comparator()` is the classic,
pre-1.18 registration for environments that do not list plugins.
"""

from __future__ import annotations

import contextlib
from typing import Any


def setup(plugin: Any) -> None:
    """Entry point of the `alembic.plugins` group (alembic >= 1.18): the policy comparator.

    Enable it in env.py: `context.configure(..., autogenerate_plugins=["pgpolicy"])`.
    """
    plugin.add_autogenerate_comparator(_plugin_comparator, "autogenerate")


def _plugin_comparator(autogen_context: Any, upgrade_ops: Any) -> None:
    compare_policies(autogen_context, upgrade_ops)


# `setup` is defined before alembic is imported: importing this package first imports
# alembic, whose plugin discovery loads this very package and calls `setup` at once.
from pgpolicy.alembic_plugin.compare import compare_policies, register_comparator  # noqa: E402
from pgpolicy.alembic_plugin.operations import Policy  # noqa: E402
from pgpolicy.alembic_plugin.render import register_renderers  # noqa: E402

__all__ = ["Policy", "compare_policies", "register_comparator", "setup"]

# Loaded by alembic's own plugin discovery, before its renderers exist: registered later.
with contextlib.suppress(ImportError):
    register_renderers()
