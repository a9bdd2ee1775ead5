"""pgpolicy: PostgreSQL row-level security compiled from Odoo's access rules."""

__version__ = "0.1.0"
