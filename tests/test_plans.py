"""Compiled policies fold the context into the plan, and a plan never outlives its context.

The policies of the real Odoo 18 database are applied; `sale.order` for user 15 (salesman_a,
company 1) is rule 254 `company_id in company_ids` and rule 259 `user_id = user.id or False`,
`res.partner` rule 2 `company_id parent_of company_ids`. Expected rows come from the Odoo
oracle (`shared/odoo18/oracle.json`), never from the code under test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from pgpolicy.cli import cli
from pgpolicy.compiler.predicate import SudoFunction, function_source
from tests.conftest import Database, use_planner

# An InitPlan's result as EXPLAIN names it: $n up to PostgreSQL 15, (InitPlan n).col1 since 16.
INITPLAN_PARAM = r"(?:\$\d+|\(InitPlan \d+\)\.col1)"
USERS = {15: ("salesman_a", [1]), 16: ("salesmgr_ab", [1, 2]), 17: ("accountant_b", [2])}


def oracle_ids(shared_dir: Path, uid: int, model: str) -> list[int]:
    oracle = json.loads((shared_dir / "odoo18" / "oracle.json").read_text())
    ids: list[int] = oracle["results"][USERS[uid][0]][model]["read"]["ids"]
    return sorted(ids)


def ids(conn: psycopg.Connection[Any], query: str, params: Any = None) -> list[int]:
    return sorted(row[0] for row in conn.execute(query, params))


def plan_of(conn: psycopg.Connection[Any], query: str) -> str:
    return "\n".join(row[0] for row in conn.execute("EXPLAIN (VERBOSE, COSTS OFF) " + query))


def set_context(conn: psycopg.Connection[Any], uid: int) -> None:
    conn.execute("SELECT pgpolicy.set_context(%s, %s, false)", [uid, USERS[uid][1]])


# Since runtime 6 only set_context() establishes a context, and it forgets cached plans. To
# keep a plan across contexts as a bug or a future change might, the tests that need it
# make forget_context_plans() skip its work while a test setting says so (`keep_plans`).
KEEP_PLANS = """
CREATE OR REPLACE FUNCTION pgpolicy.forget_context_plans() RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF current_setting('pgpolicy_test.keep_plans', true) = 'on' THEN
        RETURN;
    END IF;
    DISCARD PLANS;
END
$$
"""


@pytest.fixture
def keep_plans(applied: Database) -> None:
    """forget_context_plans() does nothing while pgpolicy_test.keep_plans is on."""
    with psycopg.connect(applied.dsn, autocommit=True) as su:
        su.execute(KEEP_PLANS)


def set_by_hand(conn: psycopg.Connection[Any], uid: int) -> None:
    """Another user's context, cached plans kept (needs `keep_plans`)."""
    conn.execute("SELECT set_config('pgpolicy_test.keep_plans', 'on', true)")
    set_context(conn, uid)
    conn.execute("SELECT set_config('pgpolicy_test.keep_plans', 'off', true)")


@pytest.fixture(params=["sql", "c"], ids=lambda planner: f"planner-{planner}")
def applied(enforced_db: Database, request: pytest.FixtureRequest) -> Database:
    """The Odoo clone with the runtime and its own rules applied; with each implementation
    of the plan-time functions (`pgpolicy planner`)."""
    use_planner(request, enforced_db, request.param)
    return enforced_db


@pytest.fixture
def app(
    applied: Any, app_dsn: Callable[[Any], str], assert_rls_effective: Callable[..., None]
) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(app_dsn(applied)) as conn:
        assert_rls_effective(conn, ["sale_order", "res_partner"])
        conn.rollback()
        yield conn


# --- the compiled predicate holds constants -----------------------------------------------


def test_the_users_predicate_is_planned_with_constants(app: psycopg.Connection[Any]) -> None:
    set_context(app, 15)
    plan = plan_of(app, "SELECT id FROM sale_order")
    scan, *initplans = re.split(r"^\s*InitPlan", plan, flags=re.MULTILINE)
    assert "pgpolicy." not in scan and "current_setting" not in scan, plan
    # rule 254 with company_ids = {1}, rule 259 with user.id = 15: the ORM's own WHERE
    assert "(sale_order.company_id = ANY ('{1}'::integer[]))" in scan, plan
    assert "((sale_order.user_id = 15) OR (sale_order.user_id IS NULL))" in scan, plan
    # one InitPlan: the context gate, compared with the key folded at plan time
    assert len(initplans) == 1, plan
    assert re.search(rf"\({INITPLAN_PARAM} IS NOT NULL\)", scan), plan
    # the key: the sealed context, each part length-prefixed (pid, start, uid, companies, su,
    # profiles, shadow, lock)
    assert re.search(r"'\d+:\d+;\d+:\d+;2:15;1:1;5:false;0:;5:false;0:;'::text", initplans[0]), plan


def test_context_derived_id_sets_are_folded_too(app: psycopg.Connection[Any]) -> None:
    """`company_id parent_of company_ids` (res.partner rule 2): expanded while planning."""
    set_context(app, 16)
    plan = plan_of(app, "SELECT id FROM res_partner")
    assert "pgpolicy_sudo" not in plan and "planned_" not in plan, plan
    assert re.search(r"company_id = ANY \('\{1,2\}'::integer\[\]\)", plan), plan


def test_an_index_serves_the_folded_predicate_as_it_serves_the_orms_where(
    app: psycopg.Connection[Any],
) -> None:
    set_context(app, 15)
    app.execute("SET LOCAL enable_seqscan = off")
    plan = plan_of(app, "SELECT id FROM sale_order")
    assert re.search(r"Index Cond: \(sale_order\.user_id = 15\)", plan), plan


# --- a plan never runs under another context ----------------------------------------------


@pytest.mark.parametrize("mode", ["force_generic_plan", "force_custom_plan"])
@pytest.mark.usefixtures("keep_plans")
def test_a_prepared_statement_returns_nothing_under_another_context(
    app: psycopg.Connection[Any], shared_dir: Path, mode: str
) -> None:
    app.execute(f"SET plan_cache_mode = {mode}")
    set_context(app, 15)
    app.execute("PREPARE orders(integer) AS SELECT id FROM sale_order WHERE id > $1")
    for _ in range(6):  # past the point where PostgreSQL may switch to a generic plan
        assert ids(app, "EXECUTE orders(0)") == oracle_ids(shared_dir, 15, "sale.order")
    set_by_hand(app, 17)  # behind set_context's back: no DISCARD PLANS
    # A generic plan is the one made for 15: it returns nothing. A custom plan is made
    # for each EXECUTE, so for 17, the context now set: 17's rows. Never 15's.
    expected = [] if mode == "force_generic_plan" else oracle_ids(shared_dir, 17, "sale.order")
    assert ids(app, "EXECUTE orders(0)") == expected
    app.commit()
    assert ids(app, "EXECUTE orders(0)") == []  # no context at all
    set_context(app, 17)  # discards plans: planned again, for 17
    assert ids(app, "EXECUTE orders(0)") == oracle_ids(shared_dir, 17, "sale.order")
    app.rollback()


@pytest.mark.usefixtures("keep_plans")
def test_a_kept_plan_of_a_generated_function_folds_no_context(
    app: psycopg.Connection[Any], shared_dir: Path
) -> None:
    """res.partner's rule 2 (`company_id parent_of company_ids`) folds the ids of a
    generated `planned_ids_*` function, PL/pgSQL since it reads only the context: the plan
    it keeps reads the companies when it runs, so a statement planned for another context
    set by hand gets that context's rows, never those of the context the kept plan was made
    under."""
    plan = plan_of(app, "SELECT id FROM res_partner")  # no context: planned for no one
    assert "planned_ids_" not in plan
    for first, second in ((15, 17), (17, 15)):
        set_context(app, first)
        assert ids(app, "SELECT id FROM res_partner") == oracle_ids(
            shared_dir, first, "res.partner"
        )
        set_by_hand(app, second)  # no set_context: no plan forgotten
        assert ids(app, "SELECT id FROM res_partner") == oracle_ids(
            shared_dir, second, "res.partner"
        )
        app.rollback()
    assert oracle_ids(shared_dir, 15, "res.partner") != oracle_ids(shared_dir, 17, "res.partner")


def test_a_generated_function_keeps_no_plan_with_a_value_folded_into_it() -> None:
    """The runtime's plan-time functions become their readers (nothing folded); a query that
    still calls a plan-time function runs with EXECUTE, planned at every call; validation
    reads back the query of either PL/pgSQL form, quotes and backslashes included."""
    reads = "SELECT v FROM unnest(pgpolicy.planned_company_ids() || pgpolicy.planned_uid()) v"
    assert function_source(reads, "integer[]", planned=True) == (
        "BEGIN RETURN (SELECT v FROM unnest(pgpolicy.company_ids() || pgpolicy.uid()) v); END"
    )
    assert function_source(reads, "integer[]", planned=False) == (
        "SELECT v FROM unnest(pgpolicy.company_ids() || pgpolicy.uid()) v"
    )
    for folds in (
        "SELECT v FROM unnest(pgpolicy_sudo.planned_ids_0123456789abcdef()) v WHERE 'a''b' <> 'c'",
        "SELECT 1 WHERE pgpolicy.planned_in_groups('{1}') AND 'x\\y' <> ''",
    ):
        for planned in (True, False):
            body = function_source(folds, "integer[]", planned)
            assert body.startswith("DECLARE result integer[]; BEGIN EXECUTE ")
            function = SudoFunction("planned_ids_x", "integer[]", body)
            assert function.language == "plpgsql"
            assert function.query == folds
    plain = SudoFunction("ids_x", "integer[]", function_source(reads, "integer[]", False))
    assert (plain.language, plain.query) == ("sql", plain.body)


@pytest.mark.usefixtures("keep_plans")
def test_a_plpgsql_plan_returns_nothing_under_another_context(
    applied: Any, app: psycopg.Connection[Any], app_role: str, shared_dir: Path
) -> None:
    with psycopg.connect(applied.dsn, autocommit=True) as su:
        su.execute(
            "CREATE FUNCTION public.visible_orders() RETURNS SETOF integer LANGUAGE plpgsql "
            "STABLE AS $$ BEGIN RETURN QUERY SELECT id FROM sale_order; END $$"
        )
    set_context(app, 16)
    assert ids(app, "SELECT * FROM public.visible_orders()") == oracle_ids(
        shared_dir, 16, "sale.order"
    )
    set_by_hand(app, 15)  # the function's cached plan was made for 16
    assert ids(app, "SELECT * FROM public.visible_orders()") == []
    set_context(app, 15)
    assert ids(app, "SELECT * FROM public.visible_orders()") == oracle_ids(
        shared_dir, 15, "sale.order"
    )
    app.rollback()


@pytest.mark.usefixtures("keep_plans")
def test_a_cached_plan_runs_in_parallel_workers_under_its_own_context_only(
    app: psycopg.Connection[Any], shared_dir: Path
) -> None:
    # Force a parallel plan even on a small table.
    for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
        app.execute(f"SET {setting} = 0")
    app.execute("SET max_parallel_workers_per_gather = 2")
    app.execute("SET plan_cache_mode = force_generic_plan")
    set_context(app, 15)
    app.execute("PREPARE counted AS SELECT id FROM sale_order")
    plan = "\n".join(r[0] for r in app.execute("EXPLAIN (COSTS OFF) EXECUTE counted"))
    assert "Gather" in plan, plan
    assert ids(app, "EXECUTE counted") == oracle_ids(shared_dir, 15, "sale.order")
    set_by_hand(app, 16)
    assert ids(app, "EXECUTE counted") == []
    app.rollback()


def test_a_malformed_context_denies_a_plan_made_for_no_one(app: psycopg.Connection[Any]) -> None:
    app.execute("SELECT set_config('pgpolicy.uid', '15', true)")  # companies and su missing
    assert ids(app, "SELECT id FROM sale_order") == []
    assert ids(app, "SELECT id FROM res_partner") == []
    app.rollback()
    assert ids(app, "SELECT id FROM res_partner") == []  # no context at all


# --- substring search: the LIKE opt-in ----------------------------------------------------


def test_like_leakproof_lets_a_name_search_under_rls_use_its_index(
    applied: Any, app: psycopg.Connection[Any], shared_dir: Path
) -> None:
    visible = oracle_ids(shared_dir, 15, "sale.order")
    with psycopg.connect(applied.dsn) as su:
        # Enough orders for an index to be worth it (names get a suffix, as in bench/)
        columns = [
            sql.Identifier(name)
            for (name,) in su.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'sale_order'::regclass "
                "AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('id', 'name') "
                "ORDER BY attnum"
            )
        ]
        su.execute(
            sql.SQL(
                "INSERT INTO sale_order (name, {columns}) SELECT name || '-' || k, {columns} "
                "FROM sale_order, generate_series(1, 300) AS k"
            ).format(columns=sql.SQL(", ").join(columns))
        )
        su.execute("ANALYZE sale_order")
        row = su.execute("SELECT name FROM sale_order WHERE id = %s", [visible[-1]]).fetchone()
    assert row is not None
    # One visible order, searched by its reference as typed in the search bar.
    pattern = f"%{row[0].lower()}-123%"
    query = f"SELECT id FROM sale_order WHERE name ILIKE '{pattern}'"
    with psycopg.connect(applied.dsn) as su:
        candidates = ids(su, query)
        expected = ids(
            su,
            "SELECT id FROM sale_order WHERE id = ANY(%s) AND user_id = 15",
            [candidates],
        )
    assert len(candidates) == 1 and expected == candidates

    def search() -> tuple[str, list[int]]:
        """(plan, rows): the plan in superuser mode, where the policy left to pass first is
        the context gate alone, so the trigram index is the only one the search could use;
        the rows as user 15."""
        app.execute("SELECT pgpolicy.set_context(15, '{1}', true)")
        app.execute("SET LOCAL enable_seqscan = off")
        plan = plan_of(app, query)
        app.rollback()
        set_context(app, 15)
        found = ids(app, query)
        app.rollback()
        return plan, found

    runner = CliRunner()
    plan, found = search()
    assert found == expected
    assert not re.search(r"Index Cond: .*~~\*", plan), plan  # filtered after the policies
    result = runner.invoke(cli, ["like-leakproof", "on", "--dsn", applied.dsn])
    assert result.exit_code == 0, result.output
    assert re.search(r"(\d+) of \1 LIKE-family functions are LEAKPROOF", result.output)
    plan, found = search()
    assert found == expected
    assert re.search(rf"Index Cond: .*~~\* '{pattern}'", plan), plan
    result = runner.invoke(cli, ["like-leakproof", "off", "--dsn", applied.dsn])
    assert result.exit_code == 0, result.output
    assert re.search(r"\b0 of \d+ LIKE-family functions are LEAKPROOF", result.output)
    plan, found = search()
    assert found == expected and not re.search(r"Index Cond: .*~~\*", plan), plan


def test_like_leakproof_needs_a_superuser_and_changes_nothing_otherwise(
    applied: Any, app_dsn: Callable[[Any], str]
) -> None:
    result = CliRunner().invoke(cli, ["like-leakproof", "on", "--dsn", app_dsn(applied)])
    assert result.exit_code != 0
    assert "only a superuser may change LEAKPROOF" in str(result.exception)
    result = CliRunner().invoke(cli, ["--format", "json", "like-leakproof", "--dsn", applied.dsn])
    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert state and not any(state.values()) and "texticlike(text,text)" in state
