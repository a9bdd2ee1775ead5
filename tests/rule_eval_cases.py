"""`domain_force` expressions as Odoo evaluates them, for tests/test_rule_eval.py.

Each case is (model, domain_force text). `tests/record_rule_eval.py` evaluates every one in
a real Odoo 18 shell on the shared database, as each user of the oracle does
(`ir.rule._eval_context`, then a search in sudo with `active_test=False`, as
`_apply_ir_rules` does), and records the ids, or that Odoo raises.
Cases that read the clock (`time.strftime`) are checked against hand-written SQL instead,
so that the recorded ids do not go stale.
"""

from __future__ import annotations

CASES: list[tuple[str, str]] = [
    # a conditional around the whole domain (sale_stock, stock: multi-company rules)
    (
        "sale.order",
        "[('company_id', '=', company_id)] if user.has_group('base.group_multi_company') "
        "else [(1, '=', 1)]",
    ),
    (
        "res.partner",
        "['|', ('company_id', '=', False), ('company_id', 'in', company_ids)] "
        "if user.has_group('base.group_multi_company') else [(1, '=', 1)]",
    ),
    (
        "sale.order",
        "[('company_id', 'in', company_ids + [False])] if user.has_group('sales_team.group_sale_manager') "
        "else [('company_id', '=', company_id), ('user_id', '=', user.id)]",
    ),
    # a conditional between terms, and inside a sub-domain
    (
        "crm.lead",
        "['|', ('user_id', '=', user.id)] + ([('team_id.user_id', '=', user.id)] "
        "if user.has_group('sales_team.group_sale_salesman_all_leads') else [(0, '=', 1)])",
    ),
    (
        "sale.order",
        "[('partner_id', 'any', [('user_id', '=', user.id)] "
        "if user.has_group('sales_team.group_sale_manager') else [('id', '=', user.partner_id.id)])]",
    ),
    # a conditional inside a value
    (
        "crm.lead",
        "[('team_id', 'in', user.sale_team_id.ids if user.has_group('sales_team.group_sale_salesman') "
        "else [False])]",
    ),
    (
        "sale.order",
        "[('user_id', '=', user.id if not user.has_group('sales_team.group_sale_manager') else False)]",
    ),
    (
        "sale.order",
        "['!', ('team_id', 'in', user.sale_team_id.ids if user.has_group('base.group_multi_company') "
        "else [False])]",
    ),
    # =? with a value known at query time
    ("crm.lead", "[('team_id', '=?', user.sale_team_id.id)]"),
    ("sale.order", "['!', ('team_id', '=?', user.sale_team_id.id)]"),
    ("sale.order", "[('team_id', '=?', user.sale_team_id.ids)]"),
    ("sale.order", "['!', ('team_id', '=?', user.sale_team_id.ids)]"),
    ("res.partner", "[('user_id', '=?', user.employee_id.user_id.id)]"),
    # and / or / not, Python's values
    ("sale.order", "[('team_id', 'in', user.sale_team_id.ids or [False])]"),
    (
        "sale.order",
        "[('company_id', '=', user.has_group('base.group_multi_company') and company_id "
        "or user.company_id.id)]",
    ),
    (
        "res.partner",
        "[('active', '=', not user.has_group('sales_team.group_sale_manager'))]",
    ),
    ("res.partner", "[('is_company', '!=', user.has_group('base.group_multi_company'))]"),
    # mapped() and the list comprehension of mail_group's rules
    ("res.groups", "[('id', 'in', [g.id for g in user.groups_id])]"),
    (
        "res.partner",
        "[('country_id', 'in', user.env.companies.mapped('country_id').ids + [False])]",
    ),
    ("res.partner", "[('id', 'in', user.mapped('partner_id').ids)]"),
    # arithmetic on constants
    ("sale.order", "[('id', '<=', 10 + 5 * 2)]"),
    # names that are not in the rule evaluation context: Odoo raises
    ("sale.order", "[('date_order', '>=', datetime.date.today())]"),
    ("sale.order", "[('date_order', '>=', context_today())]"),
    ("sale.order", "[('date_order', '>=', relativedelta(days=1))]"),
]

# Clock-dependent terms: (model, domain_force, the rows Odoo selects as hand-written SQL
# over the model's table, for any user; the server runs in UTC as Odoo's does). The test
# first moves some orders and invoices around today (CLOCK_SEED) so that each case
# separates rows on both sides of its bound.
TODAY = "(now() AT TIME ZONE 'UTC')::date"
CLOCK_SEED = f"""
UPDATE sale_order AS o SET date_order = {TODAY} + s.shift
  FROM (VALUES (1, interval '-1 second'), (2, interval '0'), (3, interval '12 hours'),
               (4, interval '23:59:59'), (5, interval '1 day')) AS s(id, shift)
 WHERE o.id = s.id;
UPDATE sale_order SET name = to_char(now() AT TIME ZONE 'UTC', 'YYYY') WHERE id = 6;
UPDATE account_move AS m SET invoice_date = {TODAY} + s.shift
  FROM (VALUES (1, -400), (2, -1), (3, 0), (4, 1)) AS s(id, shift)
 WHERE m.id = s.id;
"""
CLOCK_CASES: list[tuple[str, str, str]] = [
    (
        "account.move",
        "[('invoice_date', '>=', time.strftime('%Y-01-01'))]",
        "invoice_date >= make_date(extract(year FROM now() AT TIME ZONE 'UTC')::int, 1, 1)",
    ),
    (
        "account.move",
        "[('invoice_date', '<', time.strftime('%Y-%m-%d'))]",
        f"invoice_date < {TODAY}",
    ),
    (
        "account.move",
        "[('invoice_date', '!=', time.strftime('%Y-%m-%d'))]",
        f"invoice_date IS DISTINCT FROM {TODAY}",
    ),
    (
        "sale.order",
        "[('date_order', '<=', time.strftime('%Y-%m-%d'))]",
        f"date_order < {TODAY} + 1",
    ),
    (
        "sale.order",
        "[('date_order', '>', time.strftime('%Y-%m-%d'))]",
        f"date_order >= {TODAY} + 1",
    ),
    ("sale.order", "[('date_order', '>=', time.strftime('%Y-%m-%d'))]", f"date_order >= {TODAY}"),
    ("sale.order", "[('date_order', '<', time.strftime('%Y-%m-%d'))]", f"date_order < {TODAY}"),
    ("sale.order", "[('date_order', '=', time.strftime('%Y-%m-%d'))]", f"date_order = {TODAY}"),
    (
        "sale.order",
        "[('date_order', '<', time.strftime('%Y-%m-%d %H:%M:%S'))]",
        "date_order < date_trunc('second', now() AT TIME ZONE 'UTC')",
    ),
    (
        "sale.order",
        "[('name', '!=', time.strftime('%Y'))]",
        "name IS DISTINCT FROM to_char(now() AT TIME ZONE 'UTC', 'YYYY')",
    ),
]
