"""What Odoo does after `apply`: tables, views and sequences created by a module install, by
Odoo at run time or by hand are protected from the moment they exist (runtime 7's event
trigger), `status` reports them as pending, and the next `apply` gives them their compiled
policies. Privileges of the app role are pgpolicy's: granted by `init` and `apply`, for
what exists and what is created later (default privileges).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from pgpolicy.cli import cli
from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.odoo.metadata import read_catalog
from tests.conftest import Database, EnforcedTemplate, PgServer, create_database, drop_database, run

OWNER_ROLE = "pgpolicy_lifecycle_owner"  # a table owner that is not a superuser
SALESMAN = (15, [1])  # salesman_a: base.group_user, company 1
PORTAL = (21, [1])  # portal_user: not an internal user
SYSTEM = (1, [1])  # uid 1 in superuser mode: registry loading, module install


@contextmanager
def connect(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


def count(conn: psycopg.Connection[Any], relation: str, context: Any = None) -> int:
    """Rows of `relation` the connected role reads, in a transaction with `context`
    ((uid, companies), superuser mode for the system principal only) or none."""
    with conn.transaction():
        if context is not None:
            uid, companies = context
            conn.execute("SELECT pgpolicy.set_context(%s, %s, %s)", [uid, companies, uid == 1])
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(relation))
        ).fetchone()
    assert row is not None
    return int(row[0])


def owner_role(db: Database) -> str:
    """A login role that is not a superuser and may create in schema public (created once
    per server; roles are cluster-wide)."""
    with connect(db.server.dsn("postgres")) as conn:
        conn.execute(
            sql.SQL(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) THEN "
                "CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$"
            ).format(name=sql.Literal(OWNER_ROLE), role=sql.Identifier(OWNER_ROLE))
        )
    with connect(db.dsn) as conn:
        conn.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(
            sql.Identifier(OWNER_ROLE)
        ))  # fmt: skip
    return OWNER_ROLE


def register_manual_model(conn: psycopg.Connection[Any], model: str) -> None:
    """What Odoo writes for a custom model created in Settings → Technical: the model, its
    fields, and an access right for internal users (read and write)."""
    model_id = conn.execute(
        'INSERT INTO ir_model (model, "order", name, state) '
        "VALUES (%s, 'id', %s, 'manual') RETURNING id",
        [model, json.dumps({"en_US": "Lifecycle note"})],
    ).fetchone()
    assert model_id is not None
    # Odoo's magic field is `base`; only x_ fields may be `manual`.
    for name, ttype, state in (("id", "integer", "base"), ("x_name", "char", "manual")):
        conn.execute(
            "INSERT INTO ir_model_fields (model_id, name, model, ttype, state, "
            "field_description, store) VALUES (%s, %s, %s, %s, %s, %s, true)",
            [model_id[0], name, model, ttype, state, json.dumps({"en_US": name})],
        )
    group = conn.execute(
        "SELECT res_id FROM ir_model_data WHERE module = 'base' AND name = 'group_user'"
    ).fetchone()
    assert group is not None
    conn.execute(
        "INSERT INTO ir_model_access (model_id, name, group_id, active, perm_read, perm_write, "
        "perm_create, perm_unlink) VALUES (%s, 'access_x_lifecycle_note', %s, true, true, true, "
        "true, true)",
        [model_id[0], group[0]],
    )


def reloptions(conn: psycopg.Connection[Any], relation: str) -> list[str]:
    row = conn.execute(
        "SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = %s::regclass", [relation]
    ).fetchone()
    assert row is not None
    return list(row[0])


def policy_names(conn: psycopg.Connection[Any], table: str) -> set[str]:
    rows = conn.execute("SELECT policyname FROM pg_policies WHERE tablename = %s", [table])
    return {name for (name,) in rows}


def status(db: Database, app_role: str) -> Any:
    return CliRunner().invoke(cli, ["--dsn", db.dsn, "status", "--app-role", app_role])


def test_relations_created_after_apply_are_protected_until_apply(
    enforced_db: Database,
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    db = enforced_db
    owner = owner_role(db)
    assert status(db, app_role).exit_code == 0  # applied, nothing pending
    app = sql.Identifier(app_role)

    # A module install by a table owner that is not a superuser: a table with rows, granted
    # to the app role by hand (as before: its default privileges do not cover this owner).
    with connect(db.server.dsn(db.name, user=owner)) as conn:
        conn.execute("CREATE TABLE x_lifecycle_note (id serial PRIMARY KEY, x_name varchar)")
        conn.execute("INSERT INTO x_lifecycle_note (x_name) VALUES ('a'), ('b'), ('c')")
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON x_lifecycle_note TO {}")
                     .format(app))  # fmt: skip
        conn.execute(sql.SQL("GRANT USAGE, SELECT, UPDATE ON x_lifecycle_note_id_seq TO {}")
                     .format(app))  # fmt: skip
    # By the superuser that owns Odoo's tables: a report view over sale_order (as Odoo
    # creates them: CREATE OR REPLACE VIEW), a table no model maps to, and a sequence.
    with connect(db.dsn) as conn:
        conn.execute(
            "CREATE OR REPLACE VIEW lifecycle_order_report AS SELECT id, name FROM sale_order"
        )
        conn.execute("CREATE TABLE lifecycle_audit (id integer, note text)")
        conn.execute("INSERT INTO lifecycle_audit VALUES (1, 'x'), (2, 'y')")
        conn.execute("CREATE SEQUENCE lifecycle_seq")
        total_orders = count(conn, "sale_order")
        assert total_orders > 1
        assert reloptions(conn, "lifecycle_order_report") == ["security_invoker=true"]
        assert policy_names(conn, "x_lifecycle_note") == {"pgpolicy_pending"}

    with connect(app_dsn(db)) as conn:
        assert_rls_effective(conn, ["x_lifecycle_note", "lifecycle_audit", "sale_order"])
        for relation in ("x_lifecycle_note", "lifecycle_audit"):
            assert count(conn, relation) == 0
            assert count(conn, relation, SALESMAN) == 0
            assert count(conn, relation, PORTAL) == 0
        assert count(conn, "x_lifecycle_note", SYSTEM) == 3  # module install code reads it
        # The view reads sale_order with the app role's policies, never with its owner's
        # rights: nothing without a context, the user's own orders with one.
        assert count(conn, "lifecycle_order_report") == 0
        own = count(conn, "sale_order", SALESMAN)
        assert count(conn, "lifecycle_order_report", SALESMAN) == own < total_orders
        # Default privileges of the tables' owner (granted by init): the new sequence and
        # table are reachable without a hand-written GRANT.
        with conn.transaction():
            conn.execute("SELECT pgpolicy.set_context(1, '{1}', true)")
            assert conn.execute("SELECT nextval('lifecycle_seq')").fetchone() == (1,)
            conn.execute("INSERT INTO lifecycle_audit VALUES (3, 'z')")
        denied = pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security")
        with denied, conn.transaction():
            conn.execute("SELECT pgpolicy.set_context(15, '{1}', false)")
            conn.execute("INSERT INTO x_lifecycle_note (x_name) VALUES ('d')")

    result = status(db, app_role)
    assert result.exit_code == 1, result.output
    for kind, name in (
        ("table", "x_lifecycle_note"),
        ("sequence", "x_lifecycle_note_id_seq"),
        ("view", "lifecycle_order_report"),
        ("table", "lifecycle_audit"),
        ("sequence", "lifecycle_seq"),
    ):
        assert f"pending: {kind} {name} (created after apply; run apply)" in result.output
    assert "drifted" not in result.output.replace("0 drifted", "")

    # The model behind the new table is registered (as Settings → Technical or a module
    # install does), then `apply`: the table follows its compiled policies.
    with connect(db.dsn) as conn:
        register_manual_model(conn, "x_lifecycle.note")
        policy_set = build_policy_set(read_catalog(conn), [app_role])
    plan = apply_policy_set(db.dsn, policy_set, [app_role])
    assert ("drop", "x_lifecycle_note", "pgpolicy_pending") in {
        (c.action, c.table, c.name) for c in plan.changes
    }
    result = status(db, app_role)
    assert result.exit_code == 0, result.output

    with connect(db.dsn) as conn:
        names = policy_names(conn, "x_lifecycle_note")
        assert "pgpolicy_pending" not in names and "pgpolicy_read_acl" in names
        # a table no model maps to keeps admitting the system principal only
        assert policy_names(conn, "lifecycle_audit") == {"pgpolicy_pending"}
        assert reloptions(conn, "lifecycle_order_report") == ["security_invoker=true"]
    with connect(app_dsn(db)) as conn:
        assert_rls_effective(conn, ["x_lifecycle_note", "lifecycle_audit"])
        assert count(conn, "x_lifecycle_note") == 0  # no context, no rows
        assert count(conn, "x_lifecycle_note", SALESMAN) == 3  # internal users may read
        assert count(conn, "x_lifecycle_note", PORTAL) == 0  # portal users may not
        assert count(conn, "lifecycle_audit", SALESMAN) == 0
        assert count(conn, "lifecycle_audit", SYSTEM) == 3


def test_a_table_the_app_role_creates_is_forced(
    enforced_db: Database,
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    """Odoo serving a custom model creates its table as the serving role, which then owns it:
    without FORCE, row level security would not hold its owner."""
    db = enforced_db
    with connect(db.dsn) as conn:
        conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(
            sql.Identifier(app_role)
        ))  # fmt: skip
    with connect(app_dsn(db)) as conn:
        conn.execute("CREATE TABLE x_app_made (id integer, x_name text)")
        assert_rls_effective(conn, ["x_app_made"])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("INSERT INTO x_app_made VALUES (1, 'a')")
        with conn.transaction():
            conn.execute("SELECT pgpolicy.set_context(1, '{1}', true)")
            conn.execute("INSERT INTO x_app_made VALUES (1, 'a')")
        assert count(conn, "x_app_made", SALESMAN) == 0
        assert count(conn, "x_app_made", SYSTEM) == 1
    with connect(db.dsn) as conn:
        row = conn.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'x_app_made'"
        ).fetchone()
        assert row == (True, True)


def test_init_and_apply_grant_the_app_role(
    odoo_db: Database, app_role: str, app_dsn: Callable[[Database], str]
) -> None:
    """No hand-written GRANT: `init --app-role` gives the app role Odoo's tables and
    sequences, and those the tables' owner creates later; `status` names what is missing."""
    runner = CliRunner()
    init = runner.invoke(cli, ["--dsn", odoo_db.dsn, "init", "--app-role", app_role])
    assert init.exit_code == 0, init.output
    with connect(odoo_db.dsn) as conn:
        conn.execute("CREATE TABLE lifecycle_later (id serial PRIMARY KEY)")
    with connect(app_dsn(odoo_db)) as conn:
        for query in (
            "SELECT count(*) FROM res_partner",
            "SELECT count(*) FROM lifecycle_later",
            "SELECT nextval('res_partner_id_seq')",
            "SELECT nextval('lifecycle_later_id_seq')",
        ):
            conn.execute(query)  # no permission denied
    with connect(odoo_db.dsn) as conn:
        conn.execute(sql.SQL("REVOKE INSERT ON res_partner FROM {}").format(
            sql.Identifier(app_role)
        ))  # fmt: skip
        conn.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE ON SEQUENCES FROM {}")
            .format(sql.Identifier(app_role))
        )  # fmt: skip
    result = runner.invoke(cli, ["--dsn", odoo_db.dsn, "status", "--app-role", app_role])
    assert result.exit_code == 1
    assert f"role {app_role} lacks privileges on 1 relation(s): res_partner (table: INSERT)" in (
        result.output
    )
    assert f"role {app_role} gets no USAGE on new sequences postgres creates" in result.output
    second = runner.invoke(cli, ["--dsn", odoo_db.dsn, "init", "--app-role", app_role])
    assert f"granted to {app_role}" in second.output
    result = runner.invoke(cli, ["--dsn", odoo_db.dsn, "status", "--app-role", app_role])
    assert "missing privileges" not in result.output


def test_backup_and_restore_keep_enforcement_and_the_trigger(
    enforced_db: Database,
    enforced_template: EnforcedTemplate,
    pg_server: PgServer,
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
    tmp_path: Path,
) -> None:
    """pg_dump of an enforced database, pg_restore into a new one (the app role exists on
    the server): the policies, the runtime and its event trigger come back; the trigger is
    restored after the tables, so nothing restored is pending. PostgreSQL renders some
    restored policies differently (an `IN` list of a varchar column: its array of casts is
    deparsed in another shape), and so are some generated views of ids, so `status` calls them
    drifted until `apply` rewrites them."""
    dump = tmp_path / "enforced.dump"
    run([str(pg_server.bindir / "pg_dump"), "-Fc", "-f", str(dump), enforced_db.dsn], "pg_dump")
    restored = create_database(pg_server, "restored")
    try:
        run(
            [str(pg_server.bindir / "pg_restore"), "--exit-on-error", "--dbname", restored.dsn,
             str(dump)],
            "pg_restore",
        )  # fmt: skip
        result = status(restored, app_role)
        assert "0 pending" in result.output and "pending:" not in result.output
        assert "missing privileges" not in result.output and "ERROR" not in result.output
        applied = apply_policy_set(restored.dsn, enforced_template.policy_set, [app_role])
        assert {c.reason for c in applied.changes} <= {
            "drift: edited by hand",
            "drift: body edited by hand",
            "provenance",
        }
        result = status(restored, app_role)
        assert result.exit_code == 0, result.output
        with connect(app_dsn(enforced_db)) as before, connect(app_dsn(restored)) as after:
            assert_rls_effective(after, ["sale_order"])
            for context in (None, SALESMAN, PORTAL):
                assert count(after, "sale_order", context) == count(before, "sale_order", context)
        with connect(restored.dsn) as conn:
            conn.execute("CREATE TABLE lifecycle_after_restore (id integer)")
            assert policy_names(conn, "lifecycle_after_restore") == {"pgpolicy_pending"}
    finally:
        drop_database(restored)


def test_runtime_ddl_by_the_app_role_is_refused(
    enforced_db: Database, app_dsn: Callable[[Database], str]
) -> None:
    """What Odoo does as the serving role when an administrator adds a sequence (a
    warehouse, a standard ir.sequence), an x_ field or an x_ model, or installs from the
    Apps menu: DDL, refused by PostgreSQL itself while the app role owns nothing and may
    not create in schema public (PostgreSQL 15's default). docs/bridge.md gives the
    supported path: the owner role does the DDL, then `pgpolicy apply`."""
    refusals = {
        "CREATE SEQUENCE ir_sequence_999": "permission denied for schema public",
        "ALTER TABLE res_partner ADD COLUMN x_custom varchar": "must be owner of table res_partner",
        "CREATE TABLE x_custom_model (id serial PRIMARY KEY)": "permission denied for schema public",
    }
    with connect(app_dsn(enforced_db)) as conn:
        for statement, message in refusals.items():
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=message):
                conn.execute(statement)


def test_status_tells_pending_rules_from_a_hand_edit(enforced_db: Database, app_role: str) -> None:
    """A rule changed in Odoo (a module upgrade, an administrator) leaves its policies
    *pending* until apply; a policy edited by hand is *drifted*. Both exit 1; apply ends both."""
    db = enforced_db
    with connect(db.dsn) as conn:
        conn.execute("UPDATE ir_rule SET domain_force = %s WHERE id = 254", ["[('id', '>', 0)]"])
        conn.execute("ALTER POLICY pgpolicy_read_rule_259 ON sale_order USING (true)")
        policy_set = build_policy_set(read_catalog(conn), [app_role])
    result = status(db, app_role)
    assert result.exit_code == 1
    assert "pending: sale_order.pgpolicy_read_rule_254 (source changed; run apply)" in result.output
    assert "drifted: sale_order.pgpolicy_read_rule_254" not in result.output
    assert "drifted: sale_order.pgpolicy_read_rule_259 (edited by hand)" in result.output
    assert "pending: sale_order.pgpolicy_read_rule_259" not in result.output
    apply_policy_set(db.dsn, policy_set, [app_role])
    result = status(db, app_role)
    assert result.exit_code == 0, result.output


def test_every_way_of_creating_a_table_in_public_is_covered(enforced_db: Database) -> None:
    """CREATE TABLE AS, SELECT INTO, partitioned tables and their partitions, unlogged
    tables: each gets row level security and pgpolicy_pending. Temporary tables live in
    the session's own schema, not public: left alone."""
    statements = (
        "CREATE TABLE lifecycle_as AS SELECT id FROM sale_order",
        "SELECT id INTO lifecycle_into FROM sale_order",
        "CREATE TABLE lifecycle_parted (id integer, day date) PARTITION BY RANGE (day)",
        "CREATE TABLE lifecycle_part PARTITION OF lifecycle_parted"
        " FOR VALUES FROM ('2020-01-01') TO ('2030-01-01')",
        "CREATE UNLOGGED TABLE lifecycle_unlogged (id integer)",
        "CREATE TEMPORARY TABLE lifecycle_temp (id integer)",
    )
    with connect(enforced_db.dsn) as conn:
        for statement in statements:
            conn.execute(statement)
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity, n.nspname = 'public' FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relname LIKE 'lifecycle\\_%' AND c.relkind IN ('r', 'p') ORDER BY 1"
        ).fetchall()
        assert rows == [
            ("lifecycle_as", True, True),
            ("lifecycle_into", True, True),
            ("lifecycle_part", True, True),
            ("lifecycle_parted", True, True),
            ("lifecycle_temp", False, False),
            ("lifecycle_unlogged", True, True),
        ]
        for name, _, public in rows:
            assert policy_names(conn, name) == ({"pgpolicy_pending"} if public else set())
