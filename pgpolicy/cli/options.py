"""What every subcommand shares: the global settings, `--dsn`/`--format` before or after the
subcommand's name, the common options, and how data is printed."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from pgpolicy.compiler.spec import PolicySet
from pgpolicy.db import connect
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.deploy.validate import checked_policy_set
from pgpolicy.odoo.metadata import Catalog, read_catalog
from pgpolicy.profiles.store import read_profiles

log = logging.getLogger("pgpolicy")


@dataclass(frozen=True)
class Settings:
    """Global options shared by every subcommand."""

    dsn: str
    format: str


def odoo_catalog(settings: Settings, catalog_file: str | None) -> Catalog:
    """The Odoo metadata: from a saved JSON file (offline) or read from the database."""
    if catalog_file:
        return Catalog.load(Path(catalog_file))
    with connect(settings.dsn) as conn:
        return read_catalog(conn)


def desired_policy_set(settings: Settings, app_roles: Sequence[str]) -> PolicySet:
    """The policy set of the database's rules, access rights and stored access profiles;
    rules PostgreSQL refuses fail closed (`pgpolicy.deploy.validate`)."""
    with connect(settings.dsn) as conn:
        catalog, profiles = read_catalog(conn), read_profiles(conn)
        return checked_policy_set(
            conn, lambda rejected: build_policy_set(catalog, app_roles, profiles, rejected)
        )


def emit(settings: Settings, data: Any, text: str) -> None:
    """Data on stdout: JSON with `--format json`, else the text a person reads."""
    click.echo(json.dumps(data, indent=2, sort_keys=True) if settings.format == "json" else text)


def _set_dsn(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.obj = replace(ctx.obj, dsn=value)


def _set_format(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.obj = replace(ctx.obj, format=value)


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--dsn` and `--format` (text or json) also after the subcommand, as DBAs type them."""
    return connection_options_with(("text", "json"))(command)


def connection_options_with(
    formats: Sequence[str],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`connection_options` for a subcommand whose output `formats` are its own."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--dsn", callback=_set_dsn, expose_value=False, is_eager=True,
            help="libpq connection string or URI (overrides the global --dsn).",
        )(command)  # fmt: skip
        return click.option(
            "--format", type=click.Choice(list(formats)), callback=_set_format,
            expose_value=False, is_eager=True,
            help="Output format (overrides the global --format).",
        )(command)  # fmt: skip

    return decorate


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
