"""What the command line shows: policy sets as SQL or JSON, plans, and the health report.

`health` is where the tool says, loudly, when enforcement is void: an app role
that is superuser, has BYPASSRLS, or owns tables without FORCE ROW LEVEL
SECURITY is not subject to any policy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
import sqlglot
from sqlglot.errors import SqlglotError

from pgpolicy import ddl
from pgpolicy.apply import rendering_drift
from pgpolicy.catalog import read_deployed
from pgpolicy.errors import PgPolicyError
from pgpolicy.plan import Plan
from pgpolicy.policy import PolicySet


def pretty_sql(predicate: str) -> str:
    """A predicate formatted for reading (sqlglot), or as is if it cannot parse it."""
    try:
        return sqlglot.parse_one(predicate, read="postgres").sql(dialect="postgres", pretty=True)
    except SqlglotError:
        return predicate


def policy_set_sql(policy_set: PolicySet) -> str:
    """The policy set as a reviewable SQL script (comments carry provenance)."""
    roles = sorted({r for p in policy_set.policies for r in p.roles})
    lines: list[str] = []
    if policy_set.functions:
        lines += [s.as_string(None) + ";" for s in ddl.sudo_schema(roles)]
    for function in policy_set.functions:
        lines += [s.as_string(None) + ";" for s in ddl.create_function(function, roles)]
    for table in policy_set.tables:
        lines.append(ddl.enable_rls(table.table, False)[0].as_string(None) + ";")
    for policy in policy_set.policies:
        lines.append(
            f"-- {policy.provenance.kind} {policy.provenance.mode or ''} "
            f"rules {list(policy.provenance.rule_ids)}".rstrip()
        )
        lines += [s.as_string(None) + ";" for s in ddl.create_policy_only(policy)]
    for error in policy_set.errors:
        lines.append(f"-- COMPILE ERROR (access denied for it): {error}")
    return "\n".join(lines)


def policy_set_json(policy_set: PolicySet) -> dict[str, Any]:
    return {
        "tables": [asdict(t) for t in policy_set.tables],
        "policies": [{**asdict(p), "sha256": p.sha256} for p in policy_set.policies],
        "functions": [asdict(f) for f in policy_set.functions],
        "errors": [str(e) for e in policy_set.errors],
    }


def plan_summary(plan: Plan) -> str:
    counts = plan.summary()
    return ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing to do"


@dataclass
class Health:
    runtime_version: str | None
    planner: str | None = None  # sql or c: the plan-time functions in place (runtime >= 5)
    in_sync: int = 0
    drifted: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    unprotected: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def runtime_version(conn: psycopg.Connection[Any]) -> str | None:
    exists = conn.execute(
        "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'pgpolicy' AND p.proname = 'version'"
    ).fetchone()
    if exists is None:
        return None
    row = conn.execute("SELECT pgpolicy.version()").fetchone()
    return str(row[0]) if row else None


def plan_time_functions(conn: psycopg.Connection[Any], version: str | None) -> str | None:
    """`sql` or `c`: the implementation of the plan-time functions (pgpolicy/planner.py),
    for the runtime `version` installed; None before version 5."""
    if version is None or int(version) < 5:
        return None
    row = conn.execute("SELECT pgpolicy.planner()").fetchone()
    return str(row[0]) if row else None


def require_superuser(conn: psycopg.Connection[Any], refusal: str) -> None:
    """Raise `refusal` (`{user}`: the role connected) unless that role is a superuser."""
    row = conn.execute(
        "SELECT current_user::text, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user"
    ).fetchone()
    if not (row and row[1]):
        raise PgPolicyError(refusal.format(user=row[0] if row else "the current user"))


def role_hazards(conn: psycopg.Connection[Any], roles: tuple[str, ...] | list[str]) -> list[str]:
    """Each way an app role escapes every policy, as an error message."""
    errors = []
    for name, superuser, bypass in conn.execute(
        "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY(%s)",
        [list(roles)],
    ):
        if superuser:
            errors.append(f"role {name} is a superuser: enforcement is void for it")
        if bypass:
            errors.append(f"role {name} has BYPASSRLS: enforcement is void for it")
    for owner, table in conn.execute(
        "SELECT pg_get_userbyid(c.relowner), c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
        "WHERE c.relrowsecurity AND NOT c.relforcerowsecurity "
        "AND pg_get_userbyid(c.relowner) = ANY(%s) ORDER BY 2",
        [list(roles)],
    ):
        errors.append(
            f"role {owner} owns {table} without FORCE ROW LEVEL SECURITY: "
            "enforcement is void for it on that table"
        )
    return errors


def health(
    conn: psycopg.Connection[Any],
    policy_set: PolicySet,
    roles: tuple[str, ...] | list[str],
    *,
    deep: bool = False,
) -> Health:
    """Compare what is deployed with what the database's rules compile to, and check roles.

    `deep` also compares PostgreSQL's renderings (`apply.rendering_drift`), which
    catches a hand edit whose comment was rewritten to match.
    """
    version = runtime_version(conn)
    report = Health(version, plan_time_functions(conn, version))
    deployed = read_deployed(conn)
    wanted = {(p.table, p.name): p for p in policy_set.policies}
    for key, spec in wanted.items():
        current = deployed.policies.get(key)
        if current is None:
            report.missing.append(key)
        elif current.drifted or (current.provenance or {}).get("sha256") != spec.sha256:
            report.drifted.append(key)
        else:
            report.in_sync += 1
    if deep:
        misrendered = rendering_drift(conn, policy_set, deployed) - set(report.drifted)
        report.drifted.extend(sorted(misrendered))
        report.in_sync -= len(misrendered)
    report.extra = sorted(k for k in deployed.policies if k not in wanted)
    report.unprotected = [
        t.table
        for t in policy_set.tables
        if not (deployed.tables.get(t.table) and deployed.tables[t.table].rls_enabled)
    ]
    report.errors = role_hazards(conn, roles)
    if report.runtime_version is None:
        report.errors.insert(0, "the pgpolicy runtime is not installed (run pgpolicy init)")
    for error in policy_set.errors:
        report.errors.append(f"compile error, access denied: {error}")
    return report
