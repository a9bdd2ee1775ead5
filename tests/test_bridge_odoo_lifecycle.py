"""An enforced Odoo 18 over its life: what an administrator does after the policies are applied.

Opt-in like tests/test_bridge_odoo.py (`PGPOLICY_ODOO_SRC`, `PGPOLICY_ODOO_PYTHON`), on
PostgreSQL 15. One database and one Odoo server for the module, serving as the app role
with every policy applied; the tests run in order, each step of docs/bridge.md's Lifecycle:

- what the serving Odoo may not do (module install, upgrade and uninstall from the Apps
  menu, `x_` fields and models in Settings → Technical) is refused with one line naming the
  supported path, and the database is left as it was;
- what it may (a new warehouse: Odoo's standard sequences, created, altered and dropped
  through runtime 10's functions) works;
- the supported path: the owner role does the schema change (`odoo-bin shell`, `-u`, `-i`,
  an uninstall), new relations admit only the system principal until `pgpolicy apply`,
  then their compiled policies hold: raw SQL in a request returns what the ORM returns;
- no log of any phase has an ERROR line.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgpolicy.cli import cli
from tests.conftest import PgServer, check_rls_effective, create_database, drop_database
from tests.odoo_run import (
    OdooServer,
    OdooSession,
    RpcError,
    log_problems,
    odoo_paths,
    prepare_database,
)

pytestmark = [
    pytest.mark.skipif(
        odoo_paths() is None,
        reason="set PGPOLICY_ODOO_SRC (an Odoo 18 tree) and PGPOLICY_ODOO_PYTHON to run Odoo",
    ),
    pytest.mark.xdist_group("odoo"),
]
OWNER = "odoo_owner"


@dataclass
class Life:
    server: OdooServer
    dsn: str  # a superuser's
    app_role: str

    def rows(self, query: str, *params: Any) -> list[Any]:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(query, params or None).fetchall()

    def value(self, query: str, *params: Any) -> Any:
        [(value,)] = self.rows(query, *params)
        return value

    def pgpolicy(self, *args: str) -> Result:
        """The command line, as the DBA runs it."""
        return CliRunner().invoke(cli, ["--dsn", self.dsn, *args, "--app-role", self.app_role])

    def apply(self) -> None:
        """The documented step after every schema change by the owner role."""
        applied = self.pgpolicy("apply")
        assert applied.exit_code == 0, applied.output
        status = self.pgpolicy("status")
        assert status.exit_code == 0, status.output

    def app_reads(self, relation: str, context: tuple[int, list[int]] | None) -> int:
        """Rows of `relation` the app role reads, with (uid, companies) or no context."""
        with psycopg.connect(make_conninfo(self.dsn, user=self.app_role)) as app:
            check_rls_effective(app)
            if context is not None:
                app.execute("SELECT pgpolicy.set_context(%s, %s, false)", list(context))
            row = app.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(relation))
            ).fetchone()
            assert row is not None
            return int(row[0])

    def owner_shell(self, phase: str, code: str) -> None:
        """`odoo-bin shell` connected as the owner role, the script on stdin (docs/bridge.md)."""
        previous, self.server.phase = self.server.phase, phase
        argv = self.server.argv(OWNER, "--no-http")
        self.server.phase = previous
        argv[2:2] = ["shell"]
        done = subprocess.run(
            argv, input=code + "\nprint('SHELL-DONE')\n", env=self.server.env(),
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0 and "SHELL-DONE" in done.stdout, (
            done.stderr[-3000:] + self.server.log_text(phase)[-3000:]
        )

    def restart(self, phase: str) -> None:
        self.server.stop()
        self.server.start(self.app_role, phase=phase)


@pytest.fixture(scope="module")
def life(
    pg_server: PgServer, odoo_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Life]:
    if pg_server.version != 15:
        pytest.skip("the Odoo scenarios run once, on PostgreSQL 15")
    paths = odoo_paths()
    assert paths is not None
    src, python = paths
    app_role = pg_server.app_role()
    db = create_database(pg_server, "odoo_life", template=odoo_template)
    server = OdooServer(src, python, pg_server.host, pg_server.port, db.name,
                        tmp_path_factory.mktemp("odoo-life"))  # fmt: skip
    try:
        prepare_database(db.dsn, app_role, OWNER, python)
        server.run_once("install", OWNER, "-i", "pgpolicy_bridge,pgpolicy_bridge_probe")
        life = Life(server, db.dsn, app_role)
        life.apply()
        server.start(app_role)
        yield life
    finally:
        server.stop()
        drop_database(db)


def admin(life: Life) -> OdooSession:
    return OdooSession(life.server).login("admin")


def refused(operation: str, role: str) -> str:
    """The one line the bridge answers with (odoo_bridge/pgpolicy_bridge/lib/ddl.py)."""
    return re.escape(
        f"pgpolicy: {operation} changes the database schema, which the serving role {role} "
        "may not do: run it as the owner role (odoo-bin -i/-u <module> --stop-after-init, or "
        f"odoo-bin shell connected as the owner role), then pgpolicy apply --app-role {role}"
    )


MODULE_STATE = "SELECT name, state, write_date FROM ir_module_module WHERE name = ANY(%s)"


def test_module_operations_from_the_apps_menu_are_refused_and_change_nothing(
    life: Life,
) -> None:
    user = admin(life)
    before = life.rows(MODULE_STATE, ["maintenance", "hr_skills"])
    [(maintenance,)] = life.rows("SELECT id FROM ir_module_module WHERE name = 'maintenance'")
    [(skills,)] = life.rows("SELECT id FROM ir_module_module WHERE name = 'hr_skills'")
    attempts = (
        ("button_immediate_install", maintenance, "installing module(s) maintenance"),
        ("button_install", maintenance, "installing module(s) maintenance"),
        ("button_immediate_upgrade", skills, "upgrading module(s) hr_skills"),
        ("button_immediate_uninstall", skills, "uninstalling module(s) hr_skills"),
    )
    for method, module, operation in attempts:
        with pytest.raises(RpcError, match=refused(operation, life.app_role)):
            user.call("ir.module.module", method, [module])
    wizard = user.call("base.module.upgrade", "create", {})
    with pytest.raises(RpcError, match=refused("applying the scheduled module upgrades",
                                                life.app_role)):  # fmt: skip
        user.call("base.module.upgrade", "upgrade_module", [wizard])
    assert life.rows(MODULE_STATE, ["maintenance", "hr_skills"]) == before
    assert life.value("SELECT to_regclass('maintenance_equipment')") is None


def test_x_fields_and_x_models_are_refused_and_change_nothing(life: Life) -> None:
    user = admin(life)
    partner_model = life.value("SELECT id FROM ir_model WHERE model = 'res.partner'")
    with pytest.raises(RpcError, match=refused("adding the custom field(s) x_refused",
                                                life.app_role)):  # fmt: skip
        user.call("ir.model.fields", "create", {
            "model_id": partner_model, "name": "x_refused", "field_description": "Refused",
            "ttype": "char",
        })  # fmt: skip
    with pytest.raises(RpcError, match=refused("creating the custom model(s) x_refused",
                                                life.app_role)):  # fmt: skip
        user.call("ir.model", "create", {"name": "Refused", "model": "x_refused"})
    assert life.rows("SELECT 1 FROM ir_model_fields WHERE name = 'x_refused'") == []
    assert life.rows("SELECT 1 FROM ir_model WHERE model = 'x_refused'") == []
    assert life.value("SELECT to_regclass('x_refused')") is None
    column = "SELECT 1 FROM pg_attribute WHERE attrelid = 'res_partner'::regclass AND attname = %s"
    assert life.rows(column, "x_refused") == []


SEQUENCE_OF = """
SELECT s.id, c.relname::text, pg_get_userbyid(c.relowner)::text
  FROM stock_picking_type t JOIN ir_sequence s ON s.id = t.sequence_id
  LEFT JOIN pg_class c ON c.relname = format('ir_sequence_%%s', lpad(s.id::text, 3, '0'))
 WHERE t.warehouse_id = %s AND s.implementation = 'standard' ORDER BY s.id
"""


def test_a_new_warehouse_gets_its_sequences(life: Life) -> None:
    """Odoo's standard sequences under the serving role: created for the warehouse's
    operation types, numbering its transfers, restarted and dropped as the rows ask."""
    user = admin(life)
    warehouse = user.call("stock.warehouse", "create", {"name": "Lifecycle", "code": "LIFE"},
                          companies=[1])  # fmt: skip
    owner = life.value("SELECT pg_get_userbyid(relowner)::text FROM pg_class "
                       "WHERE oid = 'ir_sequence'::regclass")  # fmt: skip
    sequences = life.rows(SEQUENCE_OF, warehouse)
    assert len(sequences) >= 3  # receipts, deliveries, internal transfers, ...
    assert all(name is not None and seq_owner == owner for _, name, seq_owner in sequences)
    pending = "SELECT count(*) FROM pgpolicy.pending_relation WHERE relation_name LIKE 'ir_seq%%'"
    assert life.value(pending) == 0
    [read] = user.call("stock.warehouse", "read", [warehouse], ["in_type_id"], companies=[1])
    receipts = read["in_type_id"][0]

    def receipt() -> str:
        picking = user.call("stock.picking", "create", {"picking_type_id": receipts},
                            companies=[1])  # fmt: skip
        [done] = user.call("stock.picking", "read", [picking], ["name"], companies=[1])
        return str(done["name"])

    assert receipt().endswith("/00001")
    assert receipt().endswith("/00002")
    in_sequence = user.call("stock.picking.type", "read", [receipts], ["sequence_id"],
                            companies=[1])[0]["sequence_id"][0]  # fmt: skip
    user.call("ir.sequence", "write", [in_sequence], {"number_next_actual": 50}, companies=[1])
    assert receipt().endswith("/00050")
    # A sequence made and deleted in Settings → Technical: its PostgreSQL sequence goes too.
    made = user.call("ir.sequence", "create", {"name": "Lifecycle", "implementation": "standard"})
    name = f"ir_sequence_{made:03d}"
    assert life.value("SELECT to_regclass(%s)::text", name) == name
    user.call("ir.sequence", "unlink", [made])
    assert life.value("SELECT to_regclass(%s)", name) is None
    # Raw SQL in the administrator's request: the pickings the ORM shows him in company 1.
    orm = sorted(user.call("stock.picking", "search", [], companies=[1]))
    assert user.call("pgpolicy.bridge.probe", "raw_ids", "stock_picking", companies=[1]) == orm


X_MODEL = """
model = env['ir.model'].create({
    'name': 'Lifecycle', 'model': 'x_lifecycle',
    'field_id': [(0, 0, {'name': 'x_name', 'field_description': 'Name', 'ttype': 'char'})],
})
env['ir.model.access'].create({
    'name': 'x_lifecycle internal users', 'model_id': model.id,
    'group_id': env.ref('base.group_user').id,
    'perm_read': True, 'perm_write': True, 'perm_create': True, 'perm_unlink': True,
})
env['ir.rule'].create({
    'name': 'x_lifecycle: own records', 'model_id': model.id,
    'domain_force': "[('create_uid', '=', user.id)]",
    'groups': [(4, env.ref('base.group_user').id)],
})
env['ir.model.fields'].create({
    'model_id': env.ref('base.model_res_partner').id, 'name': 'x_lifecycle_note',
    'field_description': 'Lifecycle note', 'ttype': 'char',
})
env.cr.commit()
"""


def test_the_owner_adds_an_x_model_and_an_x_field_then_apply(life: Life) -> None:
    """The supported path: `odoo-bin shell` as the owner role, `pgpolicy apply`, restart."""
    life.owner_shell("shell-x", X_MODEL)
    # From the moment it exists: the system principal only; status says to apply.
    policies = "SELECT policyname::text FROM pg_policies WHERE tablename = %s"
    assert life.rows(policies, "x_lifecycle") == [("pgpolicy_pending",)]
    status = life.pgpolicy("status")
    assert status.exit_code == 1 and "x_lifecycle" in status.output
    life.apply()
    assert ("pgpolicy_pending",) not in life.rows(policies, "x_lifecycle")
    life.restart("serve-x")
    salesman, manager = (OdooSession(life.server).login(u) for u in ("salesman_a", "salesmgr_ab"))
    for user in (salesman, manager):
        user.call("x_lifecycle", "create", {"x_name": f"note of {user.uid}"})
    for user in (salesman, manager):
        orm = sorted(user.call("x_lifecycle", "search", []))
        assert len(orm) == 1  # its own record rule: each his own
        assert user.call("pgpolicy.bridge.probe", "raw_ids", "x_lifecycle") == orm
    assert life.app_reads("x_lifecycle", None) == 0
    [partner] = salesman.call("res.partner", "search", [("is_company", "=", True)], limit=1)
    salesman.call("res.partner", "write", [partner], {"x_lifecycle_note": "followed up"})
    [read] = salesman.call("res.partner", "read", [partner], ["x_lifecycle_note"])
    assert read["x_lifecycle_note"] == "followed up"


VIEW = "hr_employee_skill_report"
INVOKER = "SELECT coalesce('security_invoker=true' = ANY(reloptions), false) FROM pg_class " + (
    "WHERE oid = %s::regclass"
)


def test_upgrading_a_module_with_views(life: Life) -> None:
    """`-u hr_skills` by the owner drops and recreates its report view: the view keeps the
    invoker's rights, `status` says pending (not drift) until apply, then raw SQL over it
    in a request returns the ORM's rows."""
    assert life.value(INVOKER, VIEW) is True  # apply set it
    life.server.stop()
    life.server.run_once("upgrade-views", OWNER, "-u", "hr_skills")
    assert life.value(INVOKER, VIEW) is True
    recorded = "SELECT kind FROM pgpolicy.pending_relation WHERE relation_name = %s"
    assert life.rows(recorded, VIEW) == [("view",)]
    status = life.pgpolicy("status")
    assert status.exit_code == 1 and "drifted: " not in status.output, status.output
    life.apply()
    life.restart("serve-views")
    user = admin(life)
    # (The view numbers its rows with row_number(): ids depend on what each reader sees.)
    orm = sorted(
        [r["employee_id"][0], r["skill_id"][0]]
        for r in user.call("hr.employee.skill.report", "search_read", [],
                           ["employee_id", "skill_id"], companies=[1],
                           context={"active_test": False})
    )  # fmt: skip
    assert orm  # the shared database's employees have skills
    assert user.call("pgpolicy.bridge.probe", "raw_employee_skills", companies=[1]) == orm
    assert life.app_reads(VIEW, None) == 0


def test_installing_then_uninstalling_a_module(life: Life) -> None:
    """`-i maintenance` while enforced: protected from the first moment, its rules after
    apply; then its uninstall by the owner role (`odoo-bin shell`), and apply again."""
    life.server.stop()
    life.server.run_once("install-module", OWNER, "-i", "maintenance")
    table = "maintenance_equipment"
    policies = "SELECT policyname::text FROM pg_policies WHERE tablename = %s"
    assert life.rows(policies, table) == [("pgpolicy_pending",)]
    assert life.app_reads(table, (2, [1])) == 0  # not even the administrator, until apply
    life.apply()
    total = life.value(f"SELECT count(*) FROM {table}")
    assert total and life.app_reads(table, (2, [1])) == total
    assert life.app_reads(table, None) == 0
    life.owner_shell(
        "uninstall-module",
        "env['ir.module.module'].search([('name', '=', 'maintenance')])"
        ".button_immediate_uninstall()\nenv.cr.commit()",
    )
    assert life.value("SELECT to_regclass(%s)", table) is None
    assert life.value("SELECT state FROM ir_module_module WHERE name = 'maintenance'") == (
        "uninstalled"
    )
    life.apply()
    life.restart("serve-after")
    assert admin(life).call("pgpolicy.bridge", "status")["pending"] == 0


PHASES = ("install", "serve", "shell-x", "serve-x", "upgrade-views", "serve-views",
          "install-module", "uninstall-module", "serve-after")  # fmt: skip


RULES_CHANGED = "changed since the last `pgpolicy apply`, whose policies still hold"
RELATIONS_PENDING = "relation(s) created since the last `pgpolicy apply` admit only the system"


def test_the_logs_remind_to_apply_and_have_no_error(life: Life) -> None:
    """Every schema change by the owner role ends with the bridge's reminder to apply (new
    relations, changed rules: runtime 10's digest); once applied, the serving Odoo is
    silent. No log of any phase has an ERROR line."""
    for phase in PHASES:
        log = life.server.log_text(phase)
        assert log, phase
        assert log_problems(log) == [], phase
    for phase in ("shell-x", "install-module"):
        log = life.server.log_text(phase)
        assert RULES_CHANGED in log and RELATIONS_PENDING in log, phase
    assert RELATIONS_PENDING in life.server.log_text("upgrade-views")  # the view, recreated
    assert RULES_CHANGED in life.server.log_text("uninstall-module")  # its rules are gone
    for phase in ("serve", "serve-x", "serve-views", "serve-after"):
        log = life.server.log_text(phase)
        assert RULES_CHANGED not in log and RELATIONS_PENDING not in log, phase
