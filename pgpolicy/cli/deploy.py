"""`pgpolicy init|apply|plan|status|planner|like-leakproof|revision`: the DBA's commands."""

from __future__ import annotations

import sys

import click

from pgpolicy.cli.options import (
    Settings,
    app_role_option,
    connection_options,
    deep_option,
    desired_policy_set,
    emit,
    log,
)
from pgpolicy.cli.output import plan_summary
from pgpolicy.compiler.spec import PolicySet
from pgpolicy.db import connect
from pgpolicy.deploy.apply import apply_policy_set, plan_for
from pgpolicy.deploy.health import health
from pgpolicy.deploy.leakproof import like_functions, set_like_leakproof
from pgpolicy.deploy.planner import planner_in_use, set_planner
from pgpolicy.deploy.roles import MANAGED_MODE
from pgpolicy.deploy.runtime import install


@click.command()
@connection_options
@app_role_option
@click.option(
    "--keep-public-create",
    is_flag=True,
    help="Leave CREATE on schema public to PUBLIC (by default init revokes it: objects any "
    "role creates there could be resolved, and run, by a privileged session).",
)
@click.pass_obj
def init(settings: Settings, app_roles: tuple[str, ...], keep_public_create: bool) -> None:
    """Install or upgrade the runtime schema and grant the app roles (idempotent).

    Runs the runtime's alembic migrations up to head, then grants each app role
    USAGE on schema pgpolicy and EXECUTE on the functions policies call, and revokes
    CREATE on schema public from PUBLIC (unless --keep-public-create), in one
    transaction. Needs a superuser, or, in managed mode (RDS, Cloud SQL: no superuser),
    the role that owns the database's tables (see `pgpolicy status`, "mode"). A second run
    reports that there is nothing to do.
    """
    result = install(settings.dsn, app_roles, keep_public_create=keep_public_create)
    data = {
        "before": result.before,
        "after": result.after,
        "changed": result.changed,
        "roles": list(result.roles),
        "granted": list(result.granted),
        "revoked_public_create": list(result.revoked),
    }
    emit(settings, data, result.summary())


@click.command()
@connection_options
@app_role_option
@click.option("--dry-run", is_flag=True, help="Run everything, then roll back.")
@click.option("--lock-timeout", default="5s", show_default=True)
@click.option("--remove", is_flag=True, help="Remove every pgpolicy policy instead.")
@deep_option
@click.pass_obj
def apply(
    settings: Settings,
    app_roles: tuple[str, ...],
    dry_run: bool,
    lock_timeout: str,
    remove: bool,
    deep: bool,
) -> None:
    """Compile the database's own rules and access rights and apply them, in one transaction.

    With --remove: drop every policy and function pgpolicy made, and disable row level
    security on the tables left without policies.
    """
    policy_set = PolicySet((), (), ()) if remove else desired_policy_set(settings, app_roles)
    for error in policy_set.errors:
        log.error("%s (access denied for it)", error)
    plan = apply_policy_set(
        settings.dsn, policy_set, app_roles, dry_run=dry_run, lock_timeout=lock_timeout, deep=deep
    )
    verb = "would apply" if dry_run else "applied"
    emit(
        settings,
        {"dry_run": dry_run, "changes": [c.as_dict() for c in plan.changes]},
        f"{verb} {len(plan.changes)} change(s): {plan_summary(plan)}",
    )


@click.command()
@connection_options
@app_role_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending.")
@deep_option
@click.pass_obj
def plan(
    settings: Settings, app_roles: tuple[str, ...], detailed_exitcode: bool, deep: bool
) -> None:
    """Show what `apply` would change: create / replace / drop, and whether access opens."""
    policy_set = desired_policy_set(settings, app_roles)
    for error in policy_set.errors:
        log.error("%s (access denied for it)", error)
    with connect(settings.dsn) as conn:
        the_plan = plan_for(conn, policy_set, app_roles, deep=deep, granting=True)
    lines = [
        f"{c.action:<16} {c.access:<8} {c.table or '-'} {c.name}  ({c.reason})"
        for c in the_plan.changes
    ]
    text = "\n".join([*lines, f"{len(the_plan.changes)} change(s): {plan_summary(the_plan)}"])
    emit(settings, [c.as_dict() for c in the_plan.changes], text)
    if detailed_exitcode and not the_plan.empty:
        sys.exit(2)


@click.command()
@connection_options
@app_role_option
@deep_option
@click.pass_obj
def status(settings: Settings, app_roles: tuple[str, ...], deep: bool) -> None:
    """Runtime version, policies in sync, pending or drifted, unprotected relations, app-role
    hazards and privileges. Exits 1 when anything needs attention.

    Pending (a module installed or upgraded, rules changed, relations created since the
    last apply): run `pgpolicy apply`. Drifted: a policy edited by hand; apply repairs it.
    Unprotected: every table, view, materialized view or foreign table an app role can
    reach that no row level security holds (a table without it, a view running with its
    owner's rights).
    """
    policy_set = desired_policy_set(settings, app_roles)
    with connect(settings.dsn) as conn:
        report = health(conn, policy_set, app_roles, deep=deep)
    text = "\n".join(
        [
            f"runtime: {report.runtime_version or 'not installed'}"
            + (f"; plan-time functions: {report.planner}" if report.planner else ""),
            *mode_lines(report.mode, report.deployer),
            f"policies: {report.in_sync} in sync, {len(report.pending)} pending, "
            f"{len(report.drifted)} drifted, {len(report.missing)} missing, "
            f"{len(report.extra)} not desired",
            *(f"drifted: {t}.{n} (edited by hand)" for t, n in report.drifted),
            *(f"pending: {t}.{n} (source changed; run apply)" for t, n in report.pending[:20]),
            *(f"missing: {t}.{n}" for t, n in report.missing[:20]),
            *(
                f"pending: {kind} {name} (created after apply; run apply)"
                for kind, name in report.pending_relations
            ),
            *(
                f"unprotected {e.kind} {e.relation}"
                + (f" (reached by {', '.join(e.roles)})" if e.roles else "")
                + f": {e.why}"
                for e in report.unprotected
            ),
            *(f"missing privileges: {m}" for m in report.missing_privileges),
            *(f"ERROR: {e}" for e in report.errors),
            *(f"WARNING: {w}" for w in report.warnings),
        ]
    )
    emit(settings, report.as_dict(), text)
    if (
        report.errors
        or report.drifted
        or report.pending
        or report.pending_relations
        or report.missing
        or report.unprotected
        or report.missing_privileges
    ):
        sys.exit(1)


def mode_lines(mode: str | None, deployer: str | None) -> list[str]:
    """The line of `status` that says how the runtime was deployed (none without it)."""
    if mode == MANAGED_MODE:
        return [
            f"mode: managed (runtime owned by {deployer}, not a superuser): no event trigger, "
            "relations created after apply reach no app role until apply; SQL plan-time "
            "functions; no LEAKPROOF opt-in"
        ]
    if mode is not None:
        return [f"mode: superuser-deployed (runtime owned by {deployer})"]
    return []


@click.command("like-leakproof")
@connection_options
@click.argument("state", type=click.Choice(["show", "on", "off"]), default="show")
@click.pass_obj
def like_leakproof_command(settings: Settings, state: str) -> None:
    """Show, or mark (on) / unmark (off), the LIKE and ILIKE functions LEAKPROOF.

    Under row-level security a substring search (`name ILIKE '%S0012%'`) can use its
    trigram index only when the operator's function is LEAKPROOF, which PostgreSQL's
    are not: without it, a name search filters every row the user may see. `on` is a
    database-wide decision of a superuser; read docs/semantics.md ("Substring search")
    for what it can reveal before turning it on. `off` puts back exactly the flags `on`
    changed (recorded by the runtime, version 6 or later; so does removing the runtime).
    """
    if state == "show":
        with connect(settings.dsn) as conn:
            functions = like_functions(conn)
    else:
        functions = set_like_leakproof(settings.dsn, state == "on")
    data = {f.signature: f.leakproof for f in functions}
    marked = sum(data.values())
    text = "\n".join(
        f"{'LEAKPROOF    ' if leak else 'NOT LEAKPROOF'} {sig}" for sig, leak in data.items()
    )
    summary = f"{marked} of {len(data)} LIKE-family functions are LEAKPROOF"
    emit(settings, data, f"{text}\n{summary}")


@click.command("planner")
@connection_options
@click.argument("state", type=click.Choice(["show", "on", "off"]), default="show")
@click.pass_obj
def planner_command(settings: Settings, state: str) -> None:
    """Show, or switch to C (on) / SQL (off), the plan-time functions policies call.

    `on` needs the library pgpolicy_planner installed on the database server (make -C
    sql/planner install, with that server's pg_config); the results are the same, the
    planning is cheaper (docs/semantics.md, "Plan-time functions in C"). A superuser's
    decision, one transaction; `off` restores the SQL functions.
    """
    if state == "show":
        with connect(settings.dsn) as conn:
            implementation = planner_in_use(conn)
    else:
        implementation = set_planner(settings.dsn, "c" if state == "on" else "sql")
    name = "C (pgpolicy_planner)" if implementation == "c" else "SQL"
    emit(settings, {"planner": implementation}, f"plan-time functions: {name}")


@click.command("revision")
@connection_options
@app_role_option
@click.option("-m", "--message", required=True, help="The revision's message.")
@click.option(
    "--directory",
    default="alembic",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The alembic project's script directory (or its versions/ folder).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="The alembic project's alembic.ini, instead of --directory.",
)
@click.option("--rev-id", default=None, help="Revision id to use instead of a generated one.")
@click.option(
    "--version-table",
    default="alembic_version",
    show_default=True,
    help="The project's version table (the database must be at the project's head).",
)
@click.pass_obj
def revision_command(
    settings: Settings,
    app_roles: tuple[str, ...],
    message: str,
    directory: str,
    config_file: str | None,
    rev_id: str | None,
    version_table: str,
) -> None:
    """Write the plan as an alembic revision of your project, for review.

    upgrade() applies the plan, one op call per change, grouped by table;
    downgrade() puts back exactly what is deployed now. The database must be
    at the project's head, which becomes the revision's parent. No change
    pending: no file.
    """
    # alembic's script machinery only for this command
    from pgpolicy.alembic_plugin.revision import script_directory, summary_line, write_revision

    script = script_directory(directory, config_file)
    written = write_revision(
        settings.dsn,
        app_roles,
        message,
        script,
        revision_id=rev_id,
        version_table=version_table,
    )
    for error in written.errors:
        log.error("%s (access denied for it)", error)
    text = (
        f"wrote {written.path} (revision {written.revision}, revises {written.down_revision}): "
        f"{written.operations} operation(s): {summary_line(written.plan)}"
        if written.path
        else "no change pending: no revision written"
    )
    data = {
        "path": str(written.path) if written.path else None,
        "revision": written.revision,
        "down_revision": written.down_revision,
        "operations": written.operations,
        "changes": [c.as_dict() for c in written.plan.changes],
    }
    emit(settings, data, text)
