"""The former name of `pgpolicy.alembic_plugin`, kept for what was written with it: revision
files (`from pgpolicy.migrations import Policy`) and env.py files that call
`pgpolicy.migrations.register_comparator()`."""

from pgpolicy.alembic_plugin import Policy, register_comparator, setup

__all__ = ["Policy", "register_comparator", "setup"]
