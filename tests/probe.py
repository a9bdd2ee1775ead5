"""Ask PostgreSQL which rows its deployed policies admit, per command, without changing data.

- SELECT: read the ids.
- UPDATE / DELETE: a BEFORE ROW trigger records `OLD.id` and returns NULL, so the
  row is skipped (no change, no new-row check) after the command's USING
  policies admitted it. The statement reads no column (`SET id = NULL`, no WHERE),
  so PostgreSQL applies only that command's policies, not SELECT's.
- INSERT: copies of the rows are inserted again with `ON CONFLICT DO NOTHING`;
  PostgreSQL checks the INSERT policies (WITH CHECK) before looking for the
  conflict, so a denied row raises and an admitted one is silently skipped.
  Each row is tried alone, in a subtransaction of a PL/pgSQL function per table
  (one call per probe, its plan made once per call, not once per row).

The triggers, the copies and the functions are made by the superuser; the
probing itself runs on a connection of the app role, so the functions (SECURITY
INVOKER) insert as the app role, under its policies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql

PROBE_SCHEMA = "pgpolicy_probe"


def install(superuser: psycopg.Connection[Any], tables: Iterable[str], app_role: str) -> None:
    """Triggers that record and skip UPDATE/DELETE, and row copies and functions for INSERT."""
    schema = sql.Identifier(PROBE_SCHEMA)
    role = sql.Identifier(app_role)
    superuser.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    superuser.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
    superuser.execute(
        sql.SQL(
            "CREATE FUNCTION {}.record() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO pg_temp.probed VALUES (OLD.id); RETURN NULL; END $$"
        ).format(schema)
    )
    superuser.execute(
        sql.SQL("CREATE TABLE {}.inserters (tablename text PRIMARY KEY, function text)").format(
            schema
        )
    )
    superuser.execute(sql.SQL("GRANT SELECT ON {}.inserters TO {}").format(schema, role))
    for number, table in enumerate(tables):
        target = sql.Identifier("public", table)
        copy = sql.Identifier(PROBE_SCHEMA, table)
        superuser.execute(
            sql.SQL(
                "CREATE TRIGGER pgpolicy_probe BEFORE UPDATE OR DELETE ON {} "
                "FOR EACH ROW EXECUTE FUNCTION {}.record()"
            ).format(target, schema)
        )
        superuser.execute(sql.SQL("CREATE TABLE {} AS TABLE {}").format(copy, target))
        superuser.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(copy, role))
        function = f"insertable_{number}"
        superuser.execute(inserter(superuser, function, table, insert_columns(superuser, table)))
        superuser.execute(
            sql.SQL("INSERT INTO {}.inserters VALUES (%s, %s)").format(schema), [table, function]
        )


def inserter(
    conn: psycopg.Connection[Any], function: str, table: str, columns: Sequence[str]
) -> sql.Composed:
    """A function trying each copied row of `table` alone; it returns the ids admitted."""
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    body = sql.SQL(
        "DECLARE admitted integer[] := '{{}}'; row_id integer; BEGIN "
        "FOREACH row_id IN ARRAY ids LOOP BEGIN "
        "INSERT INTO {target} ({cols}) SELECT {cols} FROM {copy} WHERE id = row_id "
        "ON CONFLICT DO NOTHING; admitted := admitted || row_id; "
        "EXCEPTION WHEN insufficient_privilege THEN NULL; END; END LOOP; "
        "RETURN admitted; END"
    ).format(
        target=sql.Identifier("public", table), cols=cols, copy=sql.Identifier(PROBE_SCHEMA, table)
    )
    return sql.SQL(
        "CREATE FUNCTION {}(ids integer[]) RETURNS integer[] LANGUAGE plpgsql AS {}"
    ).format(sql.Identifier(PROBE_SCHEMA, function), sql.Literal(body.as_string(conn)))


def readable(app: psycopg.Connection[Any], table: str) -> list[int]:
    query = sql.SQL("SELECT id FROM {} ORDER BY id").format(sql.Identifier("public", table))
    return [row[0] for row in app.execute(query)]


def updatable(app: psycopg.Connection[Any], table: str) -> list[int]:
    return _recorded(app, sql.SQL("UPDATE {} SET id = NULL"), table)


def deletable(app: psycopg.Connection[Any], table: str) -> list[int]:
    return _recorded(app, sql.SQL("DELETE FROM {}"), table)


def _recorded(app: psycopg.Connection[Any], statement: sql.SQL, table: str) -> list[int]:
    app.execute("CREATE TEMP TABLE IF NOT EXISTS probed (id integer)")
    app.execute("TRUNCATE pg_temp.probed")
    app.execute(statement.format(sql.Identifier("public", table)))
    return [row[0] for row in app.execute("SELECT id FROM pg_temp.probed ORDER BY id")]


def insertable(app: psycopg.Connection[Any], table: str) -> list[int]:
    """Ids whose row, inserted as is, passes the INSERT policies."""
    schema = sql.Identifier(PROBE_SCHEMA)
    found = app.execute(
        sql.SQL("SELECT function FROM {}.inserters WHERE tablename = %s").format(schema), [table]
    ).fetchone()
    assert found is not None, f"no INSERT probe for {table}"
    call = sql.SQL("SELECT {}(ARRAY(SELECT id FROM {} ORDER BY id))").format(
        sql.Identifier(PROBE_SCHEMA, found[0]), sql.Identifier(PROBE_SCHEMA, table)
    )
    row = app.execute(call).fetchone()
    assert row is not None
    return sorted(row[0])


def insert_columns(superuser: psycopg.Connection[Any], table: str) -> list[str]:
    """Columns an INSERT may name (not generated, not dropped)."""
    rows = superuser.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        [f"public.{table}"],
    )
    return [row[0] for row in rows]
