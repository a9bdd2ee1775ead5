"""`pgpolicy explain|who-can`: the auditor's questions, answered from the database."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pgpolicy.audit import report as access_report
from pgpolicy.audit.explain import ProfileVerdict, explain, who_can
from pgpolicy.cli.options import (
    Settings,
    connection_options,
    connection_options_with,
    emit,
    odoo_catalog,
)
from pgpolicy.cli.output import pretty_sql
from pgpolicy.db import connect
from pgpolicy.errors import PgPolicyError
from pgpolicy.odoo.metadata import MODES


@click.command("explain")
@connection_options
@click.option("--user", "login", required=True, help="Login of the Odoo user.")
@click.option("--model", required=True, help="Odoo model, e.g. sale.order.")
@click.option("--mode", type=click.Choice(list(MODES)), default="read", show_default=True)
@click.pass_obj
def explain_command(settings: Settings, login: str, model: str, mode: str) -> None:
    """Which rules apply to that user and why, the effective predicate, the rows it leaves."""
    catalog = odoo_catalog(settings, None)
    with connect(settings.dsn) as conn:
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
    lines.append(
        "analyst logins of this user: "
        + (", ".join(result.analyst_logins) or "none")
        + "; columns they may not read (field groups, columns Odoo never reads): "
        + (", ".join(result.hidden_columns) or "none")
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
        "analyst_logins": list(result.analyst_logins),
        "hidden_columns": list(result.hidden_columns),
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
    emit(settings, data, "\n".join(lines))


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


@click.command("who-can")
@connection_options
@click.option("--model", required=True, help="Odoo model, e.g. sale.order.")
@click.option("--id", "record_id", type=int, required=True, help="Record id.")
@click.pass_obj
def who_can_command(settings: Settings, model: str, record_id: int) -> None:
    """Which users can read / write / create / delete that record (rules, access rights and
    the deployed access-profile policies)."""
    catalog = odoo_catalog(settings, None)
    with connect(settings.dsn) as conn:
        rows = who_can(conn, catalog, model, record_id)
    text = "\n".join(f"{a.login:<24} {a.uid:>6}  {', '.join(a.modes)}" for a in rows)
    emit(
        settings,
        [{"login": a.login, "uid": a.uid, "modes": list(a.modes)} for a in rows],
        text or "nobody (except superuser mode)",
    )


@click.command("report")
@connection_options_with(("markdown", "text", "html", "json"))
@click.option("--app-role", "app_roles", multiple=True, help="Report whether enforcement is void "
              "for this role (superuser, BYPASSRLS, owner without FORCE). Repeatable.")  # fmt: skip
@click.option("--user", "logins", multiple=True, help="Only this user (login). Repeatable.")
@click.option("--model", "models", multiple=True, help="Only this model. Repeatable.")
@click.option(
    "--since",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A previous report in JSON: say what changed since.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
@click.pass_obj
def report_command(
    settings: Settings,
    app_roles: tuple[str, ...],
    logins: tuple[str, ...],
    models: tuple[str, ...],
    since: Path | None,
    output: Path | None,
) -> None:
    """The access report: users x models x read/write/create/delete with row counts, the
    rules and profiles behind each cell, hazards, and what changed since a previous report.

    --format markdown (default, also text), html (a self-contained page: sort by a column,
    filter by words) or json (the data; keep it for the next --since).
    """
    catalog = odoo_catalog(settings, None)
    unknown = sorted(set(models) - set(catalog.models))
    if unknown:
        raise PgPolicyError(f"unknown model(s): {', '.join(unknown)}")
    with connect(settings.dsn) as conn:
        data = access_report.build_report(
            conn, catalog, app_roles=app_roles, logins=logins, models=models
        )
    if since is not None:
        try:
            previous = json.loads(since.read_text())
        except (OSError, ValueError) as exc:
            raise PgPolicyError(f"{since}: not a pgpolicy report in JSON ({exc})") from exc
        if not isinstance(previous, dict) or previous.get("format") != access_report.FORMAT_VERSION:
            raise PgPolicyError(f"{since}: not a pgpolicy report in JSON (format 1)")
        data["changes"] = access_report.diff(previous, data)
    render = {"json": access_report.as_json, "html": access_report.as_html}.get(
        settings.format, access_report.as_markdown
    )
    text = render(data)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"pgpolicy: wrote {output}", err=True)
