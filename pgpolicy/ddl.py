"""Turn policy specs into DDL statements: the one place that composes DDL.

Identifiers go through `psycopg.sql.Identifier`; policy expressions are the
compiler's output, whose identifiers and literals are quoted by the compiler.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from pgpolicy.compile import SUDO_SCHEMA, SudoFunction
from pgpolicy.policy import PolicySpec


def table_id(table: str) -> sql.Identifier:
    return sql.Identifier("public", table)


def create_policy_only(policy: PolicySpec) -> list[sql.Composed]:
    """CREATE POLICY; its comment is written once PostgreSQL has rendered it."""
    parts: list[sql.Composable] = [
        sql.SQL("CREATE POLICY {name} ON {table} AS {kind} FOR {command} TO {roles}").format(
            name=sql.Identifier(policy.name),
            table=table_id(policy.table),
            kind=sql.SQL("PERMISSIVE" if policy.permissive else "RESTRICTIVE"),
            command=sql.SQL(policy.command),
            roles=sql.SQL(", ").join(map(sql.Identifier, policy.roles)),
        )
    ]
    if policy.using is not None:
        parts.append(sql.SQL("USING ({})").format(sql.SQL(policy.using)))
    if policy.check is not None:
        parts.append(sql.SQL("WITH CHECK ({})").format(sql.SQL(policy.check)))
    return [sql.SQL(" ").join(parts)]


def comment_policy(policy: PolicySpec, rendered_sha256: str) -> sql.Composed:
    """The provenance comment, including the hash of PostgreSQL's rendering (for drift)."""
    return sql.SQL("COMMENT ON POLICY {name} ON {table} IS {comment}").format(
        name=sql.Identifier(policy.name),
        table=table_id(policy.table),
        comment=sql.Literal(policy.comment(rendered_sha256)),
    )


def drop_policy(table: str, name: str) -> sql.Composed:
    return sql.SQL("DROP POLICY IF EXISTS {name} ON {table}").format(
        name=sql.Identifier(name), table=table_id(table)
    )


def enable_rls(table: str, force: bool) -> list[sql.Composed]:
    statements: list[sql.Composed] = [
        sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(table_id(table))
    ]
    if force:
        statements.append(
            sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(table_id(table))
        )
    return statements


def disable_rls(table: str) -> list[sql.Composed]:
    return [
        sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(table_id(table)),
        sql.SQL("ALTER TABLE {} DISABLE ROW LEVEL SECURITY").format(table_id(table)),
    ]


def sudo_schema(roles: Sequence[str]) -> list[sql.Composed]:
    """The schema of generated functions: usable by the app roles only."""
    schema = sql.Identifier(SUDO_SCHEMA)
    return [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema),
        sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(schema),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
            schema, sql.SQL(", ").join(map(sql.Identifier, roles))
        ),
    ]


def create_function(function: SudoFunction, roles: Sequence[str]) -> list[sql.Composed]:
    """A SECURITY DEFINER function reading as its owner (who bypasses RLS), once per statement."""
    name = sql.Identifier(SUDO_SCHEMA, function.name)
    return [
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {name}() RETURNS {returns} LANGUAGE sql STABLE "
            "PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS {body}"
        ).format(name=name, returns=sql.SQL(function.returns), body=sql.Literal(function.body)),
        sql.SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(name),
        sql.SQL("GRANT EXECUTE ON FUNCTION {}() TO {}").format(
            name, sql.SQL(", ").join(map(sql.Identifier, roles))
        ),
    ]


def drop_function(name: str) -> sql.Composed:
    return sql.SQL("DROP FUNCTION IF EXISTS {}()").format(sql.Identifier(SUDO_SCHEMA, name))
