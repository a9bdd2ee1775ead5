"""The directory to put on Odoo's addons path: it holds the addon `pgpolicy_bridge`.

The addon is self-contained (its plain Python is `pgpolicy_bridge/lib`, standard library
only, importable without Odoo as `odoo_bridge.pgpolicy_bridge.lib`): nothing needs to be
pip-installed into Odoo's environment. See docs/bridge.md.
"""
