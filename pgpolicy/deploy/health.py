"""The health report: runtime version, policies in sync, pending or drifted, the relations
an app role reaches that no policy holds, the app roles' privileges.

`health` is where the tool says, loudly, when enforcement is void: an app role
that is superuser, has BYPASSRLS, or owns tables without FORCE ROW LEVEL
SECURITY is not subject to any policy.

Pending is not drift. A policy whose source changed (an Odoo module installed or
upgraded, a rule edited in Odoo) is *pending*: `apply` brings it up to date, as it does
the relations created since the last apply (protected meanwhile by the runtime's event
trigger; in managed mode, which has none, by the app roles' lack of privileges on them).
A policy whose PostgreSQL rendering no longer matches the one stamped into
its provenance when pgpolicy created it was edited by hand: *drifted*.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from pgpolicy.compiler.spec import PolicySet
from pgpolicy.deploy.apply import reachable_part, rendering_drift
from pgpolicy.deploy.catalog import Exposure, exposed_relations, read_deployed
from pgpolicy.deploy.grants import (
    default_privilege_hazards,
    missing_privileges,
    ungranted_relations,
)
from pgpolicy.deploy.roles import (
    MANAGED_MODE,
    deployment_mode,
    managed_problems,
    role_hazards,
    runtime_owner,
    schema_hazards,
)


@dataclass
class Health:
    runtime_version: str | None
    planner: str | None = None  # sql or c: the plan-time functions in place (runtime >= 5)
    mode: str | None = None  # superuser or managed (roles.deployment_mode); None: no runtime
    deployer: str | None = None  # the role that owns the runtime
    in_sync: int = 0
    drifted: list[tuple[str, str]] = field(default_factory=list)  # edited by hand
    pending: list[tuple[str, str]] = field(default_factory=list)  # source changed
    pending_relations: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)
    missing_privileges: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)
    unprotected: list[Exposure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

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
    mode = deployment_mode(conn)
    report = Health(version, plan_time_functions(conn, version), mode, runtime_owner(conn))
    deployed = read_deployed(conn)
    policy_set = reachable_part(conn, policy_set, roles, deployed)
    wanted = {(p.table, p.name): p for p in policy_set.policies}
    for key, spec in wanted.items():
        current = deployed.policies.get(key)
        if current is None:
            report.missing.append(key)
        elif current.drifted:
            report.drifted.append(key)
        elif (current.provenance or {}).get("sha256") != spec.sha256:
            report.pending.append(key)
        else:
            report.in_sync += 1
    if deep:
        misrendered = rendering_drift(conn, policy_set, deployed) - set(report.drifted)
        report.in_sync -= len(misrendered - set(report.pending))
        report.pending = [key for key in report.pending if key not in misrendered]
        report.drifted.extend(sorted(misrendered))
    report.extra = sorted(k for k in deployed.policies if k not in wanted)
    report.unprotected = exposed_relations(conn, roles)
    listed = {e.relation for e in report.unprotected}
    managed = mode == MANAGED_MODE
    # managed mode, no event trigger: what was created since the last apply is not granted
    ungranted = ungranted_relations(conn, roles) if managed else []
    listed.update(f"public.{name}" for kind, name in ungranted if kind == "table")
    report.unprotected.extend(
        Exposure(f"public.{t.table}", "table", "no row level security", ())
        for t in policy_set.tables
        if not (deployed.tables.get(t.table) and deployed.tables[t.table].rls_enabled)
        and f"public.{t.table}" not in listed
    )
    report.pending_relations = [(r.kind, r.name) for r in deployed.pending_relations]
    report.pending_relations.extend(ungranted)
    report.missing_privileges = missing_privileges(conn, roles, defaults=not managed)
    report.errors = role_hazards(conn, roles)
    if managed:
        report.errors.extend(managed_problems(conn, roles, report.deployer))
        report.errors.extend(default_privilege_hazards(conn, roles))
    report.warnings = schema_hazards(conn, roles)
    if report.runtime_version is None:
        report.errors.insert(0, "the pgpolicy runtime is not installed (run pgpolicy init)")
    for error in policy_set.errors:
        report.errors.append(f"compile error, access denied: {error}")
    return report
