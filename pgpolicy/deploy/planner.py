"""Which implementation of the runtime's plan-time functions is in place: SQL or C.

The policies call the plan-time functions (`pgpolicy.planned_*`, sql/runtime.sql), which
the planner folds into constants. Their default implementation is SQL (PL/pgSQL). The
optional library `pgpolicy_planner` (sql/planner/) implements them in C with the same
results: each value is read once per statement planned instead of once per call site,
and set_context() invalidates only the plans that folded the context instead of every
cached plan (docs/semantics.md, "Plan-time functions in C"). It must be built and
installed on the database server; `pgpolicy planner on|off|show` switches, in one
transaction, as a superuser.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pgpolicy.db import connect
from pgpolicy.deploy import health
from pgpolicy.deploy.roles import MANAGED_MODE, deployment_mode, is_superuser, require_superuser
from pgpolicy.errors import PgPolicyError
from pgpolicy.resources import sql_dir

IMPLEMENTATIONS = {"c": "planned_c.sql", "sql": "planned_sql.sql"}


def planner_in_use(conn: psycopg.Connection[Any]) -> str:
    """`sql` or `c`: the implementation of the plan-time functions in the database."""
    version = health.runtime_version(conn)
    implementation = health.plan_time_functions(conn, version)
    if implementation is None:
        raise PgPolicyError(
            "planner: needs the pgpolicy runtime version 5 or later "
            f"(installed: {version or 'none'}); run pgpolicy init"
        )
    return implementation


def set_planner(dsn: str, implementation: str) -> str:
    """Put the `implementation` (`c` or `sql`) of the plan-time functions in place, in one
    transaction; the implementation in place afterwards.

    Needs a superuser (C functions, SECURITY DEFINER ones). Without the library on the
    server, `c` is an error that changes nothing. In managed mode (no superuser) the SQL
    functions stay: `off` changes nothing, `on` is an error saying why."""
    script = (sql_dir() / IMPLEMENTATIONS[implementation]).read_text()
    with connect(dsn) as conn:
        refusal = "planner: only a superuser may replace the plan-time functions"
        if deployment_mode(conn) == MANAGED_MODE and not is_superuser(conn):
            if implementation == "sql" and _sql_in_place(conn):
                return implementation
            refusal += (
                " (managed mode, no superuser: PostgreSQL loads C functions only for a "
                "superuser, so the SQL plan-time functions stay; same results, slower planning)"
            )
        require_superuser(conn, refusal)
        planner_in_use(conn)
        try:
            conn.execute(script)
        except psycopg.errors.UndefinedFile as e:
            raise PgPolicyError(
                "planner on: the library pgpolicy_planner is not installed on the database "
                "server (build it there: make -C sql/planner PG_CONFIG=<the server's "
                f"pg_config> install): {e.diag.message_primary}"
            ) from e
        return planner_in_use(conn)


def _sql_in_place(conn: psycopg.Connection[Any]) -> bool:
    """Whether the SQL plan-time functions are in place, as far as the connected role may
    ask (only the runtime's owner may call `pgpolicy.planner()`)."""
    try:
        with conn.transaction():
            return planner_in_use(conn) == "sql"
    except psycopg.errors.InsufficientPrivilege:
        return False
