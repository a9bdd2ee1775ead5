"""The test bed itself: the servers are the versions they claim, the Odoo database is there, and
`assert_rls_effective` tells a connection that RLS filters from one it silently does not."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Database, PgServer, selected_versions


def test_server_answers_with_its_major_version(pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.dsn("postgres")) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    assert int(row[0]) // 10000 == pg_server.version


def test_client_programs_match_the_server(pg_server: PgServer) -> None:
    for program in ("pg_restore", "psql"):
        out = subprocess.run(
            [str(pg_server.bindir / program), "--version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f" {pg_server.version}." in out, out


def test_a_missing_server_is_an_error_not_a_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PGPOLICY_PG15_BINDIR", str(tmp_path))
    with pytest.raises(
        RuntimeError, match=r"PostgreSQL 15 binaries not found in .*PGPOLICY_TEST_SERVERS"
    ):
        PgServer.start(15)


@pytest.mark.parametrize(
    ("value", "versions"), [("18", [18]), ("18, 15,", [15, 18]), ("15,16", None), (",", None)]
)
def test_server_selection(
    monkeypatch: pytest.MonkeyPatch, value: str, versions: list[int] | None
) -> None:
    monkeypatch.setenv("PGPOLICY_TEST_SERVERS", value)
    if versions is None:
        with pytest.raises(pytest.UsageError):
            selected_versions()
    else:
        assert selected_versions() == versions


def test_template_holds_the_odoo_database(odoo_db: Database) -> None:
    with psycopg.connect(odoo_db.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM ir_rule WHERE active").fetchone() == (295,)
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    assert owners == [(odoo_db.server.superuser,)]  # restored without Odoo's owner


def test_each_test_gets_its_own_clone(odoo_db: Database, odoo_template: str) -> None:
    with psycopg.connect(odoo_db.dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM ir_rule")
        assert conn.execute("SELECT current_database()").fetchone() == (odoo_db.name,)
        template = conn.execute(
            "SELECT datistemplate, datallowconn FROM pg_database WHERE datname = %s",
            [odoo_template],
        ).fetchone()
    assert template == (True, False)  # the template itself cannot be connected to nor changed


def test_app_role_has_no_way_around_rls(pg_server: PgServer, app_role: str) -> None:
    with psycopg.connect(pg_server.dsn("postgres")) as conn:
        row = conn.execute(
            "SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb"
            " FROM pg_roles WHERE rolname = %s",
            [app_role],
        ).fetchone()
    assert row == (True, False, False, False, False)


@pytest.fixture
def deny_all(empty_db: Database, grant_app: Callable[[Database], None]) -> Database:
    """A table with three rows, RLS enabled and no policy: PostgreSQL's default is deny."""
    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE secret (id int PRIMARY KEY)")
        conn.execute("INSERT INTO secret SELECT generate_series(1, 3)")
        conn.execute("ALTER TABLE secret ENABLE ROW LEVEL SECURITY")
    grant_app(empty_db)
    return empty_db


def test_rls_without_policy_hides_every_row_from_the_app(
    deny_all: Database,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    with psycopg.connect(app_dsn(deny_all)) as app:
        assert_rls_effective(app, ["secret"])
        assert app.execute("SELECT count(*) FROM secret").fetchone() == (0,)


def test_the_superuser_reads_through_rls(
    deny_all: Database, assert_rls_effective: Callable[..., None]
) -> None:
    # The same table, all rows: a test that forgot to prove RLS applies would pass for nothing.
    with psycopg.connect(deny_all.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM secret").fetchone() == (3,)
        with pytest.raises(AssertionError, match="is a superuser"):
            assert_rls_effective(conn)


def test_the_owner_reads_through_rls_unless_forced(
    empty_db: Database,
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE mine (id int)")
        conn.execute("INSERT INTO mine VALUES (1)")
        conn.execute("ALTER TABLE mine ENABLE ROW LEVEL SECURITY")
        conn.execute(f"ALTER TABLE mine OWNER TO {app_role}")
        conn.execute("CREATE TABLE plain (id int)")
        conn.execute(f"GRANT SELECT ON plain TO {app_role}")
    with psycopg.connect(app_dsn(empty_db), autocommit=True) as app:
        assert app.execute("SELECT count(*) FROM mine").fetchone() == (1,)
        with pytest.raises(AssertionError, match="no FORCE ROW LEVEL SECURITY"):
            assert_rls_effective(app, ["mine"])
        with pytest.raises(AssertionError, match="not enabled"):
            assert_rls_effective(app, ["plain"])
        with pytest.raises(AssertionError, match="no such table"):
            assert_rls_effective(app, ["public.nowhere"])
        app.execute("ALTER TABLE mine FORCE ROW LEVEL SECURITY")
        assert_rls_effective(app, ["mine"])
        assert app.execute("SELECT count(*) FROM mine").fetchone() == (0,)


def test_bypassrls_role_is_refused(
    empty_db: Database, assert_rls_effective: Callable[..., None]
) -> None:
    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE pgpolicy_bypass_probe NOLOGIN BYPASSRLS")
        try:
            conn.execute("SET ROLE pgpolicy_bypass_probe")
            with pytest.raises(AssertionError, match="has BYPASSRLS"):
                assert_rls_effective(conn)
        finally:
            conn.execute("RESET ROLE")
            conn.execute("DROP ROLE pgpolicy_bypass_probe")


def test_databases_are_dropped_after_each_test(pg_server: PgServer) -> None:
    with psycopg.connect(pg_server.dsn("postgres")) as conn:
        rows: list[Any] = conn.execute(
            "SELECT datname FROM pg_database WHERE datname ~ '^(odoo|empty)_'"
        ).fetchall()
    assert rows == []
