"""Apply a plan to a database: one transaction, a lock timeout, an advisory lock.

The plan is computed inside the same transaction, after the advisory lock is
taken, so it is the diff against what is deployed at that moment. A failed or
interrupted apply leaves the previous policies in place: the transaction
rolls back as a whole. An unchanged source gives an empty plan: no DDL.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.compiler.spec import PolicySet
from pgpolicy.db import connect, pinned_search_path
from pgpolicy.deploy import ddl
from pgpolicy.deploy.analysts import sync_privileges
from pgpolicy.deploy.catalog import (
    Deployed,
    DeployedPolicy,
    PendingRelation,
    reachable_tables,
    read_deployed,
)
from pgpolicy.deploy.grants import grant_app_roles
from pgpolicy.deploy.plan import Plan, diff
from pgpolicy.deploy.policy_set import within_reach
from pgpolicy.deploy.roles import MANAGED_MODE, deployment_mode, require_deployer
from pgpolicy.errors import PgPolicyError

log = logging.getLogger("pgpolicy")

ADVISORY_LOCK_KEY = 0x70677079  # "pgpy": one apply at a time per database


def owned_tables(conn: psycopg.Connection[Any], roles: Sequence[str]) -> set[str]:
    """Tables in public owned by one of the app roles: they need FORCE ROW LEVEL SECURITY."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
        "AND pg_get_userbyid(c.relowner) = ANY(%s)",
        [list(roles)],
    )
    return {name for (name,) in rows}


def check_roles(conn: psycopg.Connection[Any], roles: Sequence[str]) -> None:
    """Every app role must exist: policies name them."""
    if not roles:
        raise PgPolicyError("at least one --app-role is required")
    rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [list(roles)])
    found = {name for (name,) in rows}
    missing = [r for r in roles if r not in found]
    if missing:
        raise PgPolicyError(f"role(s) do not exist: {', '.join(missing)}")


def plan_for(
    conn: psycopg.Connection[Any],
    policy_set: PolicySet,
    roles: Sequence[str],
    *,
    deep: bool = False,
    deployed: Deployed | None = None,
    granting: bool = False,
) -> Plan:
    """What applying `policy_set` would change on the database behind `conn`.

    `deep` also recreates the deployed policies in a rolled-back savepoint and
    replaces those PostgreSQL renders unlike their spec (`rendering_drift`).
    `deployed` is what `read_deployed` returned in this transaction, when the caller
    needs it too (reading it costs about half a second for the Odoo database).
    `granting`: the plan of `apply`, which grants the app roles every table afterwards
    (`reachable_part`).
    """
    check_roles(conn, roles)
    if deployed is None:
        deployed = read_deployed(conn)
    policy_set = reachable_part(conn, policy_set, roles, deployed, granting=granting)
    misrendered = rendering_drift(conn, policy_set, deployed) if deep else set()
    return diff(policy_set, deployed, owned_tables(conn, roles), misrendered)


def reachable_part(
    conn: psycopg.Connection[Any],
    policy_set: PolicySet,
    roles: Sequence[str],
    deployed: Deployed,
    *,
    granting: bool = False,
) -> PolicySet:
    """The policy set without the unmapped tables no app role reaches (`within_reach`).

    `granting` (the plan of `apply`, which grants the app roles every table of the schema):
    in managed mode every table counts as reached, since no event trigger protected the
    ones created since the last apply."""
    protected = {table for table, _ in deployed.policies}
    pending = {table for table, _ in deployed.pending_policies}
    reachable = reachable_tables(conn, roles)
    if granting and deployment_mode(conn) == MANAGED_MODE:
        reachable |= set(deployed.tables)
    return within_reach(policy_set, reachable, protected, pending)


def rendering_drift(
    conn: psycopg.Connection[Any], desired: PolicySet, deployed: Deployed
) -> set[tuple[str, str]]:
    """Deployed policies that PostgreSQL renders differently from their desired spec.

    The hashes in a comment can be rewritten along with the policy; PostgreSQL's
    own rendering cannot lie. In a savepoint, every desired policy that is
    deployed is recreated from its spec and the renderings are read back; then
    it is all rolled back. Takes the tables' locks for that time (`lock_timeout` 5s).
    """
    present = [p for p in desired.policies if (p.table, p.name) in deployed.policies]
    rendered: dict[tuple[str, str], DeployedPolicy] = {}
    with pinned_search_path(conn), conn.transaction() as savepoint:
        conn.execute("SET LOCAL lock_timeout = '5s'")
        for spec in present:
            try:
                conn.execute(ddl.drop_policy(spec.table, spec.name))
                for statement in ddl.create_policy_only(spec):
                    conn.execute(statement)
            except psycopg.errors.LockNotAvailable as exc:
                raise lock_timeout_error(f"table public.{spec.table}", "5s") from exc
        rendered = read_deployed(conn).policies
        raise psycopg.Rollback(savepoint)
    keys = ((p.table, p.name) for p in present)
    return {k for k in keys if rendered[k].fingerprint != deployed.policies[k].fingerprint}


def execute_plan(conn: psycopg.Connection[Any], plan: Plan, lock_timeout: str = "") -> int:
    """Run the plan's DDL, then stamp provenance comments; returns the statement count.

    A statement that waits for a lock longer than `lock_timeout` fails the apply with an
    error naming what it waited for (PostgreSQL's own message does not)."""
    count = 0
    for change in plan.changes:
        for statement in change.statements:
            try:
                conn.execute(statement)
            except psycopg.errors.LockNotAvailable as exc:
                what = f"table public.{change.table}" if change.table else change.name
                raise lock_timeout_error(what, lock_timeout) from exc
            count += 1
    return count


def settle_pending(conn: psycopg.Connection[Any], pending: Sequence[PendingRelation]) -> None:
    """Forget the relations created since the last apply that this apply has dealt with.

    A table among them has its compiled policies now (the plan dropped its pgpolicy_pending
    policy); one that maps to no model keeps pgpolicy_pending: only the system principal.
    A view kept the invoker's rights the event trigger gave it; a sequence has the app
    roles' grants. Only the records read before the plan are removed: a relation created
    while this apply ran stays pending."""
    if pending:
        conn.execute(
            "DELETE FROM pgpolicy.pending_relation WHERE schema_name = 'public' "
            "AND relation_name = ANY(%s)",
            [[relation.name for relation in pending]],
        )


def record_applied_rules(conn: psycopg.Connection[Any]) -> None:
    """Record the digest of Odoo's rules this apply deployed (runtime 10), which the bridge
    compares at each registry load to remind that apply is due after a change."""
    found = conn.execute(
        "SELECT to_regprocedure('pgpolicy.record_applied_rules()') IS NOT NULL"
    ).fetchone()
    if found == (True,):
        conn.execute("SELECT pgpolicy.record_applied_rules()")


def lock_timeout_error(what: str, lock_timeout: str) -> PgPolicyError:
    """The one-line error of a lock wait that timed out, naming the table (or object)."""
    waited = f" ({lock_timeout})" if lock_timeout else ""
    return PgPolicyError(
        f"lock timeout{waited} waiting for a lock on {what}: another session holds it "
        "(a long transaction?); nothing was changed"
    )


def apply_policy_set(
    dsn: str,
    policy_set: PolicySet,
    roles: Sequence[str],
    *,
    dry_run: bool = False,
    lock_timeout: str = "5s",
    deep: bool = False,
) -> Plan:
    """Deploy `policy_set` in one transaction; nothing is kept on error or dry run.

    The app roles also get their privileges on Odoo's tables and sequences (`grants`), the
    analyst logins theirs (`analysts.sync_privileges`: the field groups may have changed), and
    the relations created since the last apply stop being pending (`settle_pending`). In
    managed mode the connected role must be able to deploy without a superuser
    (`roles.require_deployer`)."""
    with connect(dsn) as conn:
        if deployment_mode(conn) == MANAGED_MODE:
            require_deployer(conn, roles)
        conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout)))
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        if not locked.fetchone() == (True,):
            raise PgPolicyError("another pgpolicy apply is running on this database")
        deployed = read_deployed(conn)
        plan = plan_for(conn, policy_set, roles, deep=deep, deployed=deployed, granting=True)
        count = execute_plan(conn, plan, lock_timeout)
        grant_app_roles(conn, roles)
        sync_privileges(conn)
        settle_pending(conn, deployed.pending_relations)
        record_applied_rules(conn)
        if dry_run:
            conn.rollback()
        log.info("%d statements %s", count, "checked and rolled back" if dry_run else "applied")
    return plan
