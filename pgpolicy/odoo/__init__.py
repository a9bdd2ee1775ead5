"""Reading an Odoo database: its metadata (models, fields, rules, access rights) and the
text of its domains, into plain data the compiler takes."""
