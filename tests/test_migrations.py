"""Policy changes as alembic migrations, on the real Odoo database.

A DBA's own alembic project (made with `alembic init`, then the lines of
docs/dba-workflow.md) receives a revision from `pgpolicy revision`; `alembic
upgrade head` must give what `pgpolicy apply` gives, `alembic downgrade -1`
exactly what was there before, and the offline script (`--sql`) run by psql
the same as the online upgrade. The autogenerate plugin must see a policy
edited by hand, and nothing else.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.config import Config
from click.testing import CliRunner
from psycopg import sql

from alembic import command
from pgpolicy.alembic_plugin.operations import (
    OPERATIONS,
    CreatePolicyOp,
    CreateSudoFunctionOp,
    CreateSudoSchemaOp,
    DisableRlsOp,
    DropPolicyOp,
    DropSudoFunctionOp,
    DropSudoSchemaOp,
    EnableRlsOp,
    ForceRlsOp,
    NoForceRlsOp,
    Policy,
    PolicyOperation,
    ReplacePolicyOp,
    plan_operations,
)
from pgpolicy.alembic_plugin.render import py_str
from pgpolicy.cli import cli
from pgpolicy.deploy import ddl, runtime
from pgpolicy.deploy.apply import plan_for
from pgpolicy.deploy.catalog import FINGERPRINT, read_deployed
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.odoo.metadata import read_catalog
from tests.conftest import (
    Database,
    EnforcedTemplate,
    PgServer,
    clean_env,
)

POLICIES = """
SELECT p.tablename, p.policyname, p.permissive, p.roles::text, p.cmd, p.qual, p.with_check,
       obj_description(pol.oid, 'pg_policy')
  FROM pg_policies p
  JOIN pg_policy pol ON pol.polname = p.policyname
   AND pol.polrelid = format('%I.%I', p.schemaname, p.tablename)::regclass
 WHERE p.tablename <> 'alembic_version'  -- protected by the runtime when a revision makes it
 ORDER BY 1, 2
"""
TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, c.relowner::regrole::text
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
   AND c.relname <> 'alembic_version'
 ORDER BY 1
"""
FUNCTIONS = """
SELECT p.proname, p.prosrc, p.proacl::text, pg_get_function_result(p.oid), p.prosecdef
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'pgpolicy_sudo'
 ORDER BY 1
"""
SUDO_SCHEMA = "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgpolicy_sudo'"
SEARCHES = """
SELECT p.proname, p.prosrc, p.proacl::text, obj_description(p.oid, 'pg_proc'),
       p.proconfig::text
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'pgpolicy_search'
 ORDER BY 1
"""


def snapshot(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """What policies, RLS switches and generated functions the catalog holds (comments too)."""
    with psycopg.connect(dsn) as conn:
        return {
            name: conn.execute(query).fetchall()
            for name, query in [
                ("policies", POLICIES),
                ("tables", TABLES),
                ("functions", FUNCTIONS),
                ("schema", SUDO_SCHEMA),
                ("searches", SEARCHES),
            ]
        }


def assert_same(actual: dict[str, list[Any]], expected: dict[str, list[Any]]) -> None:
    for key in expected:
        now, then = set(actual[key]), set(expected[key])
        assert actual[key] == expected[key], (
            f"{key} differ: {len(now - then)} only now, {len(then - now)} only expected; "
            f"e.g. {sorted(now - then, key=repr)[:2]} vs {sorted(then - now, key=repr)[:2]}"
        )


# ---- a DBA's alembic project -----------------------------------------------------------------

# The lines docs/dba-workflow.md tells a DBA to change in the files `alembic init` writes.
ENV_EDITS = [
    (
        "from sqlalchemy import engine_from_config\n",
        "from sqlalchemy import MetaData, engine_from_config\n",
    ),
    (
        "target_metadata = None\n",
        "target_metadata = MetaData()  # Odoo owns the tables: compare policies only\n",
    ),
    (
        "            connection=connection, target_metadata=target_metadata\n",
        "            connection=connection,\n"
        "            target_metadata=target_metadata,\n"
        '            autogenerate_plugins=["pgpolicy"],\n',
    ),
]


def edit(path: Path, edits: list[tuple[str, str]]) -> None:
    text = path.read_text()
    for old, new in edits:
        assert old in text, f"{path.name} from `alembic init` no longer has {old!r}"
        text = text.replace(old, new)
    path.write_text(text)


def sqlalchemy_url(db: Database) -> str:
    server = db.server
    return (
        f"postgresql+psycopg://{server.superuser}@/{db.name}?host={server.host}&port={server.port}"
    )


def dba_project(root: Path, db: Database, app_role: str | None) -> Path:
    """`alembic init alembic` in `root`, edited as the docs say; app role in alembic.ini or not."""
    root.mkdir(parents=True, exist_ok=True)
    with redirect_stdout(StringIO()):
        command.init(Config(str(root / "alembic.ini")), str(root / "alembic"))
    edit(root / "alembic" / "env.py", ENV_EDITS)
    settings = f"sqlalchemy.url = {sqlalchemy_url(db)}\n"
    if app_role:
        settings += f"pgpolicy_app_roles = {app_role}\n"
    edit(
        root / "alembic.ini", [("sqlalchemy.url = driver://user:pass@localhost/dbname\n", settings)]
    )
    return root


def alembic(project: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """The `alembic` command line, as a DBA runs it in the project directory."""
    result = subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=project, env=clean_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if ok and result.returncode != 0:
        pytest.fail(f"alembic {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def pgpolicy_revision(project: Path, db: Database, app_role: str, message: str) -> Path:
    result = CliRunner().invoke(
        cli,
        [
            "revision", "--dsn", db.dsn, "--format", "json", "--app-role", app_role,
            "-m", message, "--directory", str(project / "alembic"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)
    assert written["path"], written
    return Path(written["path"])


def upgrade_body(revision: Path) -> str:
    text = revision.read_text()
    return text[text.index("def upgrade()") : text.index("def downgrade()")]


# ---- tests -----------------------------------------------------------------------------------


def test_revision_upgrades_like_apply_downgrades_to_before_and_runs_offline(
    odoo_db: Database,
    clone: Callable[..., Database],
    enforced_template: EnforcedTemplate,
    pg_server: PgServer,
    app_role: str,
    tmp_path: Path,
) -> None:
    runtime.install(odoo_db.dsn, [app_role])
    before = snapshot(odoo_db.dsn)
    project = dba_project(tmp_path / "dba", odoo_db, app_role)
    revision = pgpolicy_revision(project, odoo_db, app_role, "policies from the odoo rules")
    body = upgrade_body(revision)
    assert "op.create_sudo_schema(" in body and "# ---- sale_order\n" in body
    assert body.count("op.create_policy(") > 5000

    alembic(project, "upgrade", "head")
    upgraded = snapshot(odoo_db.dsn)
    assert len(upgraded["policies"]) > 5000

    applied = clone(enforced_template.name)  # the same database, deployed by `pgpolicy apply`
    assert_same(upgraded, snapshot(applied.dsn))

    check = alembic(project, "check")
    assert "No new upgrade operations detected" in check.stdout

    alembic(project, "downgrade", "-1")
    assert_same(snapshot(odoo_db.dsn), before)
    alembic(project, "upgrade", "head")
    assert_same(snapshot(odoo_db.dsn), upgraded)

    # offline: the script alone, run by psql on another copy, gives the same catalog
    script = alembic(project, "upgrade", "head", "--sql").stdout
    assert "CREATE POLICY" in script
    offline = clone()
    runtime.install(offline.dsn, [app_role])
    (tmp_path / "upgrade.sql").write_text(script)
    subprocess.run(
        [str(pg_server.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-d", offline.dsn, "-f", str(tmp_path / "upgrade.sql")],
        env=clean_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert_same(snapshot(offline.dsn), upgraded)


def test_downgrade_puts_back_exactly_what_was_deployed(
    enforced_db: Database, app_role: str, tmp_path: Path
) -> None:
    """Policies replaced, dropped and created, RLS switched, functions changed: all undone."""
    with psycopg.connect(enforced_db.dsn, autocommit=True) as conn:
        conn.execute("UPDATE ir_rule SET active = false WHERE id = 152")  # drop, renames
        conn.execute(
            "UPDATE ir_rule SET domain_force = %s WHERE id = 254",
            ["['|', ('company_id', '=', False), ('company_id', 'in', company_ids)]"],
        )  # source changed
        conn.execute("ALTER POLICY pgpolicy_write_rule_259 ON sale_order USING (true)")  # drift
        conn.execute("DROP POLICY pgpolicy_read_rule_259 ON sale_order")
        conn.execute("ALTER TABLE crm_lead DISABLE ROW LEVEL SECURITY")
        conn.execute(f'ALTER TABLE res_partner_category OWNER TO "{app_role}"')
        conn.execute(f'ALTER TABLE crm_tag OWNER TO "{app_role}"')
        conn.execute("ALTER TABLE crm_tag DISABLE ROW LEVEL SECURITY")
        name = conn.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'pgpolicy_sudo' "
            "AND pg_get_function_result(p.oid) = 'integer[]' ORDER BY 1 LIMIT 1"
        ).fetchone()
        assert name is not None
        conn.execute(
            f'CREATE OR REPLACE FUNCTION pgpolicy_sudo."{name[0]}"() RETURNS integer[] '
            "LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER "
            "SET search_path = pg_catalog, pg_temp AS $$SELECT '{}'::integer[]$$"
        )  # a body edited by hand
        conn.execute("DROP FUNCTION pgpolicy_search.crm_lead(text, text[], integer)")
        conn.execute(
            "CREATE OR REPLACE FUNCTION pgpolicy_search.sale_order(pattern text, fields text[] "
            "DEFAULT NULL, max_rows integer DEFAULT NULL) RETURNS SETOF integer "
            "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp "
            "AS 'BEGIN RETURN; END'"
        )  # a name-search function's body edited by hand
    before = snapshot(enforced_db.dsn)

    with psycopg.connect(enforced_db.dsn) as conn:
        policy_set = build_policy_set(read_catalog(conn), [app_role])
        plan = plan_for(conn, policy_set, [app_role])
        operations = plan_operations(plan, read_deployed(conn), policy_set)
    kinds = {change.action for change in plan.changes}
    assert {"create", "replace", "drop", "enable_rls", "force_rls"} <= kinds
    assert {"create_function", "drop_function", "create_search"} <= kinds
    # the operations run exactly the plan's statements (each create stamps its own comment)
    stamp = re.compile(r"^DO '")
    ours = [s.as_string(None) for o in operations for s in o.statements()]
    theirs = [s.as_string(None) for c in plan.changes for s in c.statements]
    assert sorted(s for s in ours if not stamp.match(s)) == sorted(
        s for s in theirs if not stamp.match(s)
    )

    project = dba_project(tmp_path / "dba", enforced_db, app_role)
    revision = pgpolicy_revision(project, enforced_db, app_role, "rules changed")
    assert "# drift: edited by hand\n    op.replace_policy(" in revision.read_text()
    alembic(project, "upgrade", "head")
    with psycopg.connect(enforced_db.dsn) as conn:
        assert plan_for(conn, policy_set, [app_role]).empty
    alembic(project, "check")
    alembic(project, "downgrade", "-1")
    assert_same(snapshot(enforced_db.dsn), before)


def test_check_sees_a_hand_edit_and_autogenerate_repairs_it(
    enforced_db: Database, app_role: str, tmp_path: Path
) -> None:
    # enforced_db: deployed by `pgpolicy apply` before the DBA adopted alembic
    deployed = snapshot(enforced_db.dsn)
    project = dba_project(tmp_path / "dba", enforced_db, app_role=None)
    role = ["-x", f"app_role={app_role}"]  # no pgpolicy_app_roles in alembic.ini: -x says it

    assert detected(project, *role) == []

    with psycopg.connect(enforced_db.dsn, autocommit=True) as conn:
        conn.execute("ALTER POLICY pgpolicy_read_rule_254 ON sale_order USING (true)")
    drifted = snapshot(enforced_db.dsn)
    assert detected(project, *role) == [HAND_EDIT_254]

    alembic(project, *role, "revision", "--autogenerate", "-m", "repair drift")
    (revision,) = (project / "alembic" / "versions").glob("*_repair_drift.py")
    body = upgrade_body(revision)
    assert re.findall(r"\bop\.\w+\(", body) == ["op.replace_policy("], body
    assert '"sale_order",\n        "pgpolicy_read_rule_254",' in body

    alembic(project, *role, "upgrade", "head")
    assert_same(snapshot(enforced_db.dsn), deployed)
    assert detected(project, *role) == []
    alembic(project, *role, "downgrade", "-1")
    assert_same(snapshot(enforced_db.dsn), drifted)  # exactly as it was, hand edit included

    alembic(project, *role, "upgrade", "head")

    # a hand edit whose comment was rewritten to match: only PostgreSQL's rendering tells
    with psycopg.connect(enforced_db.dsn, autocommit=True) as conn:
        conn.execute("ALTER POLICY pgpolicy_read_rule_259 ON sale_order USING (true)")
        row = conn.execute(
            f"SELECT obj_description(p.oid, 'pg_policy')::jsonb, {FINGERPRINT} FROM pg_policy p "
            "WHERE p.polname = 'pgpolicy_read_rule_259' AND p.polrelid = 'sale_order'::regclass"
        ).fetchone()
        assert row is not None
        forged = json.dumps({**row[0], "rendered": row[1]})
        conn.execute(
            sql.SQL("COMMENT ON POLICY pgpolicy_read_rule_259 ON sale_order IS {}").format(
                sql.Literal(forged)
            )
        )
    assert detected(project, *role) == []
    deep = ("replace_policy", "sale_order", "pgpolicy_read_rule_259", RENDERED_DIFFERENTLY)
    assert detected(project, *role, "-x", "pgpolicy_deep_check=true") == [deep]

    # the classic registration (alembic < 1.18, or an env.py naming no plugins) works too
    classic = tmp_path / "classic"
    shutil.copytree(project, classic)
    edit(classic / "alembic" / "env.py", CLASSIC_EDITS)
    assert detected(classic, *role, "-x", "pgpolicy_deep_check=true") == [deep]


HAND_EDIT_254 = ("replace_policy", "sale_order", "pgpolicy_read_rule_254", "drift: edited by hand")
RENDERED_DIFFERENTLY = "drift: PostgreSQL renders it unlike the compiled rule"
# env.py for alembic < 1.18, or when naming no plugins: the classic registration, and no
# table comparison (Odoo owns the tables).
CLASSIC_EDITS = [
    (
        "target_metadata = MetaData()",
        "import pgpolicy.migrations\n\npgpolicy.migrations.register_comparator()\n"
        "target_metadata = MetaData()",
    ),
    (
        '            autogenerate_plugins=["pgpolicy"],\n',
        '            include_name=lambda name, type_, parents: type_ == "schema",\n',
    ),
]


def detected(project: Path, *args: str) -> list[tuple[Any, ...]]:
    """What `alembic check` reports, or [] when it passes."""
    result = alembic(project, *args, "check", ok=False)
    if result.returncode == 0:
        assert "No new upgrade operations detected" in result.stdout
        return []
    found = re.search(r"New upgrade operations detected: (\[.*\])", result.stderr)
    assert found, result.stdout + result.stderr
    diffs: list[tuple[Any, ...]] = ast.literal_eval(found.group(1))
    return diffs


def test_app_role_is_required_for_autogenerate(odoo_db: Database, tmp_path: Path) -> None:
    project = dba_project(tmp_path / "dba", odoo_db, app_role=None)
    result = alembic(project, "check", ok=False)
    assert result.returncode != 0
    assert "-x app_role=ROLE" in result.stderr + result.stdout


# ---- without a database ----------------------------------------------------------------------

POLICY = Policy("SELECT", True, ("app",), "a = 1", None, provenance={"kind": "allow"})
OLD = Policy("SELECT", True, ("app",), "true", None, comment='{"kind": "allow"}')
EXAMPLES: list[PolicyOperation] = [
    CreatePolicyOp("t", "pgpolicy_read_allow", POLICY),
    DropPolicyOp("t", "pgpolicy_read_allow", OLD),
    ReplacePolicyOp("t", "pgpolicy_read_allow", OLD, POLICY),
    EnableRlsOp("t"),
    EnableRlsOp("t", force=True),
    DisableRlsOp("t", force=True),
    ForceRlsOp("t"),
    NoForceRlsOp("t"),
    CreateSudoSchemaOp(("app",)),
    DropSudoSchemaOp(("app",)),
    CreateSudoFunctionOp("ids_1", "SELECT '{}'::integer[]", ("app",)),
    CreateSudoFunctionOp("ids_1", "SELECT '{1}'::integer[]", ("app",), replaces="SELECT 1"),
    DropSudoFunctionOp("ids_1", "SELECT '{}'::integer[]", ("app",)),
]


@pytest.mark.parametrize("operation", EXAMPLES, ids=lambda o: type(o).__name__)
def test_each_operation_reverses_to_itself(operation: PolicyOperation) -> None:
    assert operation.reverse().reverse() == operation
    assert type(operation) in OPERATIONS


def test_operations_run_the_statements_of_ddl() -> None:
    spec = POLICY.spec("t", "pgpolicy_read_allow")
    create = CreatePolicyOp("t", "pgpolicy_read_allow", POLICY).statements()
    assert create == [*ddl.create_policy_only(spec), ddl.stamp_policies([spec])]
    assert EnableRlsOp("t", force=True).statements() == ddl.enable_rls("t", True)
    assert DisableRlsOp("t", force=True).statements() == ddl.disable_rls("t")
    assert DropPolicyOp("t", "p").statements() == [ddl.drop_policy("t", "p")]


@pytest.mark.parametrize(
    "text", ["a", 'a"b', "a'b", "x = 'a' AND \"y\" = 1", "'{}'::integer[] \"", "a\\b", "a\nb"]
)
def test_sql_text_renders_as_the_same_python_string(text: str) -> None:
    assert eval(py_str(text)) == text
