"""Write the plan as an alembic revision, for DBAs who ship DDL through review.

`upgrade()` applies the plan (the policy set compiled from the database's own
rules and access rights, diffed against what is deployed) as one `op.*` call
per change, grouped by table. `downgrade()` puts back exactly what was
deployed when the file was written: the policies it replaces or drops are
recreated from their definitions as read from the catalog, comments included;
the ones it creates are dropped.

The file comes from the alembic project's own `script.py.mako`, so it has the
project's header, typing and file naming; its parent is the current head.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError, rev_id
from psycopg import sql

from pgpolicy.alembic_plugin.operations import PolicyOperation, plan_operations, reverse_operations
from pgpolicy.alembic_plugin.render import IMPORT_LINE, MYPY_LINE, render_body
from pgpolicy.db import connect
from pgpolicy.deploy.apply import plan_for
from pgpolicy.deploy.catalog import read_deployed
from pgpolicy.deploy.plan import Plan
from pgpolicy.deploy.policy_set import build_policy_set, policy_roles
from pgpolicy.deploy.validate import rejections
from pgpolicy.errors import PgPolicyError
from pgpolicy.odoo.metadata import read_catalog
from pgpolicy.profiles.store import read_profiles


@dataclass(frozen=True)
class Revision:
    """A written revision file, or the empty plan that needed none (`path` None)."""

    path: Path | None
    revision: str | None
    down_revision: str | None
    plan: Plan
    operations: int
    errors: tuple[str, ...] = ()  # rules that cannot be compiled (denied)


def script_directory(
    directory: str | Path | None, config_file: str | Path | None
) -> ScriptDirectory:
    """The DBA's alembic project: from its alembic.ini, or its script directory.

    `directory` may name the script directory (holding `script.py.mako`) or its
    `versions/` folder.
    """
    if config_file is not None:
        return ScriptDirectory.from_config(Config(str(config_file)))
    path = Path(directory or "alembic")
    for candidate in (path, path.parent):
        if (candidate / "script.py.mako").is_file():
            return ScriptDirectory(str(candidate))
    raise PgPolicyError(
        f"{path} is not an alembic script directory (no script.py.mako): create the project "
        "with `alembic init alembic`, or pass --config alembic.ini"
    )


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    counts.pop("comment", None)
    return ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))


def body(header: Sequence[str], operations: Sequence[PolicyOperation]) -> str:
    """Text for a `${upgrades}` / `${downgrades}` slot: the template indents the first line."""
    lines = [*(f"# {line}" for line in header), *render_body(operations)]
    return "\n".join(f"    {line}" if line else "" for line in lines).lstrip()


def require_head(
    conn: psycopg.Connection[Any], script: ScriptDirectory, version_table: str
) -> None:
    """The database must be at the project's head: a plan is a diff against the database as it
    is, so a revision written on top of one not yet applied would repeat it."""
    name = sql.Identifier(*version_table.split("."))
    exists = conn.execute(sql.SQL("SELECT to_regclass({})").format(sql.Literal(name.as_string())))
    current: set[str] = set()
    if exists.fetchone() != (None,):
        rows = conn.execute(sql.SQL("SELECT version_num FROM {}").format(name))
        current = {str(version) for (version,) in rows}
    heads = set(script.get_heads())
    if current != heads:
        raise PgPolicyError(
            f"the database is at {', '.join(sorted(current)) or 'base'} and the project's head "
            f"is {', '.join(sorted(heads)) or 'base'}: run `alembic upgrade head` first"
        )


def write_revision(
    dsn: str,
    roles: Sequence[str],
    message: str,
    script: ScriptDirectory,
    *,
    revision_id: str | None = None,
    version_table: str = "alembic_version",
) -> Revision:
    """Plan against the database behind `dsn` and write the plan as a revision of `script`."""
    with connect(dsn) as conn:
        # rules PostgreSQL refuses fail closed (checked apart: the snapshot is read-only)
        rejected = rejections(
            conn, lambda none: build_policy_set(read_catalog(conn), roles, read_profiles(conn))
        )
    with connect(dsn) as conn:
        # one snapshot for the rules, the plan and the definitions the downgrade restores
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        require_head(conn, script, version_table)
        policy_set = build_policy_set(read_catalog(conn), roles, read_profiles(conn), rejected)
        deployed = read_deployed(conn)
        plan = plan_for(conn, policy_set, roles, deployed=deployed)
        database = conn.info.dbname
    operations = plan_operations(plan, deployed, policy_set, sorted(policy_roles(roles)))
    errors = tuple(" ".join(str(e).split()) for e in policy_set.errors)
    if not operations:
        return Revision(None, None, None, plan, 0, errors)
    header = [
        f"pgpolicy revision: the plan for app role(s) {', '.join(roles)} on database {database}",
        summary_line(plan),
        "rules that cannot be compiled, denied to whoever they apply to: "
        + ("none" if not errors else f"{len(errors)}"),
        *(f"  {error}" for error in errors),
    ]
    undo = [
        "puts back the policies, RLS switches and generated functions deployed when",
        "this revision was written (definitions and comments as read from the catalog)",
    ]
    new_id = revision_id or rev_id()
    template_args: dict[str, Any] = {
        "imports": f"{MYPY_LINE}\n{IMPORT_LINE}",
        "upgrades": body(header, operations),
        "downgrades": body(undo, reverse_operations(operations)),
    }
    try:
        with contextlib.redirect_stdout(sys.stderr):  # alembic's progress; stdout is for data
            written = script.generate_revision(new_id, message, head="head", **template_args)
    except CommandError as exc:
        raise PgPolicyError(str(exc)) from exc
    if written is None:
        raise PgPolicyError(f"alembic did not write revision {new_id}")
    down = written.down_revision
    return Revision(
        Path(written.path),
        written.revision,
        down if isinstance(down, str) or down is None else ",".join(down),
        plan,
        len(operations),
        errors,
    )
