"""`pgpolicy report`: the auditor's matrix, checked against Odoo's own answers (the oracle)
and against `explain`; its HTML and Markdown renderings; what changed since a previous one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
from click.testing import CliRunner

from pgpolicy.audit.explain import user_by_id
from pgpolicy.cli import cli
from tests.conftest import Database, deploy_profiles
from tests.test_oracle import MODES, acl_allows
from tests.test_profiles import BIG


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def report(db: Database, *args: str, fmt: str = "json") -> Any:
    text = run("--dsn", db.dsn, "report", "--format", fmt, *args)
    return json.loads(text) if fmt == "json" else text


def test_every_cell_is_what_odoo_allows(enforced_db: Database, oracle: dict[str, Any]) -> None:
    """Rows and rules of each cell equal the ORM's ids and applied rule ids, for every user
    whose companies in the oracle are all of the user's companies (the report's context)."""
    data = report(enforced_db)
    with psycopg.connect(enforced_db.dsn) as conn:
        companies = {
            login: list(user_by_id(conn, info["id"], login).company_ids)
            for login, info in oracle["users"].items()
        }
    compared = [
        login
        for login, info in oracle["users"].items()
        if sorted(info["env_company_ids"]) == sorted(companies[login])
    ]
    assert len(compared) >= 6, compared
    mismatches = []
    cells = 0
    for login in compared:
        groups = set(oracle["users"][login]["group_ids"])
        for model, modes in oracle["results"][login].items():
            for mode in MODES:
                expected = modes[mode]
                cell = data["cells"][login][model][mode]
                acl = acl_allows(oracle["acls"], groups, model, mode)
                want = (acl, len(expected["ids"]) if acl else 0, sorted(expected["rule_ids"]))
                got = (cell["acl"], cell["rows"], sorted(cell["rules"]))
                cells += 1
                if want != got:
                    mismatches.append(f"{login} {model} {mode}: report {got}, Odoo {want}")
    assert mismatches == []
    assert cells >= 6 * 100 * 4


def test_a_cell_equals_explain(enforced_db: Database) -> None:
    data = report(enforced_db, "--user", "salesmgr_ab", "--model", "sale.order")
    assert [u["login"] for u in data["users"]] == ["salesmgr_ab"]
    assert [m["model"] for m in data["models"]] == ["sale.order"]
    for mode in MODES:
        explained = json.loads(
            run("--dsn", enforced_db.dsn, "--format", "json", "explain",
                "--user", "salesmgr_ab", "--model", "sale.order", "--mode", mode)
        )  # fmt: skip
        cell = data["cells"]["salesmgr_ab"]["sale.order"][mode]
        assert cell["rows"] == explained["rows"]
        assert cell["rules"] == [r["id"] for r in explained["rules"] if r["applies"]]


def test_since_shows_a_profile_change(enforced_db: Database, app_role: str, tmp_path: Path) -> None:
    before = tmp_path / "before.json"
    run("--dsn", enforced_db.dsn, "report", "--format", "json", "--model", "sale.order",
        "-o", str(before))  # fmt: skip
    deploy_profiles(enforced_db.dsn, app_role, BIG)

    data = report(enforced_db, "--model", "sale.order", "--since", str(before))
    changes = data["changes"]
    assert changes["profiles_added"] == ["big-orders"]
    [read] = [c for c in changes["cells"] if c["mode"] == "read"]
    assert read["login"] == "salesmgr_ab" and read["model"] == "sale.order"
    assert read["after"]["rows"] < read["before"]["rows"]
    assert read["after"]["profiles"] == ["big-orders"] and read["before"]["profiles"] == []
    assert {c["login"] for c in changes["cells"]} == {"salesmgr_ab"}  # nobody else changed

    text = report(enforced_db, "--model", "sale.order", "--since", str(before), fmt="markdown")
    assert "- profiles added: big-orders" in text
    assert (
        f"- salesmgr_ab / sale.order / read: {read['before']['rows']} → {read['after']['rows']}"
        in text
    )


def test_html_is_one_self_contained_page(enforced_db: Database) -> None:
    data = report(enforced_db, "--model", "sale.order", "--model", "res.partner")
    page = report(enforced_db, "--model", "sale.order", "--model", "res.partner", fmt="html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", page)
    assert len(rows) == len(data["users"]) * 2
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page)
    assert embedded is not None
    shown = json.loads(embedded.group(1))
    assert shown["cells"] == data["cells"]


def test_report_refuses_what_it_cannot_read(enforced_db: Database, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--dsn", enforced_db.dsn, "report", "--model", "no.such.model"]
    )
    assert result.exit_code == 1 and "unknown model(s): no.such.model" in str(result.exception)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    result = CliRunner().invoke(
        cli, ["--dsn", enforced_db.dsn, "report", "--model", "sale.order", "--since", str(bad)]
    )
    assert result.exit_code == 1 and "not a pgpolicy report" in str(result.exception)


def test_analyst_logins_are_listed_and_their_changes_shown(
    enforced_db: Database, tmp_path: Path
) -> None:
    """An analyst login appears with its Odoo user, companies and the columns PostgreSQL
    refuses it (the role's own column privileges); adding and removing it show in --since."""
    role = f"bi_{enforced_db.name}"[:63]
    before = tmp_path / "before.json"
    run("--dsn", enforced_db.dsn, "report", "--format", "json", "--model", "res.users",
        "-o", str(before))  # fmt: skip
    assert json.loads(before.read_text())["analysts"] == []
    run("--dsn", enforced_db.dsn, "analyst", "add", "--login", role, "--odoo-user", "salesman_a",
        "--companies", "1")  # fmt: skip
    try:
        data = report(enforced_db, "--model", "res.users", "--since", str(before))
        [listed] = data["analysts"]
        assert (listed["role"], listed["odoo_user"], listed["company_ids"]) == (
            role, "salesman_a", [1],
        )  # fmt: skip
        with psycopg.connect(enforced_db.dsn) as conn:
            refused = {
                f"res_users.{column}"
                for (column,) in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = 'public.res_users'::regclass"
                    " AND attnum > 0 AND NOT attisdropped"
                    " AND NOT has_column_privilege(%s, attrelid, attnum, 'SELECT')",
                    [role],
                )
            }
        assert "res_users.password" in refused
        assert {c for c in listed["hidden_columns"] if c.startswith("res_users.")} == refused
        assert data["changes"]["analysts_added"] == [role]

        text = report(enforced_db, "--model", "res.users", "--since", str(before), fmt="markdown")
        assert f"- analysts added: {role}" in text
        assert f"- {role} reads as salesman_a (uid 15), companies 1, read only;" in text
        page = report(enforced_db, "--model", "res.users", fmt="html")
        assert f"<li>{role} reads as salesman_a (uid 15)" in page
        now = tmp_path / "now.json"
        now.write_text(json.dumps(data))
    finally:
        run("--dsn", enforced_db.dsn, "analyst", "remove", "--login", role)
    after = report(enforced_db, "--model", "res.users", "--since", str(now))
    assert after["analysts"] == [] and after["changes"]["analysts_removed"] == [role]
