"""The Odoo-shaped sample database that `pgpolicy demo` and the tests load."""
