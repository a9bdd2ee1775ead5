"""Turn policy specs into DDL statements: the one place that composes DDL.

Identifiers go through `psycopg.sql.Identifier`; policy expressions are the
compiler's output, whose identifiers and literals are quoted by the compiler.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from psycopg import sql

from pgpolicy.compiler.predicate import SUDO_SCHEMA, VIEW_PREFIX, SudoFunction
from pgpolicy.compiler.search import ARGUMENTS, SEARCH_SCHEMA, SearchFunction
from pgpolicy.compiler.spec import PolicySpec
from pgpolicy.deploy.catalog import FINGERPRINT


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


def stamp_policies(policies: Sequence[PolicySpec]) -> sql.Composed:
    """Write each policy's provenance comment, adding the hash of PostgreSQL's rendering.

    One DO block, computed by the server itself, so it works the same in an
    online apply and in an offline migration script. The provenance holds text taken
    from rules (compile errors quote the domain): it reaches SQL only as a quoted
    literal, and so does the block's body (no dollar quotes a rule could close).
    """
    items = [
        {"table": p.table, "name": p.name, "provenance": p.provenance_dict()} for p in policies
    ]
    body = sql.SQL(
        "DECLARE item jsonb; BEGIN "
        "FOR item IN SELECT * FROM jsonb_array_elements({items}::jsonb) LOOP "
        "EXECUTE format('COMMENT ON POLICY %I ON public.%I IS %L', item->>'name', "
        "item->>'table', jsonb_set(item->'provenance', '{{rendered}}', to_jsonb(("
        "SELECT {fingerprint} FROM pg_policy p WHERE p.polname = item->>'name' "
        "AND p.polrelid = format('public.%I', item->>'table')::regclass)))::text); "
        "END LOOP; END"
    ).format(items=sql.Literal(json.dumps(items, sort_keys=True)), fingerprint=sql.SQL(FINGERPRINT))
    return sql.SQL("DO {}").format(sql.Literal(body.as_string(None)))


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


def view_invoker(view: str, invoker: bool) -> sql.Composed:
    """Make a view run with the querying role's rights and row level security (PostgreSQL
    15+), or with its owner's again (PostgreSQL's default)."""
    if invoker:
        return sql.SQL("ALTER VIEW {} SET (security_invoker = true)").format(table_id(view))
    return sql.SQL("ALTER VIEW {} RESET (security_invoker)").format(table_id(view))


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
    """A SECURITY DEFINER function reading as its owner (who bypasses RLS), once per statement.

    A `planned` one depends on the context alone and is IMMUTABLE on purpose, like the
    runtime's plan-time functions: folded when the statement is planned, under the
    context gate (sql/runtime.sql)."""
    if function.view:
        return create_view(function, roles)
    name = sql.Identifier(SUDO_SCHEMA, function.name)
    volatility = sql.SQL("IMMUTABLE" if function.planned else "STABLE")
    return [
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {name}() RETURNS {returns} LANGUAGE {language} "
            "{volatility} PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp "
            "AS {body}"
        ).format(
            name=name,
            returns=sql.SQL(function.returns),
            language=sql.SQL(function.language),
            volatility=volatility,
            body=sql.Literal(function.body),
        ),
        sql.SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(name),
        sql.SQL("GRANT EXECUTE ON FUNCTION {}() TO {}").format(
            name, sql.SQL(", ").join(map(sql.Identifier, roles))
        ),
    ]


def create_view(view: SudoFunction, roles: Sequence[str]) -> list[sql.Composed]:
    """A generated view of ids (`v`) read with its owner's rights, past row level security,
    like a SECURITY DEFINER function's definer: never `security_invoker`.

    Its query is planned with the statement that reads it (a policy's InitPlan). Its
    comment keeps the compiled source and a fingerprint of PostgreSQL's rendering of the
    query (under a pinned search_path): `plan` compares the source, and takes a view whose
    rendering no longer matches (edited by hand, comment kept) for drift
    (`catalog.view_source`)."""
    name = sql.Identifier(SUDO_SCHEMA, view.name)
    regclass = sql.Literal(f"{SUDO_SCHEMA}.{view.name}")
    # reads the source back from the comment: the DO block's text holds no rule text
    stamp = sql.SQL(
        "DO $pgpolicy$ DECLARE path text := current_setting('search_path'); BEGIN "
        "PERFORM set_config('search_path', 'pg_catalog, pg_temp', true); "
        "EXECUTE format('COMMENT ON VIEW %s IS %L', {regclass}, json_build_object("
        "'source', obj_description({regclass}::regclass, 'pg_class'), "
        "'rendered', md5(pg_get_viewdef({regclass}::regclass)))); "
        "PERFORM set_config('search_path', path, true); END $pgpolicy$"
    ).format(regclass=regclass)
    return [
        sql.SQL("CREATE OR REPLACE VIEW {} (v) WITH (security_invoker = false) AS {}").format(
            name, sql.SQL(view.body)
        ),
        sql.SQL("COMMENT ON VIEW {} IS {}").format(name, sql.Literal(view.body)),
        stamp,
        sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(name),
        sql.SQL("GRANT SELECT ON {} TO {}").format(
            name, sql.SQL(", ").join(map(sql.Identifier, roles))
        ),
    ]


def drop_sudo_schema() -> sql.Composed:
    return sql.SQL("DROP SCHEMA IF EXISTS {}").format(sql.Identifier(SUDO_SCHEMA))


def drop_function(name: str) -> sql.Composed:
    if name.startswith(VIEW_PREFIX):
        return sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(SUDO_SCHEMA, name))
    return sql.SQL("DROP FUNCTION IF EXISTS {}()").format(sql.Identifier(SUDO_SCHEMA, name))


def search_schema(roles: Sequence[str]) -> list[sql.Composed]:
    """The schema of the name-search functions: usable by the app roles only."""
    schema = sql.Identifier(SEARCH_SCHEMA)
    return [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema),
        sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(schema),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
            schema, sql.SQL(", ").join(map(sql.Identifier, roles))
        ),
    ]


def search_function_id(name: str) -> sql.Composed:
    """`pgpolicy_search.<name>(text, text[], integer)`, as DDL names it."""
    return sql.SQL("{}({})").format(sql.Identifier(SEARCH_SCHEMA, name), sql.SQL(ARGUMENTS))


def create_search_function(function: SearchFunction, roles: Sequence[str]) -> list[sql.Composed]:
    """A name-search function (`compiler.search`): SECURITY DEFINER, so it reads as its
    owner (the deploying role, who reads past row-level security) and applies the read
    predicate itself; `search_path` pinned; EXECUTE for the app roles only (an analyst
    login may not read every column it could search)."""
    return search_function_from(function.name, function.body, function.comment, roles)


def search_function_from(
    name: str, body: str, comment: str, roles: Sequence[str]
) -> list[sql.Composed]:
    """`create_search_function` from its parts (a migration restores a deployed body)."""
    function = search_function_id(name)
    return [
        sql.SQL(
            "CREATE OR REPLACE FUNCTION {name}(pattern text, fields text[] DEFAULT NULL, "
            "max_rows integer DEFAULT NULL) RETURNS SETOF integer LANGUAGE plpgsql "
            "SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS {body}"
        ).format(name=sql.Identifier(SEARCH_SCHEMA, name), body=sql.Literal(body)),
        sql.SQL("COMMENT ON FUNCTION {} IS {}").format(function, sql.Literal(comment)),
        sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(function),
        sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
            function, sql.SQL(", ").join(map(sql.Identifier, roles))
        ),
    ]


def drop_search_function(name: str) -> sql.Composed:
    return sql.SQL("DROP FUNCTION IF EXISTS {}").format(search_function_id(name))


def drop_search_schema() -> sql.Composed:
    return sql.SQL("DROP SCHEMA IF EXISTS {}").format(sql.Identifier(SEARCH_SCHEMA))
