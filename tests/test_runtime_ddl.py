"""Runtime DDL of a serving Odoo (runtime 10 and the bridge's `lib/ddl.py`), and the bridge's
reminder that `pgpolicy apply` is due, without Odoo.

Odoo's standard sequences (`ir.sequence`: a new warehouse, a new company) are made,
altered and dropped for the serving role by SECURITY DEFINER functions that do only what
the ir_sequence rows ask for; schema changes (module operations, `x_` fields and models)
are refused under the serving role with one line naming the supported path. The real-Odoo
scenarios are in tests/test_bridge_odoo_lifecycle.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql

from odoo_bridge.pgpolicy_bridge.lib import ddl
from odoo_bridge.pgpolicy_bridge.lib.health import RoleHealth, log_lines, role_health
from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.odoo.metadata import read_catalog
from tests.conftest import Database, OwnedTemplate

SEQ = 9001  # an ir.sequence id no Odoo record has
RANGE = 9002


def scalar(conn: psycopg.Connection[Any], query: str, *params: Any) -> Any:
    row = conn.execute(query, params or None).fetchone()
    assert row is not None
    return row[0]


def add_sequence_rows(dsn: str, implementation: str = "standard") -> None:
    """What `ir.sequence.create` (and its date range) write before asking for the sequence."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ir_sequence (id, name, implementation, number_next, number_increment,"
            " padding, active, use_date_range) VALUES (%s, 'lifecycle', %s, 5, 1, 4, true, true)",
            [SEQ, implementation],
        )
        conn.execute(
            "INSERT INTO ir_sequence_date_range (id, sequence_id, date_from, date_to, number_next)"
            " VALUES (%s, %s, '2026-01-01', '2026-12-31', 7)",
            [RANGE, SEQ],
        )


def test_the_serving_role_makes_odoos_sequences_only_as_the_rows_ask(
    owned_db: Database,
    owned_template: OwnedTemplate,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    add_sequence_rows(owned_db.dsn)
    name, ranged = f"ir_sequence_{SEQ}", f"ir_sequence_{SEQ}_{RANGE}"
    with psycopg.connect(app_dsn(owned_db), autocommit=True) as app:
        assert_rls_effective(app, ["ir_sequence"])
        assert ddl.schema_rights(app.cursor())[0] is False
        assert ddl.routes_sequences(app.cursor())  # no CREATE on public, runtime 10
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute(f"CREATE SEQUENCE {name}")  # the DDL itself: refused
        # Create: for an existing row only, owned like Odoo's tables, usable, not pending.
        ddl.create_sequence(app.cursor(), name, 1, 5)
        ddl.create_sequence(app.cursor(), ranged, 1, 7)
        assert [scalar(app, "SELECT nextval(%s)", n) for n in (name, ranged)] == [5, 7]
        for refused in ("ir_sequence_9999", "res_partner_id_seq", "ir_sequence_9001; DROP"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="pgpolicy: "):
                ddl.create_sequence(app.cursor(), refused, 1, 1)
        # Alter: only to what the row holds.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="may only follow"):
            ddl.alter_sequence(app.cursor(), name, restart=1)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="may only follow"):
            ddl.alter_sequence(app.cursor(), name, increment=10)
        # Drop: only what no standard row backs.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="still backs"):
            ddl.drop_sequences(app.cursor(), [name])
    with psycopg.connect(owned_db.dsn, autocommit=True) as conn:
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relname = ANY(%s)",
            [[name, ranged]],
        ).fetchall()
        assert owners == [(owned_template.owner,)]
        pending = "SELECT count(*) FROM pgpolicy.pending_relation WHERE relation_name = ANY(%s)"
        assert scalar(conn, pending, [name, ranged]) == 0
        conn.execute("UPDATE ir_sequence SET number_next = 100, number_increment = 2 WHERE id = %s",
                     [SEQ])  # fmt: skip
    with psycopg.connect(app_dsn(owned_db), autocommit=True) as app:
        ddl.alter_sequence(app.cursor(), name, restart=100)
        ddl.alter_sequence(app.cursor(), name, increment=2)
        assert scalar(app, "SELECT nextval(%s)", name) == 100
        assert scalar(app, "SELECT nextval(%s)", name) == 102
        ddl.alter_sequence(app.cursor(), "ir_sequence_9003", restart=1)  # not created yet: as Odoo
    with psycopg.connect(owned_db.dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM ir_sequence WHERE id = %s", [SEQ])  # the range cascades
    with psycopg.connect(app_dsn(owned_db), autocommit=True) as app:
        ddl.drop_sequences(app.cursor(), [name, ranged])
        assert scalar(app, "SELECT count(*) FROM pg_class WHERE relname = ANY(%s)",
                      [name, ranged]) == 0  # fmt: skip


def test_schema_changes_are_refused_under_the_serving_role_with_the_supported_path(
    owned_db: Database,
    owned_template: OwnedTemplate,
    app_dsn: Callable[[Database], str],
    app_role: str,
) -> None:
    with psycopg.connect(app_dsn(owned_db)) as app:
        message = ddl.refusal_for(app.cursor(), "installing module(s) maintenance")
    assert message is not None and "\n" not in message
    role = app_role
    assert message == (
        f"pgpolicy: installing module(s) maintenance changes the database schema, which the "
        f"serving role {role} may not do: run it as the owner role (odoo-bin -i/-u <module> "
        f"--stop-after-init, or odoo-bin shell connected as the owner role), then pgpolicy "
        f"apply --app-role {role}"
    )
    with psycopg.connect(owned_db.dsn) as owner:
        owner.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owned_template.owner)))
        assert ddl.refusal_for(owner.cursor(), "installing module(s) maintenance") is None
        assert not ddl.routes_sequences(owner.cursor())  # the owner runs Odoo's own DDL
    with psycopg.connect(owned_db.dsn) as superuser:
        assert ddl.refusal_for(superuser.cursor(), "x") is None


def test_the_bridge_reminds_to_apply_after_the_rules_change(
    enforced_db: Database, app_dsn: Callable[[Database], str], app_role: str
) -> None:
    """`apply` records a digest of Odoo's rules, access rights, models and fields; the
    bridge's health compares it at each registry load and logs a WARNING to apply while
    they differ: a rule edited, an access right added, a rewrite to the same values not."""

    def health() -> RoleHealth:
        with psycopg.connect(app_dsn(enforced_db)) as app:
            return role_health(app.cursor())

    def reminded() -> bool:
        return any("changed since the last `pgpolicy apply`" in m for _, m in
                   log_lines(health(), maintenance=False))  # fmt: skip

    assert health().rules_changed is False and not reminded()
    changes = (
        "UPDATE ir_rule SET domain_force = domain_force WHERE id = 1",  # same values
        "UPDATE ir_rule SET active = NOT active WHERE id = 1",
        "UPDATE ir_rule SET active = NOT active WHERE id = 1",  # back as it was
        "UPDATE ir_model_access SET perm_unlink = NOT perm_unlink WHERE id = "
        "(SELECT min(id) FROM ir_model_access)",
    )
    seen = []
    with psycopg.connect(enforced_db.dsn, autocommit=True) as conn:
        for change in changes:
            conn.execute(change)
            seen.append(health().rules_changed)
    assert seen == [False, True, False, True]
    assert reminded()
    with psycopg.connect(enforced_db.dsn) as conn:
        policy_set = build_policy_set(read_catalog(conn), [app_role])
    apply_policy_set(enforced_db.dsn, policy_set, [app_role])
    assert health().rules_changed is False and not reminded()
