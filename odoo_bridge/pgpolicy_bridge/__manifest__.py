{
    "name": "pgpolicy bridge",
    "summary": "Tells PostgreSQL who is asking, statement by statement, so that its "
    "row-level security policies enforce Odoo's record rules beneath the ORM",
    "version": "1.0.0",  # Odoo prefixes its own series: one addon for 17.0, 18.0, 19.0
    "category": "Hidden/Tools",
    "license": "LGPL-3",
    "author": "pgpolicy",
    "depends": ["base"],
    # What Odoo itself runs on: nothing is pip-installed for the bridge.
    "external_dependencies": {"python": ["psycopg2"]},
    "data": [],
    "post_load": "post_load",
    "post_init_hook": "post_init_hook",
    "installable": True,
    "auto_install": False,
}
