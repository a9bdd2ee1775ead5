"""The `pgpolicy` command line: logs on stderr, data on stdout.

Exit codes: 0 ok, 1 error, 2 usage error (and, for `plan --detailed-exitcode`,
changes pending).
"""

import logging
import sys
from dataclasses import dataclass

import click
import psycopg

from pgpolicy import __version__
from pgpolicy.errors import PgPolicyError

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
