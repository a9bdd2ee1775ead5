"""The one way pgpolicy opens a connection to a database: every command and stage goes
through `connect`, so what a connection must be (its settings) is decided in one place.

Every connection pins `search_path` to `pg_catalog, pg_temp`. pgpolicy runs as a
superuser, in databases where other roles (the app role, module code) may create
functions and operators in `public`: with `public` in the path, an unqualified `||` or
`array_agg` of pgpolicy's own queries, or of a policy expression it creates, could
resolve to theirs and run with the superuser's rights, or be stored in a policy. With the
path pinned, names resolve in `pg_catalog` only, and pgpolicy names Odoo's tables
`public.<table>` and its own objects `pgpolicy.<name>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

SEARCH_PATH = "pg_catalog, pg_temp"
# Statements for connections pgpolicy does not open (a DBA's alembic environment): the
# caller's path is kept in a setting of our own, pinned, and put back afterwards. Every
# name in them is schema-qualified, since they run under the caller's path.
SAVE_SEARCH_PATH = (
    "SELECT pg_catalog.set_config('pgpolicy_ddl.search_path', "
    "pg_catalog.current_setting('search_path'), false)"
)
PIN_SEARCH_PATH = "SET search_path = pg_catalog, pg_temp"
RESTORE_SEARCH_PATH = (
    "SELECT pg_catalog.set_config('search_path', "
    "pg_catalog.current_setting('pgpolicy_ddl.search_path'), false)"
)


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to the database `dsn` names (libpq string or URI; empty: the PG* variables),
    with `search_path` pinned to `pg_catalog, pg_temp` for the whole session."""
    conn = psycopg.connect(dsn, autocommit=True)
    try:
        conn.execute(PIN_SEARCH_PATH)  # a utility statement: resolves no name
        conn.autocommit = autocommit
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def pinned_search_path(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """`search_path` pinned on a connection pgpolicy did not open, for the block's duration,
    then put back as it was (session-level, so it holds in and out of transactions)."""
    conn.execute(SAVE_SEARCH_PATH)
    conn.execute(PIN_SEARCH_PATH)
    try:
        yield
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            conn.execute(RESTORE_SEARCH_PATH)
