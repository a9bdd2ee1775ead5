"""The bridge's decisions, in plain Python: what context each statement carries.

Nothing here imports Odoo, nor anything outside Python's standard library: the addon is
self-contained (its only other need is Odoo's own psycopg2). The addon's `hooks` find, in
Odoo, the cursor, the environment, the call and the cron job, and ask these modules:

- `context`:    who is asking (a principal) and what to send (`pgpolicy.set_context`);
- `statements`: how the context travels with the first statement of each transaction;
- `origin`:     whether a statement comes from the ORM or from module code;
- `bridge`:     the decisions of each statement, from the three above;
- `health`:     whether the database role can be held to the policies at all, and at which
                level to log it;
- `login`, `profile_choice`: access profiles' sign-in refusals and enabled subset;
- `versions`:   which Odoo (17.0, 18.0, 19.0) runs, and where it keeps what is hooked.
- `registry`:   what is learnt at registry loading, before a waiting request gets the registry.

CI tests them against real PostgreSQL, without Odoo (tests/test_bridge*.py).
"""
