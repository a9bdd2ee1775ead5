"""`pgpolicy profile import/export/new`, `pgpolicy check`, the enabled subset and sign-in
refusals, on the real Odoo 18 database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from odoo_bridge.pgpolicy_bridge.lib.login import login_allowed
from pgpolicy.cli import cli
from pgpolicy.deploy import runtime
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.errors import PgPolicyError
from pgpolicy.odoo.metadata import read_catalog
from pgpolicy.profiles.model import dump_profiles, parse_profiles
from pgpolicy.profiles.templates import TEMPLATES
from tests.conftest import check_rls_effective

PROFILES = """\
profiles:
  - name: sales-eu
    description: Salespeople of San Francisco
    members:
      logins: [salesman_a, salesmgr_ab]
      groups: [sales_team.group_sale_manager]
    companies: [1]
    active_from: 2026-01-01T00:00:00Z
    models:
      sale.order:
        read: "[('company_id', '=', __cid__)]"
        delete: false
      crm.lead:
        write: "[('user_id', '=', __uid__)]"
  - name: auditor
    members: {logins: [accountant_b]}
    strict: true
    active_until: 2030-01-01T00:00:00+02:00
    models:
      '*': {write: false, create: false, delete: false}
"""


@pytest.fixture
def db(odoo_db: Any, app_role: str, grant_app: Callable[[Any], None]) -> Any:
    runtime.install(odoo_db.dsn, [app_role])
    grant_app(odoo_db)
    return odoo_db


def pgpolicy(db: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--dsn", db.dsn, *args])


def scalar(db: Any, query: str) -> Any:
    with psycopg.connect(db.dsn) as conn:
        row = conn.execute(query).fetchone()
        assert row is not None
        return row[0]


def test_export_import_export_is_byte_identical(db: Any, tmp_path: Path) -> None:
    source = tmp_path / "profiles.yaml"
    source.write_text(PROFILES)
    result = pgpolicy(db, "profile", "import", str(source))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("created auditor, sales-eu; run `pgpolicy apply`")
    exported = tmp_path / "exported.yaml"
    assert pgpolicy(db, "profile", "export", "-o", str(exported)).exit_code == 0
    first = exported.read_bytes()
    assert first.decode() == dump_profiles(parse_profiles(PROFILES))  # the canonical form

    audit = scalar(db, "SELECT count(*) FROM pgpolicy.profile_audit")
    assert audit == 2 + 4  # two profiles, four members
    for path in (exported, source):  # importing again, in either form, changes nothing
        result = pgpolicy(db, "profile", "import", str(path))
        assert result.exit_code == 0, result.output
        assert result.output == "profiles unchanged\n"
    assert scalar(db, "SELECT count(*) FROM pgpolicy.profile_audit") == audit
    again = pgpolicy(db, "profile", "export")
    assert again.exit_code == 0
    assert again.output.encode() == first

    # the same content through a workbook
    book = tmp_path / "profiles.xlsx"
    assert pgpolicy(db, "profile", "export", "--xlsx", str(book)).exit_code == 0
    result = pgpolicy(db, "profile", "import", str(book))
    assert result.exit_code == 0, result.output
    assert result.output == "profiles unchanged\n"
    assert pgpolicy(db, "profile", "export").output.encode() == first

    # a member removed from the file is removed from the database, and audited
    source.write_text(PROFILES.replace("salesman_a, salesmgr_ab", "salesmgr_ab"))
    result = pgpolicy(db, "profile", "import", str(source))
    assert result.output == "updated sales-eu\n"  # membership is data: nothing to re-apply
    assert (
        scalar(db, "SELECT old->>'ref' FROM pgpolicy.profile_audit WHERE action = 'DELETE'")
        == "salesman_a"
    )


def test_a_bad_import_changes_nothing(db: Any, tmp_path: Path) -> None:
    source = tmp_path / "profiles.yaml"
    source.write_text(PROFILES)
    assert pgpolicy(db, "profile", "import", str(source)).exit_code == 0
    before = pgpolicy(db, "profile", "export").output
    source.write_text(PROFILES.replace("('user_id', '=', __uid__)", "('no_such_field', '=', 1)"))
    result = pgpolicy(db, "profile", "import", str(source))
    assert result.exit_code == 1
    assert "profile sales-eu" in str(result.exception)
    assert "unknown field crm.lead.no_such_field" in str(result.exception)
    assert "nothing was imported" in str(result.exception)
    assert pgpolicy(db, "profile", "export").output == before


def test_imported_profiles_are_planned_and_applied_like_rules(
    db: Any, tmp_path: Path, app_role: str, app_dsn: Callable[[Any], str]
) -> None:
    source = tmp_path / "profiles.yaml"
    source.write_text(PROFILES)
    assert pgpolicy(db, "profile", "import", str(source)).exit_code == 0
    result = pgpolicy(db, "apply", "--app-role", app_role)
    assert result.exit_code == 0, result.output
    result = pgpolicy(db, "plan", "--app-role", app_role, "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert pgpolicy(db, "status", "--app-role", app_role).exit_code == 0
    provenance = scalar(
        db,
        "SELECT provenance FROM pgpolicy.policies"
        " WHERE \"table\" = 'sale_order' AND policy = 'pgpolicy_read_profiles'",
    )
    assert provenance["kind"] == "profile" and provenance["profiles"] == ["auditor", "sales-eu"]
    # the runtime's profile revision cannot go while policies use it
    with pytest.raises(PgPolicyError, match=r"policies still use (the runtime|access profiles)"):
        runtime.uninstall(db.dsn)
    # the strict auditor may not write, even in superuser mode
    with psycopg.connect(app_dsn(db)) as app:
        check_rls_effective(app, ["res_partner"])
        app.execute("SELECT pgpolicy.set_context(17, '{2}', true)")
        assert app.execute("UPDATE res_partner SET comment = 'x' WHERE id = 1").rowcount == 0
        app.rollback()
        app.execute("SELECT pgpolicy.set_context(16, '{1,2}', true)")
        assert app.execute("UPDATE res_partner SET comment = 'x' WHERE id = 1").rowcount == 1
        app.rollback()


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_templates_compile_on_odoo(db: Any, template: str) -> None:
    result = pgpolicy(db, "profile", "new", "my-profile", "--template", template)
    assert result.exit_code == 0, result.output
    profiles = parse_profiles(result.output)
    assert [p.name for p in profiles] == ["my-profile"]
    with psycopg.connect(db.dsn) as conn:
        policy_set = build_policy_set(read_catalog(conn), ["app"], profiles)
    assert not policy_set.errors, [str(e) for e in policy_set.errors]
    assert any(p.provenance.kind == "profile" for p in policy_set.policies)


CLEAN = """\
profiles:
  - name: clean
    members: {logins: [salesman_a], groups: [base.group_user]}
    models:
      sale.order: {read: "[('user_id', '=', __uid__)]", delete: false}
"""
DEFECTS = """\
profiles:
  - name: orphans
    members: {logins: [salesman_a]}
    models:
      no.such.model: {read: false}
      sale.order:
        read: "[('no_such_field', '=', 1)]"
        locked_fields: [no_such_column]
  - name: pointless
    members: {logins: [salesman_a]}
    models:
      sale.order:
        read: "[]"
        write: "['&', ('state', '=', 'draft'), ('state', '=', 'sale')]"
        create: "[('amount_total', '>', 10), ('amount_total', '<', 5)]"
  - name: expired
    members: {logins: [salesman_a]}
    active_until: 2020-01-01T00:00:00Z
    models: {crm.lead: {read: false}}
  - name: future
    members: {logins: [salesman_a]}
    active_from: 2999-01-01T00:00:00Z
  - name: ghosts
    members: {logins: [nobody_here], groups: [base.no_such_group]}
  - name: denies
    members: {logins: [salesmgr_ab]}
    models: {res.partner: {delete: false}}
  - name: grants
    members: {groups: [sales_team.group_sale_manager]}
    models: {res.partner: {read: "[('active', '=', True)]"}}
  - name: leads
    members: {logins: [salesmgr_ab]}
    models: {crm.lead: {read: "[('type', '=', 'lead')]"}}
  - name: opportunities
    members: {groups: [sales_team.group_sale_manager]}
    models: {crm.lead: {read: "[('type', '=', 'opportunity'), ('probability', '>=', 10)]"}}
"""


def test_check_finds_each_seeded_defect(db: Any, tmp_path: Path) -> None:
    clean = tmp_path / "clean.yaml"
    clean.write_text(CLEAN)
    result = pgpolicy(db, "check", "--profiles", str(clean))
    assert result.exit_code == 0, result.output
    assert result.output == "1 profile(s): 0 error(s), 0 warning(s)\n"

    defects = tmp_path / "defects.yaml"
    defects.write_text(DEFECTS)
    result = pgpolicy(db, "check", "--profiles", str(defects))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    expected = [
        "warning: expired: expired: ended 2020-01-01T00:00:00+00:00: grants nothing",
        "warning: future: future: starts 2999-01-01T00:00:00+00:00: grants nothing yet",
        "error: missing-member: ghosts: no user has login 'nobody_here'",
        "error: missing-member: ghosts: no group has xml id 'base.no_such_group'",
        "error: orphan: orphans / no.such.model: unknown model",
        "error: orphan: orphans / sale.order: unknown field no_such_column",
        "warning: no-op: pointless / sale.order: read []: always true",
        "warning: unsatisfiable: pointless / sale.order: write ['&', ('state', '=', 'draft'), "
        "('state', '=', 'sale')]: never true: ('state', '=', 'draft') and ('state', '=', 'sale') "
        "contradict each other",
        "warning: unsatisfiable: pointless / sale.order: create [('amount_total', '>', 10), "
        "('amount_total', '<', 5)]: never true: ('amount_total', '>', 10) and "
        "('amount_total', '<', 5) contradict each other",
        "warning: conflict: denies / res.partner: denies delete but grants grants it to the same "
        "users (salesmgr_ab); profiles are OR-ed, so it is granted",
        "warning: conflict: leads / crm.lead: read [('type', '=', 'lead')] and the read "
        "[('type', '=', 'opportunity'), ('probability', '>=', 10)] of opportunities match no "
        "common row (('type', '=', 'lead') and ('type', '=', 'opportunity') contradict each "
        "other) for the same users (salesmgr_ab); profiles are OR-ed, so they get the rows of "
        "either",
    ]
    for line in expected:
        assert line in lines, (line, lines)
    assert any(
        line.startswith("error: orphan: orphans / sale.order: read [('no_such_field', '=', 1)]")
        for line in lines
    )
    assert len(lines) == len(expected) + 2  # the read orphan, the summary: nothing else
    assert lines[-1] == "9 profile(s): 5 error(s), 7 warning(s)"


def test_the_enabled_subset_narrows_never_widens(
    db: Any, tmp_path: Path, app_role: str, app_dsn: Callable[[Any], str]
) -> None:
    source = tmp_path / "profiles.yaml"
    source.write_text(
        """\
profiles:
  - name: orders
    members: {logins: [salesmgr_ab]}
    models: {sale.order: {read: "[('company_id', '=', 1)]"}}
  - name: chicago
    members: {logins: [salesmgr_ab]}
    models: {sale.order: {read: "[('company_id', '=', 2)]"}, crm.lead: {read: false}}
"""
    )
    assert pgpolicy(db, "profile", "import", str(source)).exit_code == 0
    assert pgpolicy(db, "apply", "--app-role", app_role).exit_code == 0
    with psycopg.connect(db.dsn) as conn:
        orders = {
            c: {r[0] for r in conn.execute("SELECT id FROM sale_order WHERE company_id = %s", [c])}
            for c in (1, 2)
        }
    with psycopg.connect(app_dsn(db)) as app:
        check_rls_effective(app, ["sale_order", "crm_lead"])

        def read(table: str, subset: list[str] | None) -> set[int]:
            app.rollback()
            app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")
            if subset is not None:
                app.execute("SELECT pgpolicy.set_profiles(%s)", [subset])
            return {r[0] for r in app.execute(f"SELECT id FROM {table}")}

        assert read("sale_order", None) == orders[1] | orders[2]
        assert read("sale_order", ["orders"]) == orders[1]
        assert read("sale_order", ["chicago"]) == orders[2]
        assert read("crm_lead", ["orders"]) == set()  # chicago still restricts leads
        assert read("crm_lead", None) == set()
        assert app.execute("SELECT pgpolicy.profile_names()").fetchone() == (["chicago", "orders"],)
        app.rollback()
        app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="not a profile of user 16"):
            app.execute("SELECT pgpolicy.set_profiles('{orders,admin}')")
        app.rollback()
        # a subset written by hand, not through set_profiles: no context at all (runtime 6)
        app.execute("SELECT pgpolicy.set_context(16, '{1,2}', false)")
        app.execute("SELECT set_config('pgpolicy.profiles', 'nonsense', true)")
        assert {r[0] for r in app.execute("SELECT id FROM sale_order")} == set()


def test_deny_login_is_refused_and_recorded(
    db: Any, tmp_path: Path, app_role: str, app_dsn: Callable[[Any], str]
) -> None:
    source = tmp_path / "profiles.yaml"
    source.write_text(
        """\
profiles:
  - name: suspended
    members: {logins: [salesman_a], groups: [hr.group_hr_user]}
    deny_login: true
  - name: was-suspended
    members: {logins: [stock_user]}
    deny_login: true
    active_until: 2020-01-01T00:00:00Z
"""
    )
    assert pgpolicy(db, "profile", "import", str(source)).exit_code == 0
    with psycopg.connect(app_dsn(db), autocommit=True) as app:
        allowed = {uid: login_allowed(app.cursor(), uid) for uid in (15, 16, 18, 19)}
    assert allowed == {15: False, 16: True, 18: True, 19: False}
    with psycopg.connect(db.dsn) as conn:
        attempts = conn.execute(
            "SELECT uid, profiles FROM pgpolicy.login_attempt ORDER BY id"
        ).fetchall()
    assert attempts == [(15, ["suspended"]), (19, ["suspended"])]
