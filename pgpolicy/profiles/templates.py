"""Starting points for `pgpolicy profile new --template ...`: valid profiles to edit.

Each template is a function of the new profile's name (and, for time-bound ones, of the
moment it starts), returning a `Profile`; the command prints it in the file format.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pgpolicy.profiles.model import ANY_MODEL, ModelAccess, Profile

READ_ONLY = ModelAccess(ANY_MODEL, write=False, create=False, unlink=False)


def read_only_viewer(name: str, now: datetime) -> Profile:
    """Sees what Odoo lets them see; changes nothing, anywhere."""
    return Profile(
        name,
        description="Sees what Odoo lets them see, changes nothing",
        models=(READ_ONLY,),
    )


def own_records(name: str, now: datetime) -> Profile:
    """Sales documents of their own only, whatever their groups allow."""
    own = "[('user_id', '=', __uid__)]"
    return Profile(
        name,
        description="Their own quotations, orders and leads only",
        models=(
            ModelAccess("crm.lead", read=own, write=own, unlink=own),
            ModelAccess("sale.order", read=own, write=own, unlink=False),
        ),
    )


def vendor_portal(name: str, now: datetime) -> Profile:
    """A supplier's contacts: their company's purchase orders and bills, nothing else."""
    mine = "[('partner_id', 'child_of', user.partner_id.commercial_partner_id.id)]"
    return Profile(
        name,
        description="A vendor's people: their company's purchase orders and bills only",
        strict=True,
        deny_by_default=True,
        models=(
            ModelAccess(
                "account.move",
                read="[('move_type', 'in', ['in_invoice', 'in_refund']), "
                "('partner_id', 'child_of', user.partner_id.commercial_partner_id.id)]",
                write=False,
                create=False,
                unlink=False,
            ),
            ModelAccess("purchase.order", read=mine, write=False, create=False, unlink=False),
            ModelAccess(
                "res.partner",
                read="[('id', 'child_of', user.partner_id.commercial_partner_id.id)]",
                create=False,
                unlink=False,
            ),
        ),
    )


def time_bound_auditor(name: str, now: datetime) -> Profile:
    """Read-only for 30 days from now, the last year of accounting only; then nothing."""
    start = now.replace(microsecond=0)
    return Profile(
        name,
        description="An auditor's access for 30 days: read-only, last 365 days of accounting",
        active_from=start,
        active_until=start + timedelta(days=30),
        models=(
            READ_ONLY,
            ModelAccess(
                "account.move",
                read="[('date', '>=', __last_365_days__)]",
                write=False,
                create=False,
                unlink=False,
            ),
            ModelAccess(
                "account.move.line",
                read="[('date', '>=', __last_365_days__)]",
                write=False,
                create=False,
                unlink=False,
            ),
        ),
    )


TEMPLATES: dict[str, Callable[[str, datetime], Profile]] = {
    "read-only-viewer": read_only_viewer,
    "own-records": own_records,
    "vendor-portal": vendor_portal,
    "time-bound-auditor": time_bound_auditor,
}
