"""Managed PostgreSQL (RDS, Cloud SQL, Azure): pgpolicy deployed with no superuser at all.

The Odoo 18 dump is restored by a LOGIN role that is NOSUPERUSER NOBYPASSRLS CREATEROLE and
owns the database and every table in it, nothing more, as a managed service's master user.
Every step runs connected as that role only: the runtime's alembic upgrade, `init`, `apply`,
`status`, a profile, a module's new table, a policy revision of the DBA's own alembic project
with the autogenerate plugin; then the app role reads through the bridge's statements and
matches the Odoo 18 oracle (3968 / 3968), with row level security asserted effective. What
only a superuser may do is refused by the server, and pgpolicy says so in one line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from odoo_bridge.pgpolicy_bridge.lib.bridge import Bridge
from odoo_bridge.pgpolicy_bridge.lib.context import Context
from odoo_bridge.pgpolicy_bridge.lib.health import role_health
from tests import probe
from tests.conftest import (
    REPO_ROOT,
    Database,
    PgServer,
    check_rls_effective,
    clean_env,
    create_database,
    drop_database,
    restore_as_owner,
)
from tests.test_bridge import BridgedCursor, orm_file_rules, user
from tests.test_migrations import alembic, dba_project
from tests.test_oracle import allowed_ids, compare_with_oracle
from tests.test_profiles import BIG, BIG_ORDERS, SALESMGR, STOCK_USER, oracle_ids, visible

pytestmark = pytest.mark.xdist_group("managed")  # one restore per server, on one worker

MANAGED_ROLE = "pgpolicy_managed_owner"
MANAGED_TEMPLATE_DB = "odoo18_managed_template"

_templates: dict[int, str] = {}


def managed_template_of(server: PgServer, shared_dir: Path) -> str:
    """The Odoo dump restored as the managed role, nothing installed: once per server."""
    if server.version not in _templates:
        dump = shared_dir / "odoo18" / "odoo18.dump"
        if not dump.is_file():
            pytest.fail(f"Odoo dump not found: {dump}", pytrace=False)
        with server.admin() as conn:  # what the managed service gives: no superuser
            if not conn.execute("SELECT FROM pg_roles WHERE rolname = %s", [MANAGED_ROLE]).rowcount:
                conn.execute(
                    sql.SQL(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE NOCREATEDB"
                    ).format(sql.Identifier(MANAGED_ROLE))
                )
            # the analysts' group, as another database of the cluster deployed first by a
            # superuser left it (the managed role has no ADMIN OPTION on it)
            if not conn.execute(
                "SELECT FROM pg_roles WHERE rolname = 'pgpolicy_analysts'"
            ).rowcount:
                conn.execute("CREATE ROLE pgpolicy_analysts NOLOGIN")
        name = f"{MANAGED_TEMPLATE_DB}_{uuid.uuid4().hex[:8]}"
        restore_as_owner(server, dump, name, MANAGED_ROLE)
        with server.admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
                .format(sql.Identifier(name))
            )  # fmt: skip
        _templates[server.version] = name
    return _templates[server.version]


@pytest.fixture(scope="module")
def managed_copies() -> Iterator[dict[int, Database]]:
    """The module's copies, one per server, made on first use and dropped at the end."""
    copies: dict[int, Database] = {}
    yield copies
    for db in copies.values():
        drop_database(db)


@pytest.fixture
def managed(pg_server: PgServer, shared_dir: Path, managed_copies: dict[int, Database]) -> Database:
    """A copy of the Odoo database owned by the managed role, whose `dsn` connects as it.

    Shared by this module's tests on one server, which follow the order of a deployment
    (kept per server: the tests of both servers may come interleaved)."""
    if pg_server.version not in managed_copies:
        template = managed_template_of(pg_server, shared_dir)
        db = create_database(pg_server, "managed", template=template)
        with pg_server.admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(db.name), sql.Identifier(MANAGED_ROLE)
                )
            )
        managed_copies[pg_server.version] = db
    db = managed_copies[pg_server.version]
    return Database(db.name, pg_server.dsn(db.name, user=MANAGED_ROLE), pg_server)


def as_admin(db: Database) -> psycopg.Connection[Any]:
    """The server's superuser, only to look (never to deploy): what a managed service's
    support would see."""
    return psycopg.connect(db.server.dsn(db.name), autocommit=True)


def pgpolicy(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line, connected as the managed role."""
    return subprocess.run(
        [sys.executable, "-m", "pgpolicy", "--dsn", db.dsn, *args],
        cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def runtime_alembic(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    """The runtime's own alembic environment, as docs/dba-workflow.md shows it."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO_ROOT / "alembic" / "alembic.ini"),
         "-x", f"dsn={db.dsn}", *args],
        cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def step_the_deploying_role_is_no_superuser(managed: Database) -> None:
    with psycopg.connect(managed.dsn) as conn:
        role = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin"
            " FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert role == (False, False, True, False, True)
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c"
            " WHERE c.relnamespace = 'public'::regnamespace"
        ).fetchall()
        assert owners == [(MANAGED_ROLE,)]
        database_owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert database_owner == (MANAGED_ROLE,)


def step_init_upgrades_the_runtime_without_a_superuser(managed: Database, app_role: str) -> None:
    first = runtime_alembic(managed, "upgrade", "0006")
    assert first.returncode == 0, first.stderr
    done = pgpolicy(managed, "init", "--app-role", app_role)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"upgraded the pgpolicy runtime from version 6 to 12; granted to {app_role}"
    ), done.stdout
    current = runtime_alembic(managed, "current")
    assert current.returncode == 0 and "0012 (head)" in current.stdout, current.stderr
    with as_admin(managed) as admin:
        # no event trigger: PostgreSQL allows it to superusers only
        assert admin.execute("SELECT count(*) FROM pg_event_trigger").fetchone() == (0,)
        definers = admin.execute(
            "SELECT DISTINCT pg_get_userbyid(p.proowner), r.rolsuper FROM pg_proc p"
            " JOIN pg_roles r ON r.oid = p.proowner"
            " WHERE p.pronamespace = 'pgpolicy'::regnamespace AND p.prosecdef"
        ).fetchall()
        assert definers == [(MANAGED_ROLE, False)]
        # the app role gets no default privileges: nothing created later reaches it unasked
        defaults = admin.execute(
            "SELECT count(*) FROM pg_default_acl d, aclexplode(d.defaclacl) a"
            " WHERE a.grantee = %s::regrole",
            [app_role],
        ).fetchone()
        assert defaults == (0,)
    again = pgpolicy(managed, "init", "--app-role", app_role)
    assert again.returncode == 0 and "runtime at version 12, nothing to do" in again.stdout


def step_apply_and_status_say_managed(managed: Database, app_role: str) -> None:
    done = pgpolicy(managed, "apply", "--app-role", app_role)
    assert done.returncode == 0, done.stderr
    assert re.match(r"applied \d{4} change\(s\)", done.stdout), done.stdout
    status = pgpolicy(managed, "status", "--app-role", app_role)
    assert status.returncode == 0, status.stdout + status.stderr
    assert (
        f"mode: managed (runtime owned by {MANAGED_ROLE}, not a superuser): no event trigger"
        in status.stdout
    )
    assert "unprotected" not in status.stdout and "ERROR" not in status.stdout
    again = pgpolicy(managed, "apply", "--app-role", app_role)
    assert again.returncode == 0 and again.stdout.startswith("applied 0 change(s)"), again.stdout
    with as_admin(managed) as admin:
        forced = admin.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " AND relforcerowsecurity"
        ).fetchone()
        assert forced == (0,)  # the owner's functions read past the policies: never FORCE


def step_the_oracle_holds_through_the_app_role(
    managed: Database,
    app_role: str,
    app_dsn: Callable[[Any], str],
    oracle: dict[str, Any],
) -> None:
    """The probes are installed by the managed role too (it owns the tables), and removed
    afterwards (their copies of the tables would be relations the app role reaches)."""
    try:
        combos, mismatches = compare_with_oracle(
            managed, app_role, app_dsn, check_rls_effective, oracle
        )
    finally:
        with psycopg.connect(managed.dsn) as owner:
            owner.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(probe.PROBE_SCHEMA)
                )
            )
    assert combos == 3968
    assert not mismatches, f"{len(mismatches)} of {combos} differ:\n" + "\n".join(mismatches)


def step_the_bridge_statements(
    managed: Database, app_dsn: Callable[[Any], str], oracle: dict[str, Any]
) -> None:
    with psycopg.connect(managed.dsn) as owner:  # the owner reads past the policies
        every_order = [r[0] for r in owner.execute("SELECT id FROM sale_order ORDER BY id")]
    with psycopg.connect(app_dsn(managed), cursor_factory=psycopg.ClientCursor) as app:
        check_rls_effective(app, ["sale_order", "res_partner"])
        health = role_health(app.cursor())
        assert health.enforced, health.summary()
        app.rollback()
        cursor = BridgedCursor(app, Bridge(orm_file_rules()))
        assert cursor.ids("sale_order") == []  # no principal, nothing
        app.rollback()
        cursor.state.claim(user(oracle, "salesman_a"))
        mine = allowed_ids(oracle, "salesman_a", "sale.order")
        assert 0 < len(mine) < len(every_order)
        assert cursor.ids("sale_order") == mine  # raw SQL: the user's rules
        assert cursor.orm_ids("sale_order") == every_order  # the ORM's: mirrors lifted
        assert cursor.ids("sale_order") == mine
        assert cursor.state.transaction.sent == Context(15, (1,), False)
        app.rollback()
        # set_context and SET from the same connection: only the former counts
        app.execute("SET pgpolicy.uid = '1'")
        assert app.execute("SELECT count(*) FROM sale_order").fetchone() == (0,)
        app.rollback()


def step_a_profile(
    managed: Database, app_role: str, app_dsn: Callable[[Any], str], shared_dir: Path
) -> None:
    profiles = Path(managed.server.rundir) / f"profiles-{managed.name}.yaml"
    profiles.write_text(BIG)
    imported = pgpolicy(managed, "profile", "import", str(profiles))
    assert imported.returncode == 0, imported.stderr
    applied = pgpolicy(managed, "apply", "--app-role", app_role)
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(managed.dsn) as owner:
        big = {r[0] for r in owner.execute(BIG_ORDERS)}
    odoo = oracle_ids(shared_dir, "salesmgr_ab", "sale.order")
    assert odoo & big and odoo - big
    with psycopg.connect(app_dsn(managed)) as app:
        assert visible(app, SALESMGR, [1, 2]) == odoo & big
        assert visible(app, STOCK_USER, [1]) == oracle_ids(shared_dir, "stock_user", "sale.order")


def step_what_only_a_superuser_may_do_is_refused(managed: Database) -> None:
    """The server refuses it to the managed role; pgpolicy says so in one line and changes
    nothing."""
    planner_on = pgpolicy(managed, "planner", "on")
    assert planner_on.returncode == 1
    assert planner_on.stderr == (
        "pgpolicy: error: planner: only a superuser may replace the plan-time functions "
        "(managed mode, no superuser: PostgreSQL loads C functions only for a superuser, so "
        "the SQL plan-time functions stay; same results, slower planning)\n"
    )
    planner_off = pgpolicy(managed, "planner", "off")
    assert planner_off.returncode == 0 and planner_off.stdout == "plan-time functions: SQL\n"
    leakproof = pgpolicy(managed, "like-leakproof", "on")
    assert leakproof.returncode == 1
    assert leakproof.stderr == (
        "pgpolicy: error: like-leakproof: only a superuser may change LEAKPROOF, and this "
        "database is in managed mode (no superuser): substring searches under row level "
        "security cannot use their index\n"
    )
    shown = pgpolicy(managed, "like-leakproof")
    assert shown.returncode == 0 and re.search(r"\n0 of \d+ LIKE-family functions", shown.stdout)
    # what PostgreSQL itself answers the managed role (docs/dba-workflow.md quotes it)
    refused = {
        "CREATE EVENT TRIGGER pgpolicy_try ON ddl_command_end"
        " EXECUTE FUNCTION pgpolicy.protect_new_relations()":
            'permission denied to create event trigger "pgpolicy_try"',
        "ALTER FUNCTION pg_catalog.texticlike(text, text) LEAKPROOF":
            "must be owner of function pg_catalog.texticlike",
        "CREATE FUNCTION public.pgpolicy_try() RETURNS integer LANGUAGE sql LEAKPROOF"
        " AS 'SELECT 1'": "only superuser can define a leakproof function",
        "CREATE FUNCTION public.pgpolicy_try() RETURNS integer LANGUAGE c"
        " AS 'pgpolicy_planner', 'pgpolicy_uid'": "permission denied for language c",
        "CREATE ROLE pgpolicy_try BYPASSRLS": {
            15: "must be superuser to create bypassrls users",
            18: "permission denied to create role",
        }[managed.server.version],
    }  # fmt: skip
    with psycopg.connect(managed.dsn, autocommit=True) as conn:
        for statement, message in refused.items():
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refusal:
                conn.execute(statement.encode())
            assert refusal.value.diag.message_primary == message, statement


def step_a_table_created_after_apply_reaches_no_app_role_until_apply(
    managed: Database, app_role: str, app_dsn: Callable[[Any], str]
) -> None:
    """No event trigger in managed mode: a module's new table and view (created by the owner,
    as `odoo -i` does) get no privilege for the app role until `apply` protects them."""
    with psycopg.connect(managed.dsn) as owner:
        owner.execute("CREATE TABLE public.x_managed_note (id serial PRIMARY KEY, body text)")
        owner.execute("INSERT INTO public.x_managed_note (body) VALUES ('secret')")
        owner.execute("CREATE VIEW public.x_managed_orders AS SELECT id, name FROM sale_order")
    status = pgpolicy(managed, "status", "--app-role", app_role)
    assert status.returncode == 1
    for pending in (
        "table x_managed_note",
        "view x_managed_orders",
        "sequence x_managed_note_id_seq",
    ):
        assert f"pending: {pending} (created after apply; run apply)" in status.stdout, (
            status.stdout
        )
    assert "unprotected" not in status.stdout  # nothing reaches them
    with psycopg.connect(app_dsn(managed)) as app:
        for relation in ("x_managed_note", "x_managed_orders"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(relation)))
            app.rollback()
    applied = pgpolicy(managed, "apply", "--app-role", app_role)
    assert applied.returncode == 0, applied.stderr
    assert pgpolicy(managed, "status", "--app-role", app_role).returncode == 0
    with psycopg.connect(app_dsn(managed)) as app:
        check_rls_effective(app, ["x_managed_note", "sale_order"])
        app.execute("SELECT pgpolicy.set_context(15, ARRAY[1], false)")
        # a table no model maps: the system principal only; the view reads with the
        # querying role's rights, so the policies of sale_order hold
        assert app.execute("SELECT count(*) FROM x_managed_note").fetchone() == (0,)
        mine = app.execute("SELECT count(*) FROM sale_order").fetchone()
        assert app.execute("SELECT count(*) FROM x_managed_orders").fetchone() == mine
        app.rollback()
        app.execute("SELECT pgpolicy.set_context(1, ARRAY[1], true)")
        assert app.execute("SELECT count(*) FROM x_managed_note").fetchone() == (1,)


def step_a_policy_revision_of_the_dbas_alembic_project(
    managed: Database, app_role: str, tmp_path: Path
) -> None:
    """`pgpolicy revision`, `alembic upgrade`, `alembic check` (the autogenerate plugin), all
    as the managed role: a hand edit is seen and repaired."""
    project = dba_project(tmp_path / "dba", managed, app_role)
    ini = project / "alembic.ini"
    ini.write_text(
        ini.read_text().replace(
            f"postgresql+psycopg://{managed.server.superuser}@",
            f"postgresql+psycopg://{MANAGED_ROLE}@",
        )
    )
    assert f"{MANAGED_ROLE}@" in ini.read_text()
    assert "No new upgrade operations detected" in alembic(project, "check").stdout
    with psycopg.connect(managed.dsn) as owner:
        owner.execute("ALTER POLICY pgpolicy_read_rule_254 ON sale_order USING (true)")
    drift = alembic(project, "check", ok=False)
    assert drift.returncode != 0 and "drift: edited by hand" in drift.stdout + drift.stderr
    written = pgpolicy(
        managed, "revision", "--app-role", app_role, "-m", "repair",
        "--directory", str(project / "alembic"),
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert "1 operation(s): 1 replace" in written.stdout, written.stdout
    alembic(project, "upgrade", "head")
    assert "No new upgrade operations detected" in alembic(project, "check").stdout
    alembic(project, "downgrade", "-1")
    assert alembic(project, "check", ok=False).returncode != 0  # the hand edit is back
    alembic(project, "upgrade", "head")
    applied = pgpolicy(managed, "apply", "--app-role", app_role)  # grants alembic_version
    assert applied.returncode == 0, applied.stderr
    assert pgpolicy(managed, "status", "--app-role", app_role).returncode == 0


def step_analyst_logins_with_createrole(managed: Database, oracle: dict[str, Any]) -> None:
    """CREATEROLE creates the login; since PostgreSQL 16, granting it the analysts' group
    takes ADMIN OPTION on the group, which its creator (here a superuser) must give."""
    login = f"bi_managed_{uuid.uuid4().hex[:8]}"
    added = pgpolicy(managed, "analyst", "add", "--login", login, "--odoo-user", "salesman_a")
    if managed.server.version >= 16:
        assert added.returncode == 1
        assert added.stderr == (
            f"pgpolicy: error: cannot make {login} a member of pgpolicy_analysts: permission "
            'denied to grant role "pgpolicy_analysts" (since PostgreSQL 16 a role with '
            "CREATEROLE grants only roles it has ADMIN OPTION on; the group's creator can give "
            "it: GRANT pgpolicy_analysts TO <this role> WITH ADMIN OPTION)\n"
        )
        with as_admin(managed) as admin:
            assert not admin.execute(  # nothing was kept
                "SELECT FROM pg_roles WHERE rolname = %s", [login]
            ).rowcount
            admin.execute(
                sql.SQL("GRANT pgpolicy_analysts TO {} WITH ADMIN OPTION").format(
                    sql.Identifier(MANAGED_ROLE)
                )
            )
        added = pgpolicy(managed, "analyst", "add", "--login", login, "--odoo-user", "salesman_a")
    assert added.returncode == 0, added.stderr
    with psycopg.connect(managed.server.dsn(managed.name, user=login)) as analyst:
        check_rls_effective(analyst, ["sale_order"])
        ids = [r[0] for r in analyst.execute("SELECT id FROM sale_order ORDER BY id")]
        assert ids == allowed_ids(oracle, "salesman_a", "sale.order")


def step_force_on_an_owned_table_is_reported_and_refused(managed: Database, app_role: str) -> None:
    """FORCE would subject the runtime's readers (the owner's) to the policies: `status`
    reports it, `apply` refuses in one line and changes nothing."""
    with psycopg.connect(managed.dsn) as owner:
        owner.execute("ALTER TABLE public.res_groups_users_rel FORCE ROW LEVEL SECURITY")
    problem = (
        "FORCE ROW LEVEL SECURITY is set on 1 table(s) (res_groups_users_rel): the runtime "
        "reads the tables as their owner, past row level security (ALTER TABLE ... NO FORCE "
        "ROW LEVEL SECURITY)"
    )
    status = pgpolicy(managed, "status", "--app-role", app_role)
    assert status.returncode == 1 and f"ERROR: {problem}\n" in status.stdout, status.stdout
    applied = pgpolicy(managed, "apply", "--app-role", app_role)
    assert applied.returncode == 1
    assert applied.stderr == (
        f"pgpolicy: error: {MANAGED_ROLE} is not a superuser, and cannot deploy in managed "
        f"mode: {problem}\n"
    )
    with psycopg.connect(managed.dsn) as owner:
        owner.execute("ALTER TABLE public.res_groups_users_rel NO FORCE ROW LEVEL SECURITY")
    assert pgpolicy(managed, "status", "--app-role", app_role).returncode == 0


def test_a_deployment_without_a_superuser(
    managed: Database,
    app_role: str,
    app_dsn: Callable[[Database], str],
    oracle: dict[str, Any],
    shared_dir: Path,
    tmp_path: Path,
) -> None:
    """The steps of a deployment on a managed service, in their order, on one database per
    server (one test: each step needs the ones before it)."""
    step_the_deploying_role_is_no_superuser(managed)
    step_init_upgrades_the_runtime_without_a_superuser(managed, app_role)
    step_apply_and_status_say_managed(managed, app_role)
    step_the_oracle_holds_through_the_app_role(managed, app_role, app_dsn, oracle)
    step_the_bridge_statements(managed, app_dsn, oracle)
    step_a_profile(managed, app_role, app_dsn, shared_dir)
    step_what_only_a_superuser_may_do_is_refused(managed)
    step_a_table_created_after_apply_reaches_no_app_role_until_apply(managed, app_role, app_dsn)
    step_a_policy_revision_of_the_dbas_alembic_project(managed, app_role, tmp_path)
    step_analyst_logins_with_createrole(managed, oracle)
    step_force_on_an_owned_table_is_reported_and_refused(managed, app_role)
