import logging

from odoo import _, api, models
from odoo.exceptions import AccessError

from ..hooks import report_health, role_health_of

_logger = logging.getLogger(__name__)


class PgpolicyBridge(models.AbstractModel):
    _name = "pgpolicy.bridge"
    _description = "pgpolicy bridge status"

    def _register_hook(self):
        super()._register_hook()
        report_health(self.env.cr)

    @api.model
    def status(self):
        """The database role's state and the bridge's counters (administrators only)."""
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only administrators may read the pgpolicy status."))
        return role_health_of(self.env.cr)
