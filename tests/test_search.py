"""Name-search functions (`pgpolicy_search.<table>`, pgpolicy/compiler/search.py).

Each function must return exactly the ids a `SELECT id ... WHERE <fields> ILIKE pattern` returns
under the deployed policies in the same context, i.e. the ids Odoo's ORM lets the user read
(shared/odoo18/oracle.json) among those whose name matches; use the search index where the
hand-written WHERE does; and give hostile callers nothing more than the policies give them.
Everything is asked as the app role, row-level security asserted effective.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgpolicy.compiler.search import SEARCH_SCHEMA, SearchFunction, read_predicate
from pgpolicy.compiler.spec import PolicySpec, Provenance
from pgpolicy.deploy.apply import apply_policy_set, plan_for
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.odoo.metadata import read_catalog
from tests.conftest import Database, EnforcedTemplate, use_planner
from tests.test_oracle import allowed_ids

# LIKE patterns as Odoo's `ilike` sends them (`%value%`) and the edge cases of the syntax: the
# wildcards alone, an escaped wildcard, a literal backslash, the empty pattern.
PATTERNS = ("%", "_", "%a%", "%e_%", "%\\%%", "%\\\\%", "", "%mitchell%", "%S00%", "%@%")


def function_ids(
    conn: psycopg.Connection[Any], table: str, pattern: str | None, **kwargs: Any
) -> list[int]:
    """The ids the search function of `table` returns, sorted."""
    args = [sql.Literal(pattern)] + [
        sql.SQL("{} => {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in kwargs.items()
    ]
    query = sql.SQL("SELECT id FROM {}({}) AS f(id) ORDER BY 1").format(
        sql.Identifier(SEARCH_SCHEMA, table), sql.SQL(", ").join(args)
    )
    return [row[0] for row in conn.execute(query)]


def matching(function: SearchFunction, pattern: str, fields: tuple[str, ...] = ()) -> sql.Composed:
    """`SELECT id FROM <table> WHERE <fields> ILIKE pattern`: the search without the function."""
    table = sql.Identifier("public", function.table)
    terms = sql.SQL(" OR ").join(
        sql.SQL("{} ILIKE {}").format(sql.Identifier(f), sql.Literal(pattern))
        for f in (fields or function.fields)
    )
    return sql.SQL("SELECT id FROM {} WHERE {} ORDER BY 1").format(table, terms)


def ids(conn: psycopg.Connection[Any], query: sql.Composed) -> list[int]:
    return [row[0] for row in conn.execute(query)]


@pytest.fixture
def searches(enforced_template: EnforcedTemplate) -> dict[str, SearchFunction]:
    return {f.table: f for f in enforced_template.policy_set.searches}


@pytest.fixture
def app(
    enforced_db: Database, app_dsn: Callable[[Database], str], assert_rls_effective: Any
) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_dsn(enforced_db)) as conn:
        assert_rls_effective(conn, ["sale_order", "res_partner", "crm_lead"])
        yield conn


def test_the_read_predicate_combines_policies_as_postgresql_does() -> None:
    """Restrictive SELECT/ALL policies AND-ed with the OR of the permissive ones; the other
    commands' policies left out; no permissive policy: nothing."""

    def policy(name: str, command: str, permissive: bool, using: str | None) -> PolicySpec:
        return PolicySpec("t", name, command, permissive, ("app",), using, None,
                          Provenance("rule"))  # fmt: skip

    policies = [
        policy("gate", "ALL", False, "g"),
        policy("acl", "SELECT", False, "a"),
        policy("mine", "SELECT", True, "x = 1"),
        policy("theirs", "SELECT", True, "y = 2"),
        policy("write", "UPDATE", False, "w"),
        policy("create", "INSERT", True, None),
    ]
    assert read_predicate(policies) == "(g) AND (a) AND ((x = 1) OR (y = 2))"
    assert read_predicate(policies[:2]) == "(g) AND (a) AND false"
    assert read_predicate([]) == "false"


def test_the_searchable_tables(searches: dict[str, SearchFunction]) -> None:
    """Odoo's name-search fields that are plain text columns, one function per table."""
    assert searches["res_partner"].fields == ("complete_name", "email", "ref", "vat",
                                              "company_registry")  # fmt: skip
    assert searches["sale_order"].fields == ("name",)
    assert searches["crm_lead"].fields == ("name",)
    # its name is translated (jsonb): the column compared depends on the language
    assert searches["account_analytic_account"].fields == ("code",)
    assert "account_move" in searches  # `partner_id.name` is not a column: name and ref
    assert searches["account_move"].fields == ("name", "ref")
    assert "res_users" not in searches  # its name is res_partner's (_inherits)


@pytest.mark.parametrize("planner", ["sql", "c"])
def test_functions_return_what_the_policies_admit(
    enforced_db: Database,
    app: psycopg.Connection[Any],
    searches: dict[str, SearchFunction],
    oracle: dict[str, Any],
    planner: str,
    request: pytest.FixtureRequest,
) -> None:
    """For every user of the oracle, every searchable model and every pattern: the function's
    ids = the RLS-filtered SELECT ... ILIKE = the oracle's readable ids among the matches."""
    use_planner(request, enforced_db, planner)
    tables = {info["table"]: model for model, info in oracle["models"].items()}
    checked = [t for t in sorted(searches) if t in tables]
    assert len(checked) >= 50, checked  # 53 on the shared database (the others: translated)
    matches: dict[tuple[str, str], set[int]] = {}
    with psycopg.connect(enforced_db.dsn) as superuser:
        for table in checked:
            for pattern in PATTERNS:
                matches[table, pattern] = set(ids(superuser, matching(searches[table], pattern)))
    assert any(matches["sale_order", p] for p in PATTERNS)
    mismatches: list[str] = []
    combos = filtered = 0
    for login, user in oracle["users"].items():
        for table in checked:
            readable = set(allowed_ids(oracle, login, tables[table]))
            for pattern in PATTERNS:
                app.execute(
                    "SELECT pgpolicy.set_context(%s, %s, false)",
                    [user["id"], user["allowed_company_ids"]],
                )
                got = function_ids(app, table, pattern)
                through_rls = ids(app, matching(searches[table], pattern))
                app.rollback()
                expected = sorted(readable & matches[table, pattern])
                combos += 1
                filtered += bool(expected) and len(expected) < len(matches[table, pattern])
                if not got == through_rls == expected:
                    mismatches.append(
                        f"{login} {table} {pattern!r}: function {got[:5]} rls {through_rls[:5]} "
                        f"oracle {expected[:5]}"
                    )
    assert combos == len(oracle["users"]) * len(checked) * len(PATTERNS)
    assert filtered > 100  # searches whose matches the user may read only in part
    assert not mismatches, f"{len(mismatches)} of {combos} differ:\n" + "\n".join(mismatches)


def test_superuser_mode_and_field_subsets_are_the_policies(
    app: psycopg.Connection[Any], searches: dict[str, SearchFunction], oracle: dict[str, Any]
) -> None:
    """Superuser mode lifts what the policies lift; a subset of the fields searches those
    only; the row limit takes that many of them."""
    for login in ("salesman_a", "portal_user"):
        user = oracle["users"].get(login) or next(iter(oracle["users"].values()))
        for su in (True, False):
            for table in ("res_partner", "sale_order", "account_move", "crm_lead"):
                function = searches[table]
                for fields in ((), function.fields[:1], function.fields[-1:]):
                    app.execute(
                        "SELECT pgpolicy.set_context(%s, %s, %s)",
                        [user["id"], user["allowed_company_ids"], su],
                    )
                    for pattern in ("%a%", "%"):
                        chosen = {"fields": list(fields)} if fields else {}
                        got = function_ids(app, table, pattern, **chosen)
                        assert got == ids(app, matching(function, pattern, fields)), (
                            login,
                            su,
                            table,
                            fields,
                        )
                        limited = function_ids(app, table, pattern, max_rows=3, **chosen)
                        assert len(limited) == min(3, len(got)) and set(limited) <= set(got)
                    app.rollback()


def test_hostile_calls_get_nothing_more(
    enforced_db: Database,
    app: psycopg.Connection[Any],
    searches: dict[str, SearchFunction],
    oracle: dict[str, Any],
) -> None:
    salesman = oracle["users"]["salesman_a"]
    readable = set(allowed_ids(oracle, "salesman_a", "sale.order"))
    with psycopg.connect(enforced_db.dsn) as superuser:
        everything = ids(superuser, sql.SQL("SELECT id FROM public.sale_order"))
    assert readable and len(readable) < len(everything)

    # no context: nothing, for every function
    for table in sorted(searches):
        assert function_ids(app, table, "%") == [], table
    app.rollback()
    # a context written with set_config instead of set_context: nothing
    app.execute("SELECT set_config('pgpolicy.uid', '2', true)")
    assert function_ids(app, "sale_order", "%") == []
    app.rollback()

    app.execute("SELECT pgpolicy.set_context(%s, %s, false)", [15, salesman["allowed_company_ids"]])
    # the context changed inside the calling statement: no more than user 15's rows
    forged = [
        row[0]
        for row in app.execute(
            "SELECT f.id FROM (SELECT set_config('pgpolicy.uid', '2', true)) AS s, "
            "pgpolicy_search.sale_order('%') AS f(id)"
        )
    ]
    assert set(forged) <= readable
    app.rollback()
    # crafted patterns are patterns: the policies' answer, never more than the user's rows
    for pattern in ("%' OR true --", "%') OR (1=1", "$1", "%%' UNION SELECT id FROM sale_order --",
                    "%\\", "\\"):  # fmt: skip
        answers = []
        for query in (
            sql.SQL("SELECT id FROM pgpolicy_search.sale_order({}) AS f(id) ORDER BY 1").format(
                sql.Literal(pattern)
            ),
            matching(searches["sale_order"], pattern),
        ):
            app.execute("SELECT pgpolicy.set_context(15, %s, false)", [[1]])
            try:
                answers.append(ids(app, query))
            except psycopg.errors.InvalidEscapeSequence:
                answers.append(None)
            app.rollback()
        assert answers[0] == answers[1], pattern
        assert answers[0] is None or set(answers[0]) <= readable
    app.execute("SELECT pgpolicy.set_context(15, %s, false)", [[1]])
    # field names are checked against the function's own list: no SQL through them
    for fields in (["name) OR true --"], ["note"], ["name", "id"], ['"name"']):
        with pytest.raises(psycopg.errors.InvalidParameterValue), app.transaction():
            function_ids(app, "sale_order", "%", fields=fields)
    assert function_ids(app, "sale_order", "%", max_rows=-1) == []
    assert function_ids(app, "sale_order", None) == []
    assert function_ids(app, "sale_order", "%", fields=None) == sorted(readable)
    app.rollback()


def test_only_the_app_roles_may_call_them(
    enforced_db: Database, searches: dict[str, SearchFunction]
) -> None:
    """EXECUTE is the app roles' alone: not PUBLIC, not the analysts' group (an analyst login
    may not read every column it would search)."""
    with psycopg.connect(enforced_db.dsn, autocommit=True) as superuser:
        rows = superuser.execute(
            "SELECT p.proname, p.prosecdef, p.proconfig, pg_get_userbyid(p.proowner), "
            "has_function_privilege('public', p.oid, 'EXECUTE') OR "
            "has_function_privilege('pgpolicy_analysts', p.oid, 'EXECUTE'), "
            "obj_description(p.oid, 'pg_proc') "
            "FROM pg_proc p WHERE p.pronamespace = %s::regnamespace",
            [SEARCH_SCHEMA],
        ).fetchall()
        assert {name for name, *_ in rows} == set(searches)
        for name, definer, config, owner, others, comment in rows:
            assert definer and config == ["search_path=pg_catalog, pg_temp"], name
            assert owner == "postgres" and not others, name
            described = json.loads(comment)
            assert described["model"] == searches[name].model
            assert tuple(described["fields"]) == searches[name].fields
        superuser.execute("CREATE ROLE pgpolicy_search_outsider LOGIN")
        superuser.execute("GRANT USAGE ON SCHEMA public TO pgpolicy_search_outsider")
    outsider = enforced_db.server.dsn(enforced_db.name, user="pgpolicy_search_outsider")
    try:
        with psycopg.connect(outsider) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            function_ids(conn, "sale_order", "%")
    finally:
        with psycopg.connect(enforced_db.dsn, autocommit=True) as superuser:
            superuser.execute("DROP OWNED BY pgpolicy_search_outsider")
            superuser.execute("DROP ROLE pgpolicy_search_outsider")


def test_apply_keeps_them_in_sync(enforced_db: Database, app_role: str) -> None:
    """A second apply changes nothing; a body edited by hand is put back; a function no
    longer wanted is dropped."""
    with psycopg.connect(enforced_db.dsn) as conn:
        policy_set = build_policy_set(read_catalog(conn), [app_role])
        assert plan_for(conn, policy_set, [app_role]).empty
        conn.execute(
            "CREATE OR REPLACE FUNCTION pgpolicy_search.sale_order(pattern text, fields text[] "
            "DEFAULT NULL, max_rows integer DEFAULT NULL) RETURNS SETOF integer "
            "LANGUAGE plpgsql SECURITY DEFINER AS 'BEGIN RETURN QUERY SELECT id FROM "
            "public.sale_order; END'"
        )
        conn.commit()
        plan = plan_for(conn, policy_set, [app_role])
        assert [(c.action, c.name) for c in plan.changes] == [("create_search", "sale_order")]
    apply_policy_set(enforced_db.dsn, policy_set, [app_role])
    with psycopg.connect(enforced_db.dsn) as conn:
        assert plan_for(conn, policy_set, [app_role]).empty
        fewer = policy_set.__class__(**{**policy_set.__dict__, "searches": policy_set.searches[1:]})
        plan = plan_for(conn, fewer, [app_role])
        dropped = policy_set.searches[0].name
        assert [(c.action, c.name) for c in plan.changes] == [("drop_search", dropped)]


def plan_indexes(plan: Any) -> set[str]:
    """The indexes an EXPLAIN (FORMAT JSON) plan scans."""
    found: set[str] = set()
    pending = [plan[0]["Plan"]]
    while pending:
        node = pending.pop()
        if "Index Name" in node:
            found.add(node["Index Name"])
        pending.extend(node.get("Plans", []))
    return found


def test_the_search_uses_the_index(
    enforced_db: Database, app: psycopg.Connection[Any], searches: dict[str, SearchFunction]
) -> None:
    """On a scaled table with a trigram index, the function's query is planned with the index,
    where the same ILIKE through the policies is not (it is not LEAKPROOF)."""
    function = searches["res_partner"]
    with psycopg.connect(enforced_db.dsn, autocommit=True) as superuser:
        columns = [
            name
            for (name,) in superuser.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'public.res_partner'::regclass "
                "AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('id', 'complete_name') "
                "ORDER BY attnum"
            )
        ]
        listed = sql.SQL(", ").join(map(sql.Identifier, columns))
        superuser.execute(
            sql.SQL(
                "INSERT INTO public.res_partner ({columns}, complete_name) "
                "SELECT {columns}, format('Scaled partner %s', g) FROM public.res_partner, "
                "generate_series(1, 400) AS g WHERE res_partner.id = 3"
            ).format(columns=listed)
        )
        superuser.execute(
            sql.SQL("INSERT INTO public.res_partner ({columns}, complete_name) "
                    "SELECT {columns}, complete_name || g FROM public.res_partner, "
                    "generate_series(1, 200) AS g").format(columns=listed)
        )  # fmt: skip
        superuser.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        superuser.execute(
            "CREATE INDEX res_partner_complete_name_trgm ON public.res_partner "
            "USING gin (complete_name gin_trgm_ops)"
        )
        superuser.execute("ANALYZE public.res_partner")
        count = superuser.execute("SELECT count(*) FROM public.res_partner").fetchone()
        assert count is not None and count[0] > 10000

        # the function's own query, planned as the function plans it: as its owner, with the
        # arguments as constants, under the caller's context
        superuser.execute("BEGIN")
        superuser.execute("SELECT pgpolicy.set_context(15, ARRAY[1], false)")
        superuser.execute(
            sql.SQL("PREPARE search(text, text[], integer) AS {}").format(sql.SQL(function.query()))
        )
        plan = superuser.execute(
            "EXPLAIN (FORMAT JSON) EXECUTE search('%Scaled partner 123%', '{complete_name}', NULL)"
        ).fetchone()
        assert plan is not None
        assert "res_partner_complete_name_trgm" in plan_indexes(plan[0]), plan[0]
        superuser.execute("ROLLBACK")

        # and the plan the function itself runs, as auto_explain reports it
        notices: list[str] = []
        superuser.add_notice_handler(lambda notice: notices.append(notice.message_primary or ""))
        superuser.execute("LOAD 'auto_explain'")
        for setting in ("log_min_duration = 0", "log_nested_statements = on", "log_level = notice",
                        "log_format = json"):  # fmt: skip
            superuser.execute(f"SET auto_explain.{setting}")
        superuser.execute("BEGIN")
        superuser.execute("SELECT pgpolicy.set_context(15, ARRAY[1], false)")
        found = superuser.execute(
            "SELECT count(*) FROM pgpolicy_search.res_partner('%Scaled partner 123%', "
            "ARRAY['complete_name'])"
        ).fetchone()
        superuser.execute("ROLLBACK")
        assert found is not None and found[0] > 0
        searched = [n for n in notices if "ILIKE" in n and "Scaled partner 123" in n]
        assert searched, notices
        body_plan = json.loads(searched[0][searched[0].index("{") :])
        assert "res_partner_complete_name_trgm" in plan_indexes([body_plan]), body_plan

    pattern = "%Scaled partner 123%"
    app.execute("SELECT pgpolicy.set_context(15, ARRAY[1], false)")
    got = function_ids(app, "res_partner", pattern, fields=["complete_name"])
    through_rls = ids(app, matching(function, pattern, ("complete_name",)))
    assert got == through_rls and got
    rls_plan = app.execute(
        sql.SQL("EXPLAIN (FORMAT JSON) {}").format(matching(function, pattern, ("complete_name",)))
    ).fetchone()
    assert rls_plan is not None
    assert "res_partner_complete_name_trgm" not in plan_indexes(rls_plan[0])
    app.rollback()
