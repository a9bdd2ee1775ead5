"""`pgpolicy analyst add|list|remove`: database logins that read as an Odoo user."""

from __future__ import annotations

import click

from pgpolicy.cli.options import Settings, connection_options, emit
from pgpolicy.db import connect
from pgpolicy.deploy import analysts
from pgpolicy.errors import PgPolicyError


def parse_companies(value: str | None) -> tuple[int, ...] | None:
    """`--companies 1,2` as company ids (None when not given: the user's companies)."""
    if value is None:
        return None
    try:
        ids = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise PgPolicyError(f"--companies: not a list of company ids: {value!r}") from None
    if not ids or any(i <= 0 for i in ids):
        raise PgPolicyError(f"--companies: not a list of company ids: {value!r}")
    return ids


def describe(analyst: analysts.Analyst) -> str:
    """One line per analyst login, as `list` prints it."""
    companies = (
        "the user's companies"
        if analyst.company_ids is None
        else "companies " + ",".join(map(str, analyst.company_ids))
    )
    state = "" if analyst.active else " (Odoo user inactive or missing: reads nothing)"
    access = "read and write" if analyst.can_write else "read only"
    hidden = f"; {len(analyst.hidden_columns)} hidden column(s)" if analyst.hidden_columns else ""
    return (
        f"{analyst.role} -> {analyst.login or '?'} (uid {analyst.uid}), {companies}, "
        f"{access}{hidden}{state}"
    )


@click.group("analyst")
def analyst_group() -> None:
    """Analyst logins: PostgreSQL LOGIN roles whose context is an Odoo user's, always.

    No password is set: authentication (pg_hba.conf, a password) is the DBA's.
    """


@analyst_group.command("add")
@connection_options
@click.option("--login", "role", required=True, help="PostgreSQL role (created if missing).")
@click.option("--odoo-user", required=True, help="Login of the Odoo user it reads as.")
@click.option("--companies", help="Company ids, e.g. 1,2 (default: the user's companies).")
@click.option("--write", is_flag=True, help="Also allow INSERT, UPDATE, DELETE (policies apply).")
@click.pass_obj
def add_command(
    settings: Settings, role: str, odoo_user: str, companies: str | None, write: bool
) -> None:
    """Create or adopt the role, map it to the Odoo user and grant what it may read."""
    company_ids = parse_companies(companies)
    with connect(settings.dsn) as conn:
        analyst = analysts.add(conn, role, odoo_user, company_ids, can_write=write)
    emit(settings, analyst.to_json(), describe(analyst))


@analyst_group.command("list")
@connection_options
@click.pass_obj
def list_command(settings: Settings) -> None:
    """The analyst logins, their Odoo users and the columns each may not read."""
    with connect(settings.dsn) as conn:
        analysts.require_runtime(conn)
        found = analysts.analysts(conn)
    text = "\n".join(describe(a) for a in found) or "no analyst login"
    emit(settings, [a.to_json() for a in found], text)


@analyst_group.command("remove")
@connection_options
@click.option("--login", "role", required=True, help="PostgreSQL role of the analyst.")
@click.pass_obj
def remove_command(settings: Settings, role: str) -> None:
    """Remove the mapping and the role's privileges (the role itself is kept)."""
    with connect(settings.dsn) as conn:
        analysts.remove(conn, role)
    emit(settings, {"removed": role}, f"removed analyst login {role}")
