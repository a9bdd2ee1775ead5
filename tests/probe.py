"""Ask PostgreSQL which rows its deployed policies admit, per command, without changing data.

- SELECT: read the ids.
- UPDATE / DELETE: a BEFORE ROW trigger records `OLD.id` and returns NULL, so the
  row is skipped (no change, no new-row check) after the command's USING
  policies admitted it. The statement reads no column (`SET id = NULL`, no WHERE),
  so PostgreSQL applies only that command's policies, not SELECT's.
- INSERT: copies of the rows are inserted again with `ON CONFLICT DO NOTHING`;
  PostgreSQL checks the INSERT policies (WITH CHECK) before looking for the
  conflict, so a denied row raises and an admitted one is silently skipped.
  Denied batches are bisected down to the rows.

The triggers, the copies and the probe table are made by the superuser; the
probing itself runs on a connection of the app role.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import errors, sql

PROBE_SCHEMA = "pgpolicy_probe"


def install(superuser: psycopg.Connection[Any], tables: Iterable[str], app_role: str) -> None:
    """Triggers that record and skip UPDATE/DELETE, and row copies for INSERT probes."""
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
    for table in tables:
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


def insertable(
    app: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    expected: Sequence[int] | None = None,
) -> list[int]:
    """Ids whose row, inserted as is, passes the INSERT policies.

    With `expected`, the expected rows are tried as one batch and every other
    row alone (cheap when the policies are right); whatever disagrees is
    bisected, so the result is exact either way.
    """
    copy = sql.Identifier(PROBE_SCHEMA, table)
    ids = [row[0] for row in app.execute(sql.SQL("SELECT id FROM {} ORDER BY id").format(copy))]
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    statement = sql.SQL(
        "INSERT INTO {target} ({cols}) SELECT {cols} FROM {copy} WHERE id = ANY(%s) "
        "ON CONFLICT DO NOTHING"
    ).format(target=sql.Identifier("public", table), cols=cols, copy=copy)

    def passes(batch: list[int]) -> bool:
        try:
            with app.transaction():
                app.execute(statement, [batch])
        except errors.InsufficientPrivilege:
            return False
        return True

    def admitted(batch: list[int]) -> list[int]:
        if not batch or passes(batch):
            return batch
        if len(batch) == 1:
            return []
        middle = len(batch) // 2
        return admitted(batch[:middle]) + admitted(batch[middle:])

    if expected is None:
        return admitted(ids)
    allowed = set(expected)
    result = admitted([i for i in ids if i in allowed])
    result += [i for i in ids if i not in allowed and passes([i])]
    return sorted(result)


def insert_columns(superuser: psycopg.Connection[Any], table: str) -> list[str]:
    """Columns an INSERT may name (not generated, not dropped)."""
    rows = superuser.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        [f"public.{table}"],
    )
    return [row[0] for row in rows]
