"""pgpolicy bridge: sets `pgpolicy.set_context` for every transaction on Odoo's connections.

Load it server-wide (`--load=base,web,pgpolicy_bridge`) so that it is active before any
registry loads; install it in each database for its status log line and `post_init_hook`.
The decisions live in the `odoo_bridge` package (plain Python, tested without Odoo);
this addon only hooks Odoo. See docs/bridge.md.
"""

from . import controllers, models
from .hooks import post_init_hook, post_load, system

__all__ = ["post_init_hook", "post_load", "system"]
