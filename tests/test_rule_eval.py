"""How `domain_force` becomes a domain, checked through row-level security as the app role.

- Every construct of tests/rule_eval_cases.py (conditionals around a domain, between
  terms and inside a value, `=?` with a query-time value, `not`/`and`/`or`, `mapped`,
  the list comprehension, arithmetic, names Odoo does not know) against the ids a real
  Odoo 18 recorded for each user (`tests/data/rule_eval_oracle.json`, made by
  tests/record_rule_eval.py); a case Odoo refuses must fail closed.
- `time.strftime` compared with date and datetime fields, against hand-written SQL.
- A rule PostgreSQL refuses fails closed for that rule alone: the rest is applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from pgpolicy.cli import cli
from pgpolicy.compiler.predicate import compile_domain
from pgpolicy.compiler.rules import LIFT
from pgpolicy.compiler.spec import PolicySet, PolicySpec, Provenance, TableSpec
from pgpolicy.deploy import runtime
from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.errors import CompileError
from pgpolicy.odoo.domain import parse_rule_domain
from pgpolicy.odoo.metadata import Catalog, Rule, read_catalog
from tests.conftest import Database, grant_app_role
from tests.rule_eval_cases import CASES, CLOCK_CASES, CLOCK_SEED
from tests.test_oracle import acl_allows

ORACLE = Path(__file__).parent / "data" / "rule_eval_oracle.json"


@pytest.fixture
def runtime_db(odoo_db: Database, app_role: str) -> tuple[Database, Catalog]:
    """A clone of the Odoo database with the runtime installed and the app role granted."""
    runtime.install(odoo_db.dsn, [app_role])
    grant_app_role(odoo_db.dsn, app_role)
    with psycopg.connect(odoo_db.dsn) as conn:
        return odoo_db, read_catalog(conn)


def deploy_one(db: Database, catalog: Catalog, model: str, text: str, app_role: str) -> str:
    """Deploy one domain as the only policy (SELECT) of its model's table; returns the table."""
    predicate = compile_domain(catalog, model, parse_rule_domain(text))
    table = catalog.model(model).table
    assert table is not None
    policy = PolicySpec(
        table, "pgpolicy_case", "SELECT", True, (app_role,), predicate.sql, None, Provenance("rule")
    )
    policy_set = PolicySet((TableSpec(table, model),), (policy,), predicate.functions)
    apply_policy_set(db.dsn, policy_set, [app_role])
    return table


def visible(app: psycopg.Connection[Any], table: str, user: dict[str, Any]) -> list[int]:
    app.execute(
        "SELECT pgpolicy.set_context(%s, %s, false)", [user["id"], user["allowed_company_ids"]]
    )
    rows = app.execute(f'SELECT id FROM "{table}" ORDER BY id').fetchall()
    app.rollback()
    return [r[0] for r in rows]


def test_recorded_cases_are_current() -> None:
    recorded = [(c["model"], c["domain_force"]) for c in json.loads(ORACLE.read_text())["cases"]]
    assert recorded == CASES, "re-record tests/data/rule_eval_oracle.json (record_rule_eval.py)"


def test_rule_expressions_select_what_odoo_selects(
    runtime_db: tuple[Database, Catalog],
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
    oracle: dict[str, Any],
) -> None:
    db, catalog = runtime_db
    recorded = json.loads(ORACLE.read_text())["cases"]
    failures: list[str] = []
    compiled = refused = 0
    for case in recorded:
        model, text = case["model"], case["domain_force"]
        expected = {
            login: ids if isinstance(ids, list) else [] for login, ids in case["ids"].items()
        }
        try:
            table = deploy_one(db, catalog, model, text, app_role)
        except CompileError as exc:
            refused += 1
            # failing closed is exact only where Odoo gives nothing or raises
            if any(expected.values()):
                failures.append(f"{text}: refused ({exc}) but Odoo selects rows")
            continue
        compiled += 1
        with psycopg.connect(app_dsn(db)) as app:
            assert_rls_effective(app, [table])
            for login, user in oracle["users"].items():
                got = visible(app, table, user)
                if got != expected[login]:
                    failures.append(f"{text} as {login}: odoo {expected[login]} ours {got}")
    assert not failures, "\n".join(failures)
    assert compiled >= 19 and refused >= 4
    # the cases discriminate: most select neither nothing nor the same rows for every user
    varied = [c for c in recorded if len({json.dumps(v) for v in c["ids"].values()}) > 1]
    assert len(varied) >= len(recorded) // 2


@pytest.mark.parametrize(("model", "text", "where"), CLOCK_CASES)
def test_strftime_is_typed_like_the_field(
    runtime_db: tuple[Database, Catalog],
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
    oracle: dict[str, Any],
    model: str,
    text: str,
    where: str,
) -> None:
    """`('invoice_date', '>=', time.strftime('%Y-01-01'))`: a date, a padded datetime."""
    db, catalog = runtime_db
    table = deploy_one(db, catalog, model, text, app_role)
    with psycopg.connect(db.dsn) as conn:
        conn.execute(CLOCK_SEED)
        rows = conn.execute(f'SELECT id FROM "{table}" WHERE {where} ORDER BY id').fetchall()
        total = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    expected = [r[0] for r in rows]
    assert total and 0 < len(expected) < total[0], "the case must separate rows"
    with psycopg.connect(app_dsn(db)) as app:
        assert_rls_effective(app, [table])
        for user in oracle["users"].values():
            assert visible(app, table, user) == expected, text


REFUSED_DOMAIN = "[('client_order_ref', '!=', 'x')]"
SALESMAN = "sales_team.group_sale_salesman"


def add_refused_rule(dsn: str) -> tuple[int, int]:
    """A group rule on sale.order over a field the metadata declares stored but whose column
    is gone (as a half-uninstalled module leaves it): its policy cannot be created."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE sale_order DROP COLUMN client_order_ref")
        group = conn.execute(
            "SELECT res_id FROM ir_model_data WHERE model = 'res.groups' "
            "AND module || '.' || name = %s",
            [SALESMAN],
        ).fetchone()
        assert group is not None
        row = conn.execute(
            "INSERT INTO ir_rule (name, model_id, domain_force, active, global, perm_read, "
            "perm_write, perm_create, perm_unlink) SELECT 'refused', id, %s, true, false, true, "
            "false, false, false FROM ir_model WHERE model = 'sale.order' RETURNING id",
            [REFUSED_DOMAIN],
        ).fetchone()
        assert row is not None
        conn.execute("INSERT INTO rule_group_rel VALUES (%s, %s)", [row[0], group[0]])
        return row[0], group[0]


def test_a_rule_postgresql_refuses_fails_closed_and_the_rest_applies(
    runtime_db: tuple[Database, Catalog],
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
    oracle: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    db, _ = runtime_db
    rule_id, group_id = add_refused_rule(db.dsn)
    runner = CliRunner()

    result = runner.invoke(cli, ["--dsn", db.dsn, "compile"])
    assert result.exit_code == 1
    assert f"ir.rule {rule_id}" in result.output and "PostgreSQL rejects" in result.output

    caplog.clear()
    result = runner.invoke(cli, ["--dsn", db.dsn, "apply", "--app-role", app_role])
    assert result.exit_code == 0, result.output
    report = [r.getMessage() for r in caplog.records if f"ir.rule {rule_id}" in r.getMessage()]
    assert len(report) == 1, caplog.text
    assert "PostgreSQL rejects" in report[0], report
    assert "column sale_order.client_order_ref does not exist" in report[0], report
    assert "access denied for it" in report[0]

    result = runner.invoke(
        cli, ["--dsn", db.dsn, "plan", "--app-role", app_role, "--detailed-exitcode"]
    )
    assert result.exit_code == 0, result.output  # applied as planned: nothing pending
    assert any(f"ir.rule {rule_id}" in r.getMessage() for r in caplog.records)

    with psycopg.connect(db.dsn) as conn:
        members = {
            uid
            for (uid,) in conn.execute(
                "SELECT uid FROM res_groups_users_rel WHERE gid = %s", [group_id]
            )
        }
    tables = sorted({info["table"] for info in oracle["models"].values()})
    mismatches: list[str] = []
    denied = 0
    with psycopg.connect(app_dsn(db)) as app:
        assert_rls_effective(app, tables)
        for login, user in oracle["users"].items():
            groups = set(user["group_ids"])
            for model, info in oracle["models"].items():
                allowed = acl_allows(oracle["acls"], groups, model, "read")
                expected = oracle["results"][login][model]["read"]["ids"] if allowed else []
                if model == "sale.order" and user["id"] in members:
                    expected = []  # the refused rule's users: denied what it governs
                    denied += 1
                got = visible(app, info["table"], user)
                if got != expected:
                    mismatches.append(f"{login} {model}: expected {expected[:5]} got {got[:5]}")
    assert not mismatches, "\n".join(mismatches)
    assert denied >= 2  # salesman_a, salesmgr_ab, demo


REFUSED: list[tuple[str, str]] = [
    ("[('date_order', '>=', datetime.date.today())]", "not in the rule evaluation context"),
    ("[('date_order', '>=', context_today())]", "not in the rule evaluation context"),
    ("[('company_id', 'in', [False, website.company_id.id])]", "website"),
    ("[('team_id', '=?', user.sale_team_id.ids)]", "=? with a list"),
    ("[('team_id', '=?', [1, 2])]", "=? with a list"),
    ("[('id', 'in', [g.partner_id.id for g in user.groups_id])]", "only [r.id for r in"),
    ("[('id', 'in', [g.id for g in user.groups_id if g])]", "only [r.id for r in"),
    ("[('user_id', '=', user.id + 1)]", "arithmetic"),
    ("[('id', 'in', user.mapped(lambda u: u.partner_id).ids)]", "mapped() takes"),
    ("[('name', '=', len(company_ids))]", "builtin len"),
    ("[('team_id', 'in', [time.strftime('%Y')])]", "a list holding a query-time text value"),
    ("[('user_id', '=', time.strftime('%Y'))]", "compared with a many2one field"),
]


def test_what_odoo_refuses_or_the_compiler_cannot_say_fails_with_its_reason(
    runtime_db: tuple[Database, Catalog],
) -> None:
    """Each refused construct is a CompileError (the rule fails closed) naming why."""
    _, catalog = runtime_db
    for text, reason in REFUSED:
        with pytest.raises(CompileError, match=re.escape(reason)):
            compile_domain(catalog, "sale.order", parse_rule_domain(text))


def test_an_internal_error_fails_closed_for_its_rule_only(
    runtime_db: tuple[Database, Catalog],
) -> None:
    """A rule the compiler cannot follow (here: a relation to a model the metadata lacks) is
    one line naming the rule and the token; that rule's users are denied, no one else."""
    _, catalog = runtime_db
    order = catalog.models["sale.order"]
    broken = replace(order.fields["partner_id"], relation="x_missing.model")
    models = {
        **catalog.models,
        "sale.order": replace(order, fields={**order.fields, "partner_id": broken}),
    }
    rule = Rule(
        9999, "broken", "sale.order", "[('partner_id.name', '=', 'x')]", (), ("read",), True
    )
    catalog = replace(catalog, models=models, rules=(*catalog.rules, rule))
    policy_set = build_policy_set(catalog, ["app"])
    errors = [str(e) for e in policy_set.errors]
    assert errors == ["ir.rule 9999, token 'partner_id': unknown model 'x_missing.model'"]
    deny = [p for p in policy_set.policies if p.name == "pgpolicy_read_rule_9999"]
    assert len(deny) == 1 and not deny[0].permissive and deny[0].provenance.error
    # a restrictive denial: superuser mode, or what this transaction wrote (odoo-semantics §7),
    # or shadow mode's report
    assert deny[0].using is not None and deny[0].using.startswith(
        f"{LIFT} OR (pgpolicy.planned_write()"
    )
    assert "partner_id" not in deny[0].using
