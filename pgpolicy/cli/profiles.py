"""`pgpolicy profile new|import|export` and `pgpolicy check`: access profiles on the command line.

Registered on the main group by `pgpolicy.cli`. Profiles live in the runtime tables
(revision 0002); `import` writes them there in one transaction, `apply` compiles them.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import psycopg

from pgpolicy.cli.options import Settings, connection_options, emit, log
from pgpolicy.db import connect
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.errors import PgPolicyError
from pgpolicy.odoo.metadata import Catalog, read_catalog
from pgpolicy.profiles.check import Directory, check_profiles
from pgpolicy.profiles.model import NAME_PATTERN, Profile, dump_profiles, load_profile_files
from pgpolicy.profiles.store import has_profile_tables, read_profiles, save_profiles
from pgpolicy.profiles.templates import TEMPLATES
from pgpolicy.profiles.xlsx import read_xlsx, write_xlsx


@click.group("profile")
def profile_group() -> None:
    """Access profiles: templates, import into the database, export from it."""


@profile_group.command("new")
@click.argument("name")
@click.option(
    "--template", type=click.Choice(sorted(TEMPLATES)), required=True, help="What to start from."
)
def new_command(name: str, template: str) -> None:
    """Print a new profile NAME, from a template, in the file format (edit, then import)."""
    if not NAME_PATTERN.match(name):
        raise PgPolicyError(
            f"{name!r} is not a profile name (lowercase letters, digits, '_' and '-', "
            "starting with a letter)"
        )
    click.echo(dump_profiles([TEMPLATES[template](name, datetime.now(UTC))]), nl=False)


def load_sources(paths: tuple[Path, ...]) -> tuple[Profile, ...]:
    """Profiles of YAML files, directories of them, and .xlsx workbooks; each name once."""
    profiles = list(load_profile_files([p for p in paths if p.suffix != ".xlsx"]))
    for book in (p for p in paths if p.suffix == ".xlsx"):
        profiles.extend(read_xlsx(book))
    seen: set[str] = set()
    for profile in profiles:
        if profile.name in seen:
            raise PgPolicyError(f"{profile.source}: profile {profile.name!r} is defined twice")
        seen.add(profile.name)
    return tuple(profiles)


def _require_tables(conn: psycopg.Connection[Any]) -> None:
    if not has_profile_tables(conn):
        raise PgPolicyError(
            "the runtime has no profile tables: run `pgpolicy init` (runtime version 2 or later)"
        )


@profile_group.command("import")
@connection_options
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--keep-others", is_flag=True, help="Keep stored profiles the files do not name.")
@click.option("--dry-run", is_flag=True, help="Report what would change, change nothing.")
@click.pass_obj
def import_command(
    settings: Settings, paths: tuple[Path, ...], keep_others: bool, dry_run: bool
) -> None:
    """Store the profiles of PATHS (YAML files, directories of *.yaml, .xlsx workbooks).

    The stored profiles become exactly those of the files (unless --keep-others); rows
    already equal are not touched, so importing twice changes nothing. Every profile must
    compile against this database, or nothing is stored.
    """
    profiles = load_sources(paths)
    with connect(settings.dsn) as conn:
        _require_tables(conn)
        catalog = read_catalog(conn)
        errors = build_policy_set(catalog, ["<app_role>"], profiles).errors
        if errors:
            raise PgPolicyError(f"{errors[0]}; nothing was imported")
        result = save_profiles(conn, profiles, prune=not keep_others)
        if dry_run:
            conn.rollback()
    prefix = "would have " if dry_run and result.changed else ""
    emit(
        settings,
        {
            "dry_run": dry_run,
            "created": result.created,
            "updated": result.updated,
            "deleted": result.deleted,
            "recompile": result.recompile,
        },
        prefix + result.summary(),
    )


@profile_group.command("export")
@connection_options
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write to this file, not stdout."
)
@click.option(
    "--xlsx", type=click.Path(path_type=Path), help="Write an .xlsx workbook to this file instead."
)
@click.pass_obj
def export_command(settings: Settings, output: Path | None, xlsx: Path | None) -> None:
    """Write the stored profiles as YAML: the canonical form, sorted, stable for diffs
    (or, with --xlsx, the same content as a workbook for reviews in a spreadsheet)."""
    with connect(settings.dsn) as conn:
        _require_tables(conn)
        profiles = read_profiles(conn)
    if xlsx is not None:
        write_xlsx(profiles, xlsx)
        return
    text = dump_profiles(profiles)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)


def read_directory(conn: psycopg.Connection[Any]) -> Directory:
    """Logins and group members of the Odoo database, for `check`."""
    logins = {login: uid for uid, login in conn.execute("SELECT id, login FROM public.res_users")}
    groups: dict[str, frozenset[int]] = {}
    rows = conn.execute(
        "SELECT d.module || '.' || d.name, coalesce(array_agg(r.uid) FILTER"
        " (WHERE r.uid IS NOT NULL), '{}') FROM public.ir_model_data d"
        " LEFT JOIN public.res_groups_users_rel r ON r.gid = d.res_id"
        " WHERE d.model = 'res.groups' GROUP BY 1"
    )
    for xml_id, uids in rows:
        groups[xml_id] = frozenset(uids)
    return Directory(logins, groups)


@click.command("check")
@connection_options
@click.option(
    "--profiles",
    "paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Check these files instead of the stored profiles. Repeatable.",
)
@click.pass_obj
def check_command(settings: Settings, paths: tuple[Path, ...]) -> None:
    """Health of the access profiles: orphans, no-op and unsatisfiable rules, expired or
    future profiles, members who do not exist, conflicts. Exit 1 on errors."""
    with connect(settings.dsn) as conn:
        catalog: Catalog = read_catalog(conn)
        profiles: tuple[Profile, ...]
        if paths:
            profiles = load_sources(paths)
        else:
            _require_tables(conn)
            profiles = read_profiles(conn)
        directory = read_directory(conn)
        row = conn.execute("SELECT now()").fetchone()
    now = row[0] if row and isinstance(row[0], datetime) else datetime.now(UTC)
    findings = check_profiles(catalog, profiles, now, directory)
    errors = [f for f in findings if f.severity == "error"]
    summary = (
        f"{len(profiles)} profile(s): {len(errors)} error(s), "
        f"{len(findings) - len(errors)} warning(s)"
    )
    emit(
        settings,
        {"findings": [f.as_dict() for f in findings], "summary": summary},
        "\n".join([*(str(f) for f in findings), summary]),
    )
    for error in errors:
        log.debug("%s", error)
    if errors:
        sys.exit(1)
