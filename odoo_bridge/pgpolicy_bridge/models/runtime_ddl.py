"""Schema changes a serving Odoo would make at run time: refused unless its role may.

Installing, upgrading or uninstalling a module from the Apps menu, and `x_` models and
stored `x_` fields in Settings → Technical, are DDL on Odoo's tables, which only their owner
may do. Under a serving role that is not their owner, each is refused before anything is
written, with one line naming the supported path (`lib/ddl.py`): the owner role does it
(`odoo-bin -i/-u`, `odoo-bin shell`), then `pgpolicy apply`. Under the owner role, Odoo
runs unchanged. Non-stored custom fields need no DDL and are left alone.
"""

from odoo import api, models
from odoo.exceptions import UserError

from ..lib.ddl import refusal_for

# What a change of a stored custom field turns into DDL (column, constraint, index, type).
FIELD_DDL_KEYS = frozenset(
    [
        "name",
        "ttype",
        "store",
        "required",
        "index",
        "translate",
        "relation",
        "on_delete",
        "relation_table",
        "column1",
        "column2",
    ]
)
VERBS = {"button_install": "installing", "button_upgrade": "upgrading",
         "button_uninstall": "uninstalling"}  # fmt: skip


def refuse_unless_allowed(env, operation):
    message = refusal_for(env.cr, operation)
    if message:
        raise UserError(message)


def _names(values):
    return ", ".join(sorted(str(v) for v in values if v)) or "?"


class IrModuleModule(models.Model):
    _inherit = "ir.module.module"

    def _button_immediate_function(self, function):
        verb = VERBS.get(getattr(function, "__name__", ""), "changing")
        refuse_unless_allowed(self.env, f"{verb} module(s) {_names(self.mapped('name'))}")
        return super()._button_immediate_function(function)

    # Scheduling too (the install then happens at "Apply scheduled upgrades", or at the
    # owner's next run): refused under the serving role, so nothing is left half-done.
    def button_install(self):
        refuse_unless_allowed(self.env, f"installing module(s) {_names(self.mapped('name'))}")
        return super().button_install()

    def button_upgrade(self):
        refuse_unless_allowed(self.env, f"upgrading module(s) {_names(self.mapped('name'))}")
        return super().button_upgrade()

    def button_uninstall(self):
        refuse_unless_allowed(self.env, f"uninstalling module(s) {_names(self.mapped('name'))}")
        return super().button_uninstall()


class BaseModuleUpgrade(models.TransientModel):
    _inherit = "base.module.upgrade"

    def upgrade_module(self):
        refuse_unless_allowed(self.env, "applying the scheduled module upgrades")
        return super().upgrade_module()


class IrModel(models.Model):
    _inherit = "ir.model"

    @api.model_create_multi
    def create(self, vals_list):
        custom = [v.get("model") for v in vals_list if v.get("state", "manual") == "manual"]
        if custom:
            refuse_unless_allowed(self.env, f"creating the custom model(s) {_names(custom)}")
        return super().create(vals_list)

    def unlink(self):
        custom = self.filtered(lambda m: m.state == "manual")
        if custom:
            refuse_unless_allowed(
                self.env, f"deleting the custom model(s) {_names(custom.mapped('model'))}"
            )
        return super().unlink()


class IrModelFields(models.Model):
    _inherit = "ir.model.fields"

    @api.model_create_multi
    def create(self, vals_list):
        custom = [
            v.get("name")
            for v in vals_list
            if v.get("state", "manual") == "manual" and v.get("store", True)
        ]
        if custom:
            refuse_unless_allowed(self.env, f"adding the custom field(s) {_names(custom)}")
        return super().create(vals_list)

    def write(self, vals):
        stored = self.filtered(lambda f: f.state == "manual" and f.store)
        if stored and FIELD_DDL_KEYS & set(vals):
            refuse_unless_allowed(
                self.env, f"changing the custom field(s) {_names(stored.mapped('name'))}"
            )
        return super().write(vals)

    def unlink(self):
        stored = self.filtered(lambda f: f.state == "manual" and f.store)
        if stored:
            refuse_unless_allowed(
                self.env, f"deleting the custom field(s) {_names(stored.mapped('name'))}"
            )
        return super().unlink()
