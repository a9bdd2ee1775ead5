"""The generated `pgpolicy_sudo` functions and views read as superuser; without a valid
context they answer nothing, whoever calls them, with either implementation of the plan-time
functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.conftest import Database, use_planner

FUNCTIONS = """
SELECT p.proname FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'pgpolicy_sudo' AND p.pronargs = 0
UNION ALL
SELECT c.relname FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pgpolicy_sudo' AND c.relkind = 'v'
 ORDER BY 1
"""


def answers(conn: psycopg.Connection[Any], names: list[str]) -> dict[str, list[Any]]:
    """What each function returns: the ids of an integer[] one, `[True]` for a boolean one
    that answers true (false or NULL: nothing); a view: its ids."""
    result = {}
    for name in names:
        query = sql.SQL("SELECT {}()").format(sql.Identifier("pgpolicy_sudo", name))
        if name.startswith("rows_"):
            query = sql.SQL("SELECT array_agg(v) FROM {}").format(
                sql.Identifier("pgpolicy_sudo", name)
            )
        row = conn.execute(query).fetchone()
        assert row is not None
        value = row[0]
        result[name] = ([True] if value else []) if isinstance(value, bool) else list(value or [])
    return result


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_without_a_context_every_sudo_function_returns_nothing(
    enforced_db: Database,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
    planner: str,
    request: pytest.FixtureRequest,
) -> None:
    use_planner(request, enforced_db, planner)
    with psycopg.connect(enforced_db.dsn) as superuser:
        names = [name for (name,) in superuser.execute(FUNCTIONS)]
    assert len(names) > 100  # the Odoo database's rules need this many
    with psycopg.connect(app_dsn(enforced_db), autocommit=True) as app:
        assert_rls_effective(app, ["sale_order", "account_move"])
        without = answers(app, names)
        # settings written by hand, not by set_context, are no context either
        app.execute("SET pgpolicy.uid = '15'")
        app.execute("SET pgpolicy.company_ids = 'not a list'")
        malformed = answers(app, names)
        app.execute("RESET pgpolicy.uid")
        app.execute("RESET pgpolicy.company_ids")
        with app.transaction():
            app.execute("SELECT pgpolicy.set_context(15, ARRAY[1], false)")
            with_context = answers(app, names)
    assert {n: ids for n, ids in without.items() if ids} == {}
    assert {n: ids for n, ids in malformed.items() if ids} == {}
    # the check is the context, not a function broken for everyone: salesman_a gets ids
    assert sum(1 for ids in with_context.values() if ids) > 10


VIEWS = """
SELECT c.relname, c.relowner = n.nspowner,
       coalesce((SELECT o.option_value FROM pg_options_to_table(c.reloptions) o
                  WHERE o.option_name = 'security_invoker'), 'false'),
       has_table_privilege('public', c.oid, 'SELECT'),
       has_table_privilege(%s, c.oid, 'SELECT'),
       has_table_privilege(%s, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pgpolicy_sudo' AND c.relkind = 'v'
"""


def test_the_generated_views_read_past_rls_for_the_app_roles_only(
    enforced_db: Database, app_role: str
) -> None:
    """Each view of ids runs with its owner's rights (the schema's owner, who applied), is
    readable by the app roles and not by PUBLIC, and cannot be written."""
    with psycopg.connect(enforced_db.dsn) as superuser:
        rows = superuser.execute(VIEWS, [app_role, app_role]).fetchall()
    assert len(rows) > 100  # the relational rules of the Odoo database
    wrong = [r for r in rows if r[1:] != (True, "false", False, True, False)]
    assert wrong == []
