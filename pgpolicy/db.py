"""The one way pgpolicy opens a connection to a database: every command and stage goes
through `connect`, so what a connection must be (its settings) is decided in one place."""

from __future__ import annotations

import psycopg


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to the database `dsn` names (libpq string or URI; empty: the PG* variables)."""
    return psycopg.connect(dsn, autocommit=autocommit)
