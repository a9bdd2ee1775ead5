"""Build the demo database the ORM oracle is recorded on, for one Odoo version.

Run with the Python of an Odoo installation (not the test suite's): it imports Odoo.

    python build_db.py --odoo-src ODOO_TREE --database NAME --db-host SOCKET_DIR \
        --db-port PORT --db-user ROLE [--install]

`--install` first creates the database with the modules of MODULES and their demo data
(`odoo-bin -i`, which adds dependencies and auto-installed modules). Then, through the ORM
as superuser, it adds what the shipped demo data lacks for record rules to be observable:
a chart of accounts for the second company, seven users of different kinds (the eight
kinds of `tests/data/odoo17/README.md` with Odoo's own `demo` user), and records marked
`[harness]` that exist in one company only or belong to one salesman. The same script
builds every supported version; the few differences of Odoo's API are named below
(`groups_field`). It is a tool for maintainers, never imported by the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Any

MODULES = (
    "sale,crm,account,stock,purchase,hr,hr_expense,hr_holidays,hr_timesheet,project,"
    "website,mail,contacts"
)
# Installed on 18.0 by auto-installation, named here for the versions whose auto-install
# rules differ (17.0 installs sale_management only when asked); those a version lacks are
# left out.
SAME_AS_18 = (
    "l10n_us,project_sale_expense,sale_expense,sale_management,sale_pdf_quote_builder,"
    "sale_project,sale_project_stock,sale_service,sale_timesheet,"
    "spreadsheet_dashboard_hr_expense,spreadsheet_dashboard_sale_timesheet"
)
HARNESS = "[harness]"


def odoo_args(opts: argparse.Namespace) -> list[str]:
    addons = f"{opts.odoo_src}/addons,{opts.odoo_src}/odoo/addons"
    return [
        "-d", opts.database, f"--db_host={opts.db_host}", f"--db_port={opts.db_port}",
        f"--db_user={opts.db_user}", f"--addons-path={addons}", "--no-http",
    ]  # fmt: skip


def install(opts: argparse.Namespace) -> None:
    """The modules with demo data, in a new database (odoo-bin's own installer)."""
    argv = [sys.executable, f"{opts.odoo_src}/odoo-bin", *odoo_args(opts)]
    if "--with-demo" in Path(opts.odoo_src, "odoo", "tools", "config.py").read_text():
        argv.append("--with-demo")  # 19.0 loads demo data only when asked
    for modules in (MODULES, SAME_AS_18):
        present = [m for m in modules.split(",") if Path(opts.odoo_src, "addons", m).is_dir()]
        run = [*argv, "-i", ",".join(present), "--stop-after-init", "--log-level=warn"]
        subprocess.run(run, check=True)


def groups_field(env: Any) -> str:
    """The user's groups: `groups_id` up to 18.0, `group_ids` from 19.0."""
    return "group_ids" if "group_ids" in env["res.users"]._fields else "groups_id"


def first_field(model: Any, *names: str) -> str:
    """The first of `names` that `model` has (fields renamed between versions)."""
    return next(name for name in names if name in model._fields)


def product(env: Any, **where: str) -> Any:
    found = (
        env["product.product"]
        .with_context(active_test=False)
        .search([(k, "=", v) for k, v in where.items()], limit=1)
    )
    if not found:
        raise SystemExit(f"demo product {where} not found")
    return found


def partner_named(env: Any, name: str) -> Any:
    found = env["res.partner"].search([("name", "=", name)], limit=1)
    if not found:
        raise SystemExit(f"demo partner {name!r} not found")
    return found


def build(env: Any) -> None:
    ref = env.ref
    company_a, company_b = ref("base.main_company"), ref("stock.res_company_1")
    if env["res.users"].search([("login", "=", "salesman_a")]):
        raise SystemExit("already built: user salesman_a exists")

    # The second company gets the same chart of accounts as the first one.
    chart = env["account.chart.template"]
    template = company_a.chart_template or "generic_coa"
    if not env["account.journal"].search([("company_id", "=", company_b.id)], limit=1):
        chart.try_loading(template, company_b, install_demo=False)

    gfield = groups_field(env)
    users = env["res.users"].with_context(no_reset_password=True, mail_create_nolog=True)
    internal = ref("base.group_user")

    def user(login: str, name: str, groups: list[str], companies: list[Any], **extra: Any) -> Any:
        group_ids = [internal.id] + [ref(g).id for g in groups]
        return users.create(
            {
                "login": login,
                "name": name,
                "company_id": companies[0].id,
                "company_ids": [(6, 0, [c.id for c in companies])],
                gfield: [(6, 0, group_ids)],
                **extra,
            }
        )

    salesman = user("salesman_a", "Salesman A", ["sales_team.group_sale_salesman"], [company_a])
    manager = user(
        "salesmgr_ab",
        "Sales Manager AB",
        ["sales_team.group_sale_manager", "base.group_multi_company"],
        [company_a, company_b],
    )
    accountant = user(
        "accountant_b", "Accountant B", ["account.group_account_invoice"], [company_b]
    )
    user("stock_user", "Stock User", ["stock.group_stock_user"], [company_a])
    user("hr_officer", "HR Officer", ["hr.group_hr_user"], [company_a])
    user("project_user", "Project User", ["project.group_project_user"], [company_a])
    portal_partner = partner_named(env, "Douglas Fletcher")
    users.create(
        {
            "login": "portal_user",
            "name": portal_partner.name,
            "partner_id": portal_partner.id,
            "company_id": company_a.id,
            "company_ids": [(6, 0, [company_a.id])],
            gfield: [(6, 0, [ref("base.group_portal").id])],
        }
    )

    deco, gemini = ref("base.res_partner_2"), ref("base.res_partner_3")
    chair = product(env, default_code="FURN_7777")
    expense = product(env, name="Restaurant Expenses")
    sales_team = ref("sales_team.team_sales_department")

    team_b = env["crm.team"].create({"name": f"Beta Sales {HARNESS}", "company_id": company_b.id})
    leads = env["crm.lead"].with_context(mail_create_nolog=True)
    leads.create(
        {
            "name": f"Beta opportunity {HARNESS}", "type": "opportunity",
            "company_id": company_b.id, "user_id": manager.id, "team_id": team_b.id,
            "partner_id": deco.id,
        }
    )  # fmt: skip
    leads.create(
        {
            "name": f"Beta unassigned lead {HARNESS}", "type": "lead",
            "company_id": company_b.id, "user_id": False, "team_id": False,
        }
    )  # fmt: skip
    leads.create(
        {
            "name": f"Salesman A opportunity {HARNESS}", "type": "opportunity",
            "company_id": company_a.id, "user_id": salesman.id, "team_id": sales_team.id,
            "partner_id": gemini.id,
        }
    )  # fmt: skip

    def order(
        company: Any, salesperson: Any, partner: Any, team: Any, ref_: str, lines: Any
    ) -> Any:
        return (
            env["sale.order"]
            .with_company(company)
            .create(
                {
                    "company_id": company.id, "user_id": salesperson.id if salesperson else False,
                    "partner_id": partner.id, "team_id": team.id, "client_order_ref": ref_,
                    "order_line": [
                        (0, 0, {"product_id": p.id, "product_uom_qty": q, "price_unit": u,
                                first_field(env["sale.order.line"], "tax_id", "tax_ids"): [(6, 0, [])]})
                        for p, q, u in lines
                    ],
                }
            )
        )  # fmt: skip

    so_b1 = order(company_b, manager, deco, team_b, f"B-SO-1 {HARNESS}", [(chair, 3, 100)])
    order(company_b, None, gemini, team_b, f"B-SO-2 {HARNESS}", [(expense, 1, 250)])
    order(company_a, salesman, portal_partner, sales_team, f"A-SO-salesman_a {HARNESS}",
          [(chair, 2, 50)])  # fmt: skip
    so_b1.action_confirm()  # a delivery in company B

    env["purchase.order"].with_company(company_b).create(
        {
            "company_id": company_b.id, "partner_id": gemini.id,
            "partner_ref": f"B-PO-1 {HARNESS}",
            "order_line": [(0, 0, {"product_id": chair.id, "product_qty": 10, "price_unit": 30,
                                   first_field(env["purchase.order.line"], "taxes_id", "tax_ids"): [(6, 0, [])]})],
        }
    )  # fmt: skip

    moves = env["account.move"].with_company(company_b)
    invoice = moves.create(
        {
            "move_type": "out_invoice", "company_id": company_b.id, "partner_id": deco.id,
            "invoice_user_id": accountant.id, "ref": f"B-INV-1 {HARNESS}",
            "invoice_line_ids": [(0, 0, {"product_id": chair.id, "quantity": 1,
                                         "price_unit": 240, "tax_ids": [(6, 0, [])]})],
        }
    )  # fmt: skip
    invoice.action_post()
    moves.create(
        {
            "move_type": "in_invoice", "company_id": company_b.id, "partner_id": gemini.id,
            "ref": f"B-BILL-1 {HARNESS}", "invoice_date": invoice.invoice_date,
            "invoice_line_ids": [(0, 0, {"product_id": chair.id, "quantity": 1,
                                         "price_unit": 200, "tax_ids": [(6, 0, [])]})],
        }
    )  # fmt: skip

    project = (
        env["project.project"]
        .with_company(company_b)
        .create(
            {"name": f"Beta Project {HARNESS}", "company_id": company_b.id,
             "privacy_visibility": "followers"}
        )
    )  # fmt: skip
    env["project.task"].with_company(company_b).create(
        {"name": f"Beta Task {HARNESS}", "project_id": project.id, "company_id": company_b.id}
    )
    env["hr.employee"].with_company(company_b).create(
        {"name": f"Beta Employee {HARNESS}", "company_id": company_b.id}
    )


def load_odoo(src: str) -> Any:
    """The `odoo` package of the tree `src`, initialised: 19.0 made `odoo` a namespace package
    that `odoo.init` sets up; 17.0 and 18.0 set themselves up on import."""
    sys.path.insert(0, src)
    import odoo

    with contextlib.suppress(ImportError):
        import odoo.init
    import odoo.api
    import odoo.modules.registry
    import odoo.release
    import odoo.tools

    return odoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--odoo-src", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--db-host", required=True)
    parser.add_argument("--db-port", default="5432")
    parser.add_argument("--db-user", default="odoo")
    parser.add_argument("--install", action="store_true")
    opts = parser.parse_args()
    if opts.install:
        install(opts)
    odoo = load_odoo(opts.odoo_src)

    odoo.tools.config.parse_config(odoo_args(opts))
    registry = odoo.modules.registry.Registry(opts.database)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, 1, {})  # the superuser
        build(env)
        env.flush_all()
    print(f"built {opts.database}")


if __name__ == "__main__":
    main()
