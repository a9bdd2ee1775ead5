"""Measure a proposal: the benchmark of run.py with the policy shapes RESULTS.md proposes.

Not pgpolicy code. On the benchmark database only, after run.py has deployed the
compiled policies, it rewrites the SELECT policies (and the context gate) of the
three benchmarked tables and replaces the plan-time runtime functions, measures
exactly as run.py does, then puts everything back (original function bodies,
re-apply of the compiled policy set, which repairs the edited policies as drift).

The proposal, in three parts:
1. gate: `(SELECT CASE WHEN pgpolicy.context() = pgpolicy.planned_context() THEN true END)
   IS NOT NULL`: one InitPlan that the planner estimates to keep ~all rows (a NullTest),
   where `(SELECT uid()) = planned_uid() AND (SELECT su()) = planned_su()` is estimated
   to keep 0.5 % × 50 % of them and flips plans;
2. predicates read plan-time constants, `user_id = pgpolicy.planned_uid()` and
   `company_id = ANY(pgpolicy.planned_company_ids())`, re-checked by the gate: the
   planner sees `user_id = 15` as in W and uses the column statistics;
3. plan-time functions in PL/pgSQL (compiled once per session) instead of SQL (PostgreSQL
   15 parses and plans a non-inlined SQL function's body at every call, ~60 µs each);
4. `set_context` runs DISCARD PLANS only when the context differs from the previous one of
   the session (the gate, not DISCARD PLANS, is what keeps a stale plan from showing rows;
   discarding every time makes the next statement re-plan the cached PL/pgSQL bodies,
   ~0.5 ms). The benchmark always runs as user 15: the best case of this part.

    /tmp/venv/bin/python bench/prototype.py \\
        --dsn "host=/tmp/bench_pg15 port=5510 user=postgres dbname=pgpolicy_bench"
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import psycopg
import run
from psycopg import sql

from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.odoo.metadata import read_catalog

TABLES = ("sale_order", "crm_lead", "res_partner")
REPLACED = (
    "planned_uid()", "planned_su()", "planned_write()", "planned_in_groups(integer[])",
    "set_context(integer, integer[], boolean)",
)  # fmt: skip
ADDED = ("context()", "planned_context()", "planned_company_ids()")
RUNTIME = r"""
CREATE OR REPLACE FUNCTION pgpolicy.planned_uid() RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN CASE WHEN current_setting('pgpolicy.uid', true) ~ '^[1-9][0-9]{0,8}$'
                THEN current_setting('pgpolicy.uid', true)::integer END;
END $$;
CREATE OR REPLACE FUNCTION pgpolicy.planned_su() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN RETURN coalesce(current_setting('pgpolicy.su', true) = 'on', false); END $$;
CREATE OR REPLACE FUNCTION pgpolicy.planned_write() RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN RETURN coalesce(current_query() ~* '^\s*(update|insert)\s', false); END $$;
CREATE OR REPLACE FUNCTION pgpolicy.planned_in_groups(gids integer[]) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN coalesce((SELECT true FROM public.res_groups_users_rel g
                      WHERE g.uid = pgpolicy.planned_uid() AND g.gid = ANY(gids) LIMIT 1), false);
END $$;
CREATE OR REPLACE FUNCTION pgpolicy.set_context(uid integer, company_ids integer[],
                                                su boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    given text := CASE WHEN coalesce(cardinality(company_ids), 0) = 0 THEN 'default'
                       ELSE array_to_string(company_ids, ',') END;
BEGIN
    IF uid IS NULL OR uid <= 0 OR su IS NULL OR array_position(company_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'pgpolicy.set_context: invalid context'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('pgpolicy.uid', uid::text, true);
    PERFORM set_config('pgpolicy.company_ids', given, true);
    PERFORM set_config('pgpolicy.su', CASE WHEN su THEN 'on' ELSE 'off' END, true);
    IF current_setting('pgpolicy.last_context', true) IS DISTINCT FROM pgpolicy.context() THEN
        DISCARD PLANS;
        PERFORM set_config('pgpolicy.last_context', pgpolicy.context(), false);
    END IF;
END $$;
-- The raw context, compared at run time with the one the plan was made for.
CREATE FUNCTION pgpolicy.context() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT concat_ws('|', current_setting('pgpolicy.uid', true),
                     current_setting('pgpolicy.company_ids', true),
                     current_setting('pgpolicy.su', true)) $$;
CREATE FUNCTION pgpolicy.planned_context() RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN concat_ws('|', current_setting('pgpolicy.uid', true),
                     current_setting('pgpolicy.company_ids', true),
                     current_setting('pgpolicy.su', true));
END $$;
-- company_ids(), validated the same way, once, while planning.
CREATE FUNCTION pgpolicy.planned_company_ids() RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    uid integer := pgpolicy.planned_uid();
    given text := current_setting('pgpolicy.company_ids', true);
    mine integer[];
BEGIN
    IF uid IS NULL THEN RETURN NULL; END IF;
    SELECT coalesce(array_agg(c.id ORDER BY c.sequence, c.name), '{}') INTO mine
      FROM public.res_company c JOIN public.res_company_users_rel r ON r.cid = c.id
     WHERE r.user_id = uid AND c.active;
    IF given = 'default' THEN RETURN mine; END IF;
    IF given ~ '^[1-9][0-9]{0,8}(,[1-9][0-9]{0,8})*$'
       AND string_to_array(given, ',')::integer[] <@ mine THEN
        RETURN string_to_array(given, ',')::integer[];
    END IF;
    RETURN NULL;
END $$;
"""
GATE = (
    "(SELECT CASE WHEN pgpolicy.context() = pgpolicy.planned_context() THEN true END) IS NOT NULL"
)
REWRITES = (
    ("( SELECT pgpolicy.uid() AS uid)", "pgpolicy.planned_uid()"),
    ("(( SELECT pgpolicy.company_ids() AS company_ids)::integer[])",
     "(pgpolicy.planned_company_ids())"),
)  # fmt: skip


def rewrite_policies(su: psycopg.Connection[Any]) -> int:
    """Apply parts 1 and 2 to the SELECT and ALL policies of TABLES; returns how many changed."""
    rows = su.execute(
        "SELECT polrelid::regclass::text, polname, pg_get_expr(polqual, polrelid), "
        "polwithcheck IS NOT NULL FROM pg_policy "
        "WHERE polrelid = ANY(%s::regclass[]) AND polcmd IN ('r', '*')",
        [list(TABLES)],
    ).fetchall()
    changed = 0
    for table, name, using, has_check in rows:
        if name == "pgpolicy_context":
            new = GATE
        else:
            new = using
            for old, replacement in REWRITES:
                new = new.replace(old, replacement)
        if new == using:
            continue
        statement = sql.SQL("ALTER POLICY {} ON {} USING ({})").format(
            sql.Identifier(name), sql.Identifier(table), sql.SQL(new)
        )
        if has_check:
            statement += sql.SQL(" WITH CHECK ({})").format(sql.SQL(new))
        su.execute(statement)
        changed += 1
    return changed


def function_definitions(su: psycopg.Connection[Any]) -> list[str]:
    """CREATE OR REPLACE statements of the runtime functions the prototype replaces."""
    return [
        str(run.scalar(su, sql.SQL("SELECT pg_get_functiondef({}::regprocedure)").format(
            sql.Literal(f"pgpolicy.{signature}"))))
        for signature in REPLACED
    ]  # fmt: skip


def restore(dsn: str, su: psycopg.Connection[Any], definitions: list[str]) -> None:
    """Original runtime functions, the compiled policies (as drift repair), no added functions."""
    for definition in definitions:
        su.execute(definition)  # PostgreSQL's own rendering of the original function
    catalog = read_catalog(su)
    apply_policy_set(dsn, build_policy_set(catalog, [run.APP_ROLE]), [run.APP_ROLE])
    for signature in ADDED:
        su.execute(sql.SQL("DROP FUNCTION IF EXISTS pgpolicy.{}").format(sql.SQL(signature)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_DSN", ""))
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--label", default="pg15")
    args = parser.parse_args()
    app_dsn = psycopg.conninfo.make_conninfo(args.dsn, user=run.APP_ROLE)
    with run.connect(args.dsn, autocommit=True) as su:
        server = str(run.scalar(su, "SELECT version()")).split(" on ")[0]
        definitions = function_definitions(su)
        try:
            with su.transaction():
                su.execute(RUNTIME)
                su.execute(
                    sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgpolicy TO {}").format(
                        sql.Identifier(run.APP_ROLE)
                    )
                )
                print(f"{rewrite_policies(su)} policies rewritten", flush=True)
            result = run.measure(args.dsn, app_dsn, args.runs, args.warmup)
        finally:
            restore(args.dsn, su, definitions)
    info = {"server": f"{server}, proposed shapes (bench/prototype.py)", "runs": args.runs,
            "machine": f"{os.cpu_count()} cores, {run.memory_gb()} GB RAM"}  # fmt: skip
    here = Path(__file__).resolve().parent
    (here / f"results-{args.label}-prototype.json").write_text(
        json.dumps({**run.shapes_only(result), **info}, indent=1) + "\n"
    )
    (here / f"plans-{args.label}-prototype.md").write_text(
        run.plans_markdown(result, info["server"])
    )
    print(run.report(result, {}, info))


if __name__ == "__main__":
    main()
