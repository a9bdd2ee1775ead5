"""The Odoo side of pgpolicy, in plain Python: what context each statement carries.

Nothing here imports Odoo. The addon `odoo_bridge/pgpolicy_bridge` hooks Odoo's cursor,
environments, RPC entry points and crons, and asks these modules what to do:

- `context`:    who is asking (a principal) and what to send (`pgpolicy.set_context`);
- `statements`: how the context travels with the first statement of each transaction;
- `origin`:     whether a statement comes from the ORM or from module code;
- `health`:     whether the database role can be held to the policies at all.

CI tests them against real PostgreSQL, without Odoo.
"""
