"""Module code, as a site's addon would write it: raw SQL inside a user's request.

Called through `/web/dataset/call_kw` by tests/test_bridge_odoo.py. The tables are
checked against a fixed list; each method returns what the database gave it.
"""

from odoo import api, models, sql_db
from odoo.addons.pgpolicy_bridge import system
from odoo.tools import SQL

TABLES = ("sale_order", "account_move", "account_analytic_line", "res_partner", "hr_employee")
# tests/test_bridge_odoo_lifecycle.py: a report view, a custom model, a module's table
TABLES += ("hr_employee_skill_report", "x_lifecycle", "maintenance_equipment", "stock_picking")


# Odoo 18.0 and 19.0 mark the methods a read-only request may call; 17.0 has no such mark.
READONLY = getattr(api, "readonly", lambda method: method)


class PgpolicyBridgeProbe(models.AbstractModel):
    _name = "pgpolicy.bridge.probe"
    _description = "pgpolicy bridge probe (tests only)"

    def _table_ids(self, table):
        if table not in TABLES:
            raise ValueError(f"not a probe table: {table}")
        self.env.cr.execute(SQL("SELECT id FROM %s ORDER BY id", SQL.identifier(table)))
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def raw_ids(self, table):
        """`cr.execute("SELECT id FROM <table>")` in module code: the user's rows."""
        return self._table_ids(table)

    @api.model
    def raw_employee_skills(self):
        """A report view read by module code: (employee, skill) pairs, in order."""
        self.env.cr.execute(
            "SELECT employee_id, skill_id FROM hr_employee_skill_report ORDER BY 1, 2"
        )
        return [list(row) for row in self.env.cr.fetchall()]

    @READONLY
    @api.model
    def readonly_ids(self, table):
        """`raw_ids` in a read-only request, which Odoo serves from `db_replica_host` when
        set (tests/test_replica.py): the ids, and whether the server is a standby."""
        self.env.cr.execute("SELECT pg_is_in_recovery()")
        [in_recovery] = self.env.cr.fetchone()
        return {"in_recovery": in_recovery, "ids": self._table_ids(table)}

    @api.model
    def system_ids(self, table):
        """The same inside an explicit system block: every row."""
        with system():
            return self._table_ids(table)

    @api.model
    def context(self):
        """What the database says the context of this statement is."""
        self.env.cr.execute("SELECT pgpolicy.uid(), pgpolicy.su(), pgpolicy.company_ids()")
        uid, su, companies = self.env.cr.fetchone()
        return {"uid": uid, "su": su, "company_ids": companies}

    @api.model
    def pooled_connection(self):
        """A connection from Odoo's pool, read past the bridge: what it carries, what it sees."""
        with sql_db.db_connect(self.env.cr.dbname).cursor() as fresh:
            fresh._obj.execute(
                "SELECT current_setting('pgpolicy.uid', true), pgpolicy.uid(),"
                " (SELECT count(*) FROM sale_order), (SELECT count(*) FROM res_partner)"
            )
            setting, uid, orders, partners = fresh._obj.fetchone()
        return {"setting": setting, "uid": uid, "sale_orders": orders, "partners": partners}

    @api.model
    def display_name_domain(self, model, value):
        """The domain Odoo's display-name search makes of `(display_name, ilike, value)`."""
        return self.env[model]._search_display_name("ilike", value)
