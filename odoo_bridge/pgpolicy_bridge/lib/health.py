"""Can the database hold this connection's role to the policies at all?

Row-level security is silently off for a superuser, a BYPASSRLS role, and the owner of a
table without FORCE ROW LEVEL SECURITY. A bridge running as such a role sets contexts that
nothing reads: enforcement is void, and the bridge must say so loudly.

Not every void state is an incident: the owner role that installs and upgrades modules
owns the tables (or is a superuser) by design. So the log level depends on what the
process does (`log_lines`): ERROR when a serving process's role escapes the policies,
WARNING during an install or upgrade run (`-i`, `-u`). Relations created since the last
`pgpolicy apply` (runtime 7) admit only the system principal until it runs again: that is
a WARNING with what to do, in either case.

Works on any DB-API cursor (psycopg2 in Odoo, psycopg 3 in the tests).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol


class Cursor(Protocol):
    def execute(self, query: Any, params: Any = ...) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


ROLE_STATE = """
SELECT current_user::text, r.rolsuper, r.rolbypassrls,
       to_regnamespace('pgpolicy') IS NOT NULL,
       (SELECT count(*) FROM pg_catalog.pg_class c
         WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity)::int,
       (SELECT count(*) FROM pg_catalog.pg_policy p WHERE p.polname LIKE 'pgpolicy\\_%')::int
  FROM pg_catalog.pg_roles r WHERE r.rolname = current_user
"""
OWNED_WITHOUT_FORCE = """
SELECT c.oid::regclass::text FROM pg_catalog.pg_class c
 WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relforcerowsecurity
   AND pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
   -- a superuser "has" every role: that it owns everything adds nothing to being one
   AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
 ORDER BY 1
"""
SCHEMA_GRANT = "SELECT has_schema_privilege('pgpolicy', 'USAGE')"
RUNTIME_GRANTS = """
SELECT has_function_privilege('pgpolicy.version()', 'EXECUTE'),
       has_function_privilege(
           'pgpolicy.set_context(integer, integer[], boolean, boolean, text[], text, text)',
           'EXECUTE')
"""
RUNTIME_VERSION = "SELECT pgpolicy.version()"
PENDING_GRANT = """
SELECT to_regprocedure('pgpolicy.pending_count()') IS NOT NULL
       AND has_function_privilege('pgpolicy.pending_count()', 'EXECUTE')
"""
PENDING_COUNT = "SELECT pgpolicy.pending_count()"
RULES_CHANGED_GRANT = """
SELECT to_regprocedure('pgpolicy.odoo_rules_changed()') IS NOT NULL
       AND has_function_privilege('pgpolicy.odoo_rules_changed()', 'EXECUTE')
"""
RULES_CHANGED = "SELECT pgpolicy.odoo_rules_changed()"
APPLY_REMINDER = (
    "run `pgpolicy apply --app-role <role>` after every module install, upgrade or uninstall"
)


@dataclass(frozen=True)
class RoleHealth:
    """The database role's state, as far as enforcement is concerned."""

    role: str
    superuser: bool
    bypassrls: bool
    owned_without_force: tuple[str, ...]
    runtime_version: str | None
    can_set_context: bool
    protected_tables: int
    policies: int
    pending: int | None = None  # relations awaiting `pgpolicy apply`; None: unknown
    # Odoo's rules, access rights, models or fields changed since the last apply (runtime
    # 10); None: unknown (an older runtime, or no apply recorded yet)
    rules_changed: bool | None = None

    def void_reasons(self) -> list[str]:
        """Why the policies do not hold for this role; empty when they do."""
        reasons = []
        if self.superuser:
            reasons.append(f"role {self.role} is a superuser")
        if self.bypassrls:
            reasons.append(f"role {self.role} has BYPASSRLS")
        if self.owned_without_force:
            shown = ", ".join(self.owned_without_force[:5])
            more = len(self.owned_without_force) - 5
            reasons.append(
                f"role {self.role} owns {len(self.owned_without_force)} protected tables without "
                f"FORCE ROW LEVEL SECURITY ({shown}{f', and {more} more' if more > 0 else ''})"
            )
        if self.runtime_version is None:
            reasons.append("the pgpolicy runtime is not installed (pgpolicy init)")
        elif not self.can_set_context:
            reasons.append(
                f"role {self.role} may not call pgpolicy.set_context (pgpolicy init --app-role)"
            )
        if self.policies == 0:
            reasons.append("no pgpolicy policy is deployed (pgpolicy apply)")
        return reasons

    @property
    def enforced(self) -> bool:
        return not self.void_reasons()

    def summary(self) -> str:
        """One line for the log and the status page."""
        reasons = self.void_reasons()
        if reasons:
            return "pgpolicy enforcement is VOID: " + "; ".join(reasons)
        return (
            f"pgpolicy enforcement active for role {self.role}: runtime {self.runtime_version}, "
            f"{self.policies} policies on {self.protected_tables} tables"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "enforced": self.enforced,
            "void_reasons": self.void_reasons(),
            "superuser": self.superuser,
            "bypassrls": self.bypassrls,
            "owned_without_force": list(self.owned_without_force),
            "runtime_version": self.runtime_version,
            "protected_tables": self.protected_tables,
            "policies": self.policies,
            "pending": self.pending,
            "rules_changed": self.rules_changed,
            "summary": self.summary(),
        }


def role_health(cursor: Cursor) -> RoleHealth:
    """Read the role's state through `cursor` (read-only statements, no context needed)."""
    cursor.execute(ROLE_STATE)
    role, superuser, bypassrls, has_runtime, protected, policies = cursor.fetchone()
    cursor.execute(OWNED_WITHOUT_FORCE)
    owned = tuple(row[0] for row in cursor.fetchall())
    version, can_set, pending, changed = None, False, None, None
    if has_runtime:
        cursor.execute(SCHEMA_GRANT)
        can_read = can_set = False
        if cursor.fetchone()[0]:
            cursor.execute(RUNTIME_GRANTS)
            can_read, can_set = cursor.fetchone()
            cursor.execute(PENDING_GRANT)
            if cursor.fetchone()[0]:
                cursor.execute(PENDING_COUNT)
                pending = int(cursor.fetchone()[0])
            cursor.execute(RULES_CHANGED_GRANT)
            if cursor.fetchone()[0]:
                cursor.execute(RULES_CHANGED)
                changed = cursor.fetchone()[0]
        version = "unknown (no EXECUTE on pgpolicy.version())"
        if can_read:
            cursor.execute(RUNTIME_VERSION)
            version = cursor.fetchone()[0]
    return RoleHealth(
        role,
        bool(superuser),
        bool(bypassrls),
        owned,
        version,
        bool(can_set),
        protected,
        policies,
        pending,
        changed,
    )


def log_lines(health: RoleHealth, maintenance: bool) -> list[tuple[int, str]]:
    """What to log about `health`, with its level.

    `maintenance`: the process installs or upgrades modules (`odoo -i` / `-u`), which the
    owner role does, for whom enforcement is void by design: a WARNING. A serving process
    whose role escapes the policies is an ERROR: monitors alert on it, and only on it.
    """
    lines: list[tuple[int, str]] = []
    if health.enforced:
        lines.append((logging.INFO, health.summary()))
    elif maintenance:
        lines.append(
            (
                logging.WARNING,
                health.summary() + " (expected for the owner role while it installs or "
                "upgrades modules; serve through the app role)",
            )
        )
    else:
        lines.append((logging.ERROR, health.summary()))
    if health.pending:
        lines.append(
            (
                logging.WARNING,
                f"pgpolicy: {health.pending} relation(s) created since the last `pgpolicy "
                f"apply` admit only the system principal until it runs: {APPLY_REMINDER}",
            )
        )
    if health.rules_changed:
        lines.append(
            (
                logging.WARNING,
                "pgpolicy: Odoo's record rules, access rights, models or fields changed since "
                "the last `pgpolicy apply`, whose policies still hold until it runs again: "
                + APPLY_REMINDER,
            )
        )
    return lines
