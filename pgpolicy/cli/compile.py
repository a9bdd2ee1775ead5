"""`pgpolicy compile`: what the database's rules compile to, or one domain's predicate;
installs nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pgpolicy.cli.options import Settings, connection_options_with, log, odoo_catalog
from pgpolicy.cli.output import comment_text, policy_set_json, policy_set_sql, pretty_sql
from pgpolicy.compiler.predicate import compile_domain
from pgpolicy.db import connect
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.deploy.validate import checked_policy_set
from pgpolicy.odoo.domain import parse_rule_domain
from pgpolicy.profiles.model import load_profile_files
from pgpolicy.profiles.store import read_profiles


@click.command("compile")
@connection_options_with(("sql", "text", "json"))
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
    help="Only save the Odoo metadata read from the database to this JSON file (for "
    "compiling offline with --catalog); prints nothing else.",
)
@click.option(
    "--inline",
    is_flag=True,
    help="With --domain: subqueries in place instead of generated functions.",
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
    profile_paths: tuple[Path, ...],
) -> None:
    """Print what would be installed (or one domain's SQL predicate), installing nothing.

    `--format sql` (the default, also `text`) prints SQL; `--format json` prints data.
    """
    output = "json" if settings.format == "json" else "sql"
    catalog = odoo_catalog(settings, catalog_file)
    if save_catalog:
        if domain is not None or model is not None or profile_paths:
            raise click.UsageError("--save-catalog only saves: it takes no --domain/--profiles")
        catalog.save(Path(save_catalog))
        log.info("saved the metadata of %d models to %s", len(catalog.models), save_catalog)
        return
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
                click.echo(f"-- {function.qualified}(): {comment_text(function.body)}")
        return
    if profile_paths:
        profiles = load_profile_files(profile_paths)
    elif catalog_file:
        profiles = ()
    else:
        with connect(settings.dsn) as conn:
            profiles = read_profiles(conn)
    roles = ["<app_role>"]
    if catalog_file:
        policy_set = build_policy_set(catalog, roles, profiles)
    else:  # rules the database's PostgreSQL refuses fail closed, as apply deploys them
        with connect(settings.dsn) as conn:
            policy_set = checked_policy_set(
                conn, lambda rejected: build_policy_set(catalog, roles, profiles, rejected)
            )
    for error in policy_set.errors:
        log.error("%s (access denied for it)", error)
    if output == "json":
        click.echo(json.dumps(policy_set_json(policy_set), indent=1, sort_keys=True))
    else:
        click.echo(policy_set_sql(policy_set))
    if policy_set.errors:
        sys.exit(1)
