"""Analyst logins (runtime 9): a LOGIN role mapped to an Odoo user reads, connected directly
and without any set_context call, exactly what that user may read; nothing it sends changes
its context; archiving the user or removing the mapping closes access at the next
transaction; the columns of fields Odoo restricts with `groups=` stay unreadable unless the
user is in one of the groups.

Each test runs with either implementation of the plan-time functions (`planner`)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from pgpolicy.cli import cli
from pgpolicy.deploy import analysts
from tests import probe
from tests.conftest import Database, clean_env
from tests.security.conftest import PROTECTED
from tests.test_oracle import allowed_ids

LOGIN = "salesman_a"


def role_for(db: Database) -> str:
    """An analyst role of its own per database (roles are the cluster's, tests run at once)."""
    return f"bi_{db.name}"[:63]


@pytest.fixture
def analyst(secured_db: Database, oracle: dict[str, Any]) -> Iterator[str]:
    """salesman_a's analyst login on the secured database, with the oracle's companies."""
    role = role_for(secured_db)
    with psycopg.connect(secured_db.dsn) as conn:
        analysts.add(conn, role, LOGIN, oracle["users"][LOGIN]["allowed_company_ids"])
    yield role
    with psycopg.connect(secured_db.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))


@pytest.fixture
def connect_analyst(
    secured_db: Database, analyst: str, assert_rls_effective: Callable[..., None]
) -> Iterator[Callable[[], psycopg.Connection[Any]]]:
    """`connect_analyst()`: a new connection as the analyst login, RLS asserted effective."""
    opened: list[psycopg.Connection[Any]] = []

    def connect() -> psycopg.Connection[Any]:
        conn = psycopg.connect(secured_db.server.dsn(secured_db.name, user=analyst))
        opened.append(conn)
        assert_rls_effective(conn, PROTECTED)
        conn.rollback()
        return conn

    yield connect
    for conn in opened:
        conn.close()


def superuser_scalar(db: Database, query: str, params: Any = ()) -> Any:
    with psycopg.connect(db.dsn) as conn:
        row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]


def test_analyst_reads_exactly_what_its_odoo_user_may(
    connect_analyst: Callable[[], psycopg.Connection[Any]], oracle: dict[str, Any]
) -> None:
    """Every model of the oracle, read as the analyst login with no set_context call."""
    conn = connect_analyst()
    tables = {info["table"] for info in oracle["models"].values()}
    assert_rls_tables = sorted(tables)
    check = conn.execute(
        "SELECT count(*) FROM pg_class c WHERE c.relname = ANY(%s) AND NOT c.relrowsecurity",
        [assert_rls_tables],
    ).fetchone()
    assert check == (0,)
    mismatches = []
    for model, info in oracle["models"].items():
        expected = allowed_ids(oracle, LOGIN, model)
        got = probe.readable(conn, info["table"])
        conn.rollback()
        if got != expected:
            mismatches.append(f"{model}: missing {sorted(set(expected) - set(got))[:5]} "
                              f"extra {sorted(set(got) - set(expected))[:5]}")  # fmt: skip
    assert any(allowed_ids(oracle, LOGIN, m) for m in oracle["models"])
    assert not mismatches, "\n".join(mismatches)


def test_the_context_cannot_be_changed(
    connect_analyst: Callable[[], psycopg.Connection[Any]],
    secured_db: Database,
    oracle: dict[str, Any],
    app_role: str,
) -> None:
    """set_context, SET, set_config and SET ROLE: each fails or changes nothing."""
    conn = connect_analyst()
    expected = allowed_ids(oracle, LOGIN, "sale.order")
    admin_sees = superuser_scalar(secured_db, "SELECT count(*) FROM public.sale_order")
    assert len(expected) < admin_sees

    def orders() -> list[int]:
        return probe.readable(conn, "sale_order")

    assert orders() == expected
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT pgpolicy.set_context(1, ARRAY[1, 2], true)")
    conn.rollback()
    for statement in (
        "SET pgpolicy.uid = '1'",
        "SET pgpolicy.su = 'true'",
        "SET pgpolicy.company_ids = '1,2'",
        "SELECT set_config('pgpolicy.uid', '2', false)",
        "SELECT set_config('pgpolicy.su', 'true', true), set_config('pgpolicy.uid', '1', true)",
        "SET pgpolicy.shadow = 'true'",
        "SET pgpolicy.seal = '" + "0" * 64 + "'",
    ):
        conn.execute(statement)
        assert orders() == expected, statement
        assert conn.execute("SELECT pgpolicy.uid(), pgpolicy.su()").fetchone() == (15, False)
    conn.rollback()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(app_role)))
    conn.rollback()
    assert orders() == expected


def test_the_analyst_cannot_write_without_write(
    connect_analyst: Callable[[], psycopg.Connection[Any]],
) -> None:
    conn = connect_analyst()
    for statement in (
        "UPDATE public.sale_order SET id = id",
        "DELETE FROM public.res_partner",
        "INSERT INTO public.res_partner (name) VALUES ('x')",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        conn.rollback()


def test_archiving_the_odoo_user_closes_access(
    connect_analyst: Callable[[], psycopg.Connection[Any]],
    secured_db: Database,
    oracle: dict[str, Any],
) -> None:
    conn = connect_analyst()
    assert probe.readable(conn, "sale_order") == allowed_ids(oracle, LOGIN, "sale.order")
    conn.rollback()
    with psycopg.connect(secured_db.dsn) as admin:
        admin.execute("UPDATE public.res_users SET active = false WHERE login = %s", [LOGIN])
    for table in ("sale_order", "res_partner", "res_company"):
        assert probe.readable(conn, table) == [], table
    conn.rollback()
    assert conn.execute("SELECT pgpolicy.uid()").fetchone() == (None,)


def test_removing_the_analyst_closes_access(
    connect_analyst: Callable[[], psycopg.Connection[Any]], secured_db: Database, analyst: str
) -> None:
    conn = connect_analyst()
    assert probe.readable(conn, "sale_order")
    conn.rollback()
    with psycopg.connect(secured_db.dsn) as admin:
        analysts.remove(admin, analyst)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT id FROM public.sale_order")
    conn.rollback()
    # Even where a privilege remained, the context is gone with the mapping.
    assert conn.execute("SELECT pgpolicy.uid()").fetchone() == (None,)


def test_a_column_odoo_never_reads_is_not_readable(
    connect_analyst: Callable[[], psycopg.Connection[Any]], secured_db: Database
) -> None:
    """res_users.password: a column of the table, but Odoo's field `password` is not stored
    (the hash is written with SQL, the ORM reads it for no one)."""
    stored = superuser_scalar(
        secured_db,
        "SELECT (SELECT f.store FROM public.ir_model_fields f"
        " WHERE f.model = 'res.users' AND f.name = 'password'),"
        " EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = 'public.res_users'::regclass"
        " AND a.attname = 'password' AND NOT a.attisdropped)",
    )
    assert stored is False
    conn = connect_analyst()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT password FROM public.res_users")
    conn.rollback()
    assert conn.execute("SELECT login FROM public.res_users WHERE id = 15").fetchone() == (LOGIN,)
    conn.rollback()
    with psycopg.connect(secured_db.dsn) as admin:
        (listed,) = [a for a in analysts.analysts(admin) if a.role == conn.info.user]
    assert "res_users.password" in listed.hidden_columns


def test_a_field_restricted_to_groups_is_readable_by_their_members_only(
    connect_analyst: Callable[[], psycopg.Connection[Any]],
    secured_db: Database,
    analyst: str,
    oracle: dict[str, Any],
) -> None:
    """sale.order's client_order_ref restricted (as `groups=` would) to a group salesman_a is
    not in, then to one it is in: `analyst add` (and apply) recompute the column privileges."""
    user_groups = set(oracle["users"][LOGIN]["group_ids"])
    with psycopg.connect(secured_db.dsn) as admin:
        field_id, lacked, held = admin.execute(
            "SELECT (SELECT id FROM public.ir_model_fields"
            "         WHERE model = 'sale.order' AND name = 'client_order_ref' AND store),"
            "       (SELECT min(id) FROM public.res_groups WHERE NOT id = ANY(%s)),"
            "       (SELECT min(id) FROM public.res_groups WHERE id = ANY(%s))",
            [list(user_groups), list(user_groups)],
        ).fetchone()
        admin.execute(
            "INSERT INTO public.ir_model_fields_group_rel VALUES (%s, %s)", [field_id, lacked]
        )
        analysts.sync_privileges(admin)
    conn = connect_analyst()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT client_order_ref FROM public.sale_order")
    conn.rollback()
    assert conn.execute("SELECT count(name) FROM public.sale_order").fetchone() != (0,)
    conn.rollback()
    with psycopg.connect(secured_db.dsn) as admin:
        admin.execute(
            "INSERT INTO public.ir_model_fields_group_rel VALUES (%s, %s)", [field_id, held]
        )
        analysts.add(admin, analyst, LOGIN, oracle["users"][LOGIN]["allowed_company_ids"])
    conn.execute("SELECT client_order_ref FROM public.sale_order")


def test_explain_shows_the_columns_the_analyst_may_not_read(
    secured_db: Database, analyst: str
) -> None:
    """explain names the user's analyst logins and the columns they may not read, and those
    are exactly the columns PostgreSQL refuses the login (and no other)."""
    result = CliRunner().invoke(
        cli, ["--dsn", secured_db.dsn, "--format", "json", "explain", "--user", LOGIN,
              "--model", "res.users"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    explained = json.loads(result.output)
    assert explained["analyst_logins"] == [analyst]
    refused = superuser_scalar(
        secured_db,
        "SELECT array_agg(attname::text ORDER BY attname) FROM pg_attribute"
        " WHERE attrelid = 'public.res_users'::regclass AND attnum > 0 AND NOT attisdropped"
        " AND NOT has_column_privilege(%s, attrelid, attnum, 'SELECT')",
        [analyst],
    )
    assert "password" in refused and "login" not in refused
    assert explained["hidden_columns"] == refused
    text = (
        CliRunner()
        .invoke(cli, ["--dsn", secured_db.dsn, "explain", "--user", LOGIN, "--model", "res.users"])
        .output
    )
    assert f"analyst logins of this user: {analyst}; columns they may not read" in text


def test_psql_as_the_analyst_reads_the_users_rows(
    secured_db: Database, analyst: str, oracle: dict[str, Any]
) -> None:
    """The client an analyst actually uses: psql (the server's own), one session, no
    set_context; a SET and a set_config in between change nothing."""
    expected = allowed_ids(oracle, LOGIN, "sale.order")
    query = "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM public.sale_order;"
    script = "\n".join(
        [
            query,
            "SET pgpolicy.uid = '1';",
            "SELECT set_config('pgpolicy.su', 'true', false) IS NOT NULL;",
            query,
            "SELECT count(*) FROM public.sale_order;",
        ]
    )
    server = secured_db.server
    done = subprocess.run(
        [str(server.bindir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
         "-h", str(server.host), "-p", str(server.port), "-U", analyst, "-d", secured_db.name],
        input=script, capture_output=True, text=True, env=clean_env(), timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, changed, second, count = done.stdout.split("\n")[:4]
    ids = [int(i) for i in first.split(",") if i]
    assert ids == expected and second == first and changed == "t"
    assert (
        int(count)
        == len(expected)
        < superuser_scalar(secured_db, "SELECT count(*) FROM public.sale_order")
    )


@pytest.mark.xdist_group("odoo19")
def test_odoo19_a_group_the_user_has_by_implication_opens_its_columns(
    enforced19_db: Database, assert_rls_effective: Callable[..., None]
) -> None:
    """Odoo 19.0 writes in res_groups_users_rel only the groups given to a user and counts
    the groups they imply too (`all_group_ids`, the closure over res_groups_implied_rel): a
    column restricted to a group salesman_a has only by implication is readable by the
    analyst login, one restricted to a group outside the closure stays refused."""
    role = role_for(enforced19_db)
    with psycopg.connect(enforced19_db.dsn) as admin:
        uid = analysts.odoo_user(admin, LOGIN)
        implied, outside = admin.execute(
            """
            WITH RECURSIVE g(id) AS (
                SELECT gid FROM public.res_groups_users_rel WHERE uid = %(uid)s
                UNION SELECT i.hid FROM public.res_groups_implied_rel i JOIN g ON i.gid = g.id)
            SELECT (SELECT min(id) FROM g WHERE id NOT IN
                        (SELECT gid FROM public.res_groups_users_rel WHERE uid = %(uid)s)),
                   (SELECT min(id) FROM public.res_groups WHERE id NOT IN (SELECT id FROM g))
            """,
            {"uid": uid},
        ).fetchone()
        assert implied is not None and outside is not None
        for name, group in (("client_order_ref", implied), ("origin", outside)):
            admin.execute(
                "INSERT INTO public.ir_model_fields_group_rel SELECT id, %s"
                " FROM public.ir_model_fields WHERE model = 'sale.order' AND name = %s AND store",
                [group, name],
            )
        analysts.add(admin, role, LOGIN)
    try:
        with psycopg.connect(enforced19_db.server.dsn(enforced19_db.name, user=role)) as conn:
            assert_rls_effective(conn, PROTECTED)
            conn.rollback()
            assert conn.execute("SELECT count(client_order_ref) FROM public.sale_order")
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT origin FROM public.sale_order")
        # explain reports the columns PostgreSQL refuses the login, and no other
        result = CliRunner().invoke(
            cli, ["--dsn", enforced19_db.dsn, "--format", "json", "explain", "--user", LOGIN,
                  "--model", "sale.order"]
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        refused = superuser_scalar(
            enforced19_db,
            "SELECT array_agg(attname::text ORDER BY attname) FROM pg_attribute"
            " WHERE attrelid = 'public.sale_order'::regclass AND attnum > 0"
            " AND NOT attisdropped AND NOT has_column_privilege(%s, attrelid, attnum, 'SELECT')",
            [role],
        )
        assert "origin" in refused and "client_order_ref" not in refused
        assert json.loads(result.output)["hidden_columns"] == refused
    finally:
        with psycopg.connect(enforced19_db.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
