"""pgpolicy bridge: sets `pgpolicy.set_context` for every transaction on Odoo's connections.

Load it server-wide (`--load=base,web,pgpolicy_bridge`) so that it is active before any
registry loads; install it in each database for its status log line and `post_init_hook`.
The decisions live in `lib/` (plain Python, standard library only, tested without Odoo);
the rest of the addon only hooks Odoo. See docs/bridge.md.

The addon is self-contained: drop this directory into Odoo's addons path. Outside Odoo
(the tests of `lib/`), importing it brings only `lib/`.
"""

try:
    import odoo
except ImportError:  # outside Odoo: only the plain Python of lib/ is importable
    __all__: list[str] = []
else:
    from . import controllers, models
    from .hooks import post_init_hook, post_load, system

    __all__ = ["post_init_hook", "post_load", "system"]
