"""Build the demo database the ORM oracle is recorded on, for one Odoo version.

Run with the Python of an Odoo installation (not the test suite's): it imports Odoo.

    python build_db.py --odoo-src ODOO_TREE --database NAME --db-host SOCKET_DIR \
        --db-port PORT --db-user ROLE [--install] [--second]

`--install` first creates the database with the modules of MODULES and their demo data
(`odoo-bin -i`, which adds dependencies and auto-installed modules). Then, through the ORM
as superuser, it adds what the shipped demo data lacks for record rules to be observable:
a chart of accounts for the second company, seven users of different kinds (the eight
kinds of `tests/data/odoo17/README.md` with Odoo's own `demo` user), and records marked
`[harness]` that exist in one company only or belong to one salesman. The same script
builds every supported version; the few differences of Odoo's API are named below
(`groups_field`). It is a tool for maintainers, never imported by the test suite.

`--second` builds the second Odoo 18 database (`tests/data/second/README.md`): the modules
of SECOND_MODULES too, then `build_second`: a branch company, users whose requests allow a
subset of their companies, archived records, and custom rules with every construct of
`domain_force` that Odoo's rule context evaluates, created through the ORM (so Odoo
accepted each).
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
# The second database (`--second`, tests/data/second/): the modules above and more, so that
# their rules are compiled too.
SECOND_MODULES = (
    "mrp,repair,maintenance,event,fleet,lunch,survey,hr_recruitment,hr_attendance,project_todo"
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
    batches = (MODULES, SAME_AS_18, SECOND_MODULES) if opts.second else (MODULES, SAME_AS_18)
    for modules in batches:
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


# The second database's users beyond the eight above: login -> the names of the companies of
# its requests (`allowed_company_ids`, the current one first), a subset of its companies
# where they differ (record_oracle.py reads it).
BRANCH = f"Chicago Branch {HARNESS}"
SECOND_ALLOWED = {
    "multico_restricted": (BRANCH, "My Company (Chicago)"),
    "branch_user": (BRANCH,),
    "ops_user": ("My Company (San Francisco)",),
}
EXOTIC_GROUP = "harness.group_exotic"
EXOTIC = f"user.has_group('{EXOTIC_GROUP}')"


def exotic_rules(ids: dict[str, int]) -> list[tuple[str, str, str, bool, str]]:
    """(model, name, domain_force, global, perms): every construct of `domain_force` that
    Odoo's rule context evaluates, on models whose rows tell them apart. Global rules are
    wrapped in a test of the exotic group (a conditional around the whole domain), so
    they restrict its members only; `perms` are the modes among r, w, c, u."""
    only = f" if {EXOTIC} else [(1, '=', 1)]"
    return [
        ("sale.order", "=? with a query-time value",
         "['|', ('team_id', '=?', user.sale_team_id.id), ('user_id', '=', user.id)]" + only,
         True, "rwcu"),
        ("sale.order", "write drafts only",
         "[('state', 'in', ['draft', 'sent'])]" + only, True, "w"),
        ("crm.lead", "a conditional inside a value",
         "['|', ('team_id', 'in', user.sale_team_id.ids if "
         "user.has_group('sales_team.group_sale_salesman_all_leads') else [False]), "
         "('user_id', '=', user.id)]" + only, True, "rwcu"),
        ("crm.lead", "missing records, ilike on a many2many, ordering with False",
         "['|', '|', '|', ('partner_id.active', '=', False), ('tag_ids', 'ilike', 'prod'), "
         "('probability', '>', False), "
         f"('partner_id', 'child_of', {ids['deco']})]" + only, True, "rw"),
        ("crm.lead", "a date field against time.strftime",
         "[('date_deadline', '<', time.strftime('2096-%m-%d'))]", False, "u"),
        ("account.move", "time.strftime on a date field",
         "['&', ('invoice_date', '>', time.strftime('2020-%m-%d')), "
         "('ref', '!=', time.strftime('%Y'))]" + only, True, "rwcu"),
        ("project.task", "time.strftime on a datetime field, any / not any",
         "['|', '&', ('date_deadline', '>=', time.strftime('1992-%m-%d')), "
         "('create_date', '<=', time.strftime('%Y-%m-%d %H:%M:%S')), "
         "'&', ('project_id', 'any', [('privacy_visibility', '!=', 'followers')]), "
         "('tag_ids', 'not any', [('name', '=', 'secret')])]" + only, True, "rwcu"),
        ("product.product", "a company-dependent float",
         "['|', ('standard_price', '<', 100), ('standard_price', '=', False)]" + only,
         True, "rwcu"),
        ("sale.order.line", "a path to a company-dependent float",
         "[('product_id.standard_price', '<', 120)]" + only, True, "rwcu"),
        ("res.partner", "a company-dependent many2one, a string on a many2one",
         "['|', '|', ('property_account_position_id', '=', False), "
         "('property_account_position_id.name', 'ilike', 'export'), "
         "('parent_id', '!=', 'Azure Interior')]" + only, True, "rwcu"),
        ("hr.department", "parent_of the current company",
         "[('company_id', 'parent_of', company_id)]" + only, True, "rwcu"),
        ("hr.employee", "child_of the allowed companies, .ids + a list",
         "['|', ('company_id', 'child_of', company_ids), "
         "('department_id', 'in', user.employee_ids.department_id.ids + [False])]" + only,
         True, "rwcu"),
        ("maintenance.equipment", "the user's companies, not the request's; and / or",
         "['|', ('company_id', 'in', user.company_ids.ids + [False]), ('company_id', '=', "
         "user.has_group('base.group_multi_company') and company_id or user.company_id.id)]",
         False, "rwcu"),
        ("event.event", "strings on many2one fields",
         "['|', ('organizer_id', 'ilike', 'company'), ('user_id', '=', user.id)]", False,
         "rwcu"),
        ("mrp.production", "a path of depth 3",
         "[('bom_id.product_tmpl_id.categ_id.name', 'not ilike', 'secret')]" + only, True,
         "rwcu"),
        ("fleet.vehicle", "the request's website",
         "['|', ('company_id', '=', False), ('company_id', 'in', website.company_id.ids "
         "+ company_ids)]", False, "r"),
    ]  # fmt: skip


def refused_by_odoo(env: Any) -> list[str]:
    """Names Odoo's rule context lacks (`context_today`, `relativedelta`, `datetime`): Odoo
    refuses such a rule when it is created (`ir.rule._check_domain`), so no database holds
    one; checked here so that the README can say so."""
    refused = []
    model = env.ref("sale.model_sale_order")
    for domain in (
        "[('date_order', '>=', context_today())]",
        "[('date_order', '>=', relativedelta(days=1))]",
        "[('date_order', '>=', datetime.date.today())]",
    ):
        try:
            with env.cr.savepoint():
                env["ir.rule"].create({"name": "refused", "model_id": model.id,
                                       "domain_force": domain})  # fmt: skip
        except Exception as exc:  # ValidationError, the only outcome expected
            if type(exc).__name__ != "ValidationError":
                raise
            refused.append(domain)
        else:
            raise SystemExit(f"Odoo accepted {domain}")
    return refused


def build_second(env: Any) -> None:
    """What the second database adds to `build`'s: a branch of the second company, three
    users whose requests allow a subset of their companies, a group carrying exotic rules,
    archived records of several models, and values the rules tell apart."""
    ref = env.ref
    company_a, company_b = ref("base.main_company"), ref("stock.res_company_1")
    branch = env["res.company"].create({"name": BRANCH, "parent_id": company_b.id})
    gfield = groups_field(env)

    exotic = env["res.groups"].create({"name": f"Exotic rules {HARNESS}"})
    env["ir.model.data"].create(
        {"module": "harness", "name": "group_exotic", "model": "res.groups",
         "res_id": exotic.id, "noupdate": True}
    )  # fmt: skip
    users = env["res.users"].with_context(no_reset_password=True, mail_create_nolog=True)
    internal = ref("base.group_user")

    def user(login: str, groups: list[str], companies: list[Any]) -> Any:
        group_ids = [internal.id, exotic.id] + [ref(g).id for g in groups]
        return users.create(
            {
                "login": login, "name": login.replace("_", " ").title(),
                "company_id": companies[0].id, "company_ids": [(6, 0, [c.id for c in companies])],
                gfield: [(6, 0, group_ids)],
            }
        )  # fmt: skip

    restricted = user(
        "multico_restricted",
        ["sales_team.group_sale_salesman_all_leads", "account.group_account_invoice",
         "base.group_multi_company", "project.group_project_user", "stock.group_stock_user",
         "hr.group_hr_user", "event.group_event_user", "maintenance.group_equipment_manager",
         "fleet.fleet_group_user"],
        [company_b, branch, company_a],
    )  # fmt: skip
    branch_user = user(
        "branch_user",
        ["sales_team.group_sale_salesman", "account.group_account_invoice", "hr.group_hr_user"],
        [branch],
    )
    user(
        "ops_user",
        ["mrp.group_mrp_user", "maintenance.group_equipment_manager", "fleet.fleet_group_user",
         "event.group_event_user", "hr_recruitment.group_hr_recruitment_user",
         "survey.group_survey_user", "lunch.group_lunch_user", "base.group_multi_company",
         "project.group_project_user"],
        [company_a, branch, company_b],
    )  # fmt: skip
    salesman = env["res.users"].search([("login", "=", "salesman_a")])
    salesman.write({gfield: [(4, exotic.id)]})

    # Sales teams whose members are the new users (user.sale_team_id).
    team_c = env["crm.team"].create(
        {"name": f"Branch Sales {HARNESS}", "company_id": branch.id,
         "member_ids": [(6, 0, [branch_user.id])]}
    )  # fmt: skip
    team_b = env["crm.team"].search([("name", "=", f"Beta Sales {HARNESS}")])
    team_b.write({"member_ids": [(4, restricted.id)]})

    deco, azure = ref("base.res_partner_2"), ref("base.res_partner_12")
    gone = env["res.partner"].create({"name": f"Archived customer {HARNESS}", "ref": "2026"})
    leads = env["crm.lead"].with_context(mail_create_nolog=True)
    tag = env["crm.tag"].create({"name": f"Product {HARNESS}"})
    for name, company, extra in (
        ("Branch lead", branch, {"team_id": team_c.id, "user_id": branch_user.id}),
        ("Branch lead of an archived customer", branch, {"partner_id": gone.id}),
        ("Branch lead of Deco", branch, {"partner_id": deco.id, "tag_ids": [(6, 0, tag.ids)]}),
        (
            "Chicago lead with a deadline",
            company_b,
            {"date_deadline": "2026-06-30", "team_id": team_b.id},
        ),
        ("Archived lead", company_a, {"active": False, "user_id": salesman.id}),
    ):
        leads.create({"name": f"{name} {HARNESS}", "company_id": company.id, "type": "opportunity",
                      **extra})  # fmt: skip
    gone.active = False

    # Company-dependent values that differ between companies.
    chair = product(env, default_code="FURN_7777")
    desk = product(env, default_code="FURN_0269")
    chair.with_company(branch).standard_price = 150
    desk.with_company(company_b).standard_price = 0
    desk.with_company(company_a).standard_price = 500
    export = env["account.fiscal.position"].create(
        {"name": f"Export {HARNESS}", "company_id": branch.id}
    )
    domestic = env["account.fiscal.position"].create(
        {"name": f"Domestic {HARNESS}", "company_id": company_a.id}
    )
    deco.with_company(branch).property_account_position_id = export
    azure.with_company(company_a).property_account_position_id = domestic

    # Documents of the branch.
    env["sale.order"].with_company(branch).create(
        {"company_id": branch.id, "partner_id": azure.id, "user_id": branch_user.id,
         "team_id": team_c.id, "client_order_ref": f"C-SO-1 {HARNESS}",
         "order_line": [(0, 0, {"product_id": chair.id, "product_uom_qty": 1,
                                "price_unit": 10, "tax_id": [(6, 0, [])]})]}
    )  # fmt: skip
    env["sale.order"].with_company(branch).create(
        {"company_id": branch.id, "partner_id": deco.id, "user_id": False,
         "client_order_ref": f"C-SO-2 {HARNESS}"}
    )  # fmt: skip
    dept_c = (
        env["hr.department"]
        .with_company(branch)
        .create({"name": f"Branch Department {HARNESS}", "company_id": branch.id})
    )
    employees = env["hr.employee"].with_company(branch)
    employees.create({"name": f"Branch Employee {HARNESS}", "company_id": branch.id,
                      "department_id": dept_c.id, "user_id": branch_user.id})  # fmt: skip
    employees.create({"name": f"Archived Employee {HARNESS}", "company_id": branch.id,
                      "active": False})  # fmt: skip
    env["maintenance.equipment"].create(
        {"name": f"Branch press {HARNESS}", "company_id": branch.id}
    )
    env["maintenance.equipment"].create(
        {"name": f"Archived press {HARNESS}", "company_id": company_a.id, "active": False}
    )
    env["event.event"].create(
        {"name": f"Branch fair {HARNESS}", "company_id": branch.id, "organizer_id": deco.id,
         "date_begin": "2026-05-01 08:00:00", "date_end": "2026-05-02 18:00:00"}
    )  # fmt: skip
    env["project.tags"].create({"name": "secret"})
    # A bill of 2019: before any bound `time.strftime('2020-%m-%d')` gives, whatever the day
    # (the fixed years of these bounds are leap years, so that 29 February makes a date).
    env["account.move"].with_company(company_b).create(
        {"move_type": "in_invoice", "company_id": company_b.id, "partner_id": deco.id,
         "ref": f"C-BILL-2019 {HARNESS}", "invoice_date": "2019-06-15",
         "invoice_line_ids": [(0, 0, {"product_id": chair.id, "quantity": 1,
                                      "price_unit": 20, "tax_ids": [(6, 0, [])]})]}
    )  # fmt: skip
    # A manufacturing order whose product is in a category the depth-3 path names.
    secret = env["product.category"].create({"name": f"Secret {HARNESS}"})
    production = env["mrp.production"].search([("bom_id", "!=", False)], limit=1, order="id")
    production.bom_id.product_tmpl_id.categ_id = secret

    # Archived records of several models.
    for model, domain in (
        ("product.template", [("default_code", "=", "FURN_8888")]),
        ("project.project", [("name", "=", f"Beta Project {HARNESS}")]),
        ("fleet.vehicle", []),
        ("crm.team", [("name", "=", f"Beta Sales {HARNESS}")]),
        ("res.partner", [("name", "=", "Ready Mat")]),
    ):
        found = env[model].search(domain, limit=1, order="id")
        if not found:
            raise SystemExit(f"nothing to archive in {model} {domain}")
        found.active = False

    ids = {"deco": deco.id}
    rules = env["ir.rule"]
    for model, name, domain, is_global, perms in exotic_rules(ids):
        rules.create(
            {
                "name": f"{name} {HARNESS}", "model_id": env["ir.model"]._get_id(model),
                "domain_force": domain, "groups": [] if is_global else [(6, 0, exotic.ids)],
                **{f"perm_{m}": m[0] in perms for m in ("read", "write", "create", "unlink")},
            }
        )  # fmt: skip
    rules.create(
        {"name": f"Archived: would deny everything {HARNESS}", "active": False,
         "model_id": env["ir.model"]._get_id("sale.order"), "domain_force": "[(0, '=', 1)]"}
    )  # fmt: skip
    print("refused by Odoo:", *refused_by_odoo(env), sep="\n  ")


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
    parser.add_argument(
        "--second", action="store_true", help="the second database (tests/data/second/)"
    )
    opts = parser.parse_args()
    if opts.install:
        install(opts)
    odoo = load_odoo(opts.odoo_src)

    odoo.tools.config.parse_config(odoo_args(opts))
    registry = odoo.modules.registry.Registry(opts.database)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, 1, {})  # the superuser
        build(env)
        if opts.second:
            build_second(env)
        env.flush_all()
    print(f"built {opts.database}")


if __name__ == "__main__":
    main()
