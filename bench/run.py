"""What RLS costs: ORM-shaped queries under pgpolicy's policies ÷ the same hand-filtered query.

For user 15 (`salesman_a`: Sales / User: own documents, company 1) every query
runs two ways, interleaved, warm cache, in one run:

- RLS: as the app role (neither superuser, BYPASSRLS nor owner), after
  `pgpolicy.set_context(15, '{1}', false)` in the same transaction, the plain query;
- W: as the table owner (RLS not applied), the query with the WHERE clause Odoo's
  ORM adds for user 15, written out by hand below.

Both arms run in two configurations, also interleaved: PostgreSQL's default, and
with the LIKE-family operator functions marked LEAKPROOF (the explicit,
database-wide superuser opt-in `pgpolicy like-leakproof on`; its reasoning is in
docs/semantics.md, "Substring search"). Queries are sent as literal SQL text,
never prepared, as Odoo's psycopg2 does. Results: RESULTS.md.

    /tmp/venv/bin/python bench/run.py \
        --dsn "host=/tmp/bench_pg15 port=5510 user=postgres dbname=pgpolicy_bench"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.compiler.spec import PolicySet
from pgpolicy.deploy import runtime
from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.planner import planner_in_use, set_planner
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.odoo.metadata import read_catalog

APP_ROLE = "pgpolicy_bench_app"
UID, COMPANY_IDS = 15, [1]
SET_CONTEXT = "SELECT pgpolicy.set_context(15, '{1}', false)"
# PostgreSQL's default, the LIKE opt-in, and the same two with the C plan-time functions
# (`pgpolicy planner on`, sql/planner/): the policies are the same in all four.
CONFIGS = ("default", "like_leakproof", "c", "c_like_leakproof")
LABELS = {"default": "SQL", "like_leakproof": "SQL, LIKE leakproof", "c": "C",
          "c_like_leakproof": "C, LIKE leakproof"}  # fmt: skip

# The read rules that apply to uid 15 (groups of res_groups_users_rel: 21 "own documents",
# not 22 "all documents", not portal/public 10/11), and the WHERE Odoo's ORM writes for them:
#   sale.order  rule 254 (global)   [('company_id', 'in', company_ids)]
#               rule 259 (group 21) ['|', ('user_id', '=', user.id), ('user_id', '=', False)]
#   crm.lead    rule 120 (global)   [('company_id', 'in', company_ids + [False])]
#               rule 119 (group 21) ['|', ('user_id', '=', user.id), ('user_id', '=', False)]
#   res.partner rule 2   (global)   ['|', '|', ('partner_share', '=', False),
#                                    ('company_id', 'parent_of', company_ids),
#                                    ('company_id', '=', False)]
#               (rule 3 is for groups 10/11 only; company 1 has no parent: parent_of [1] is IN (1))
EXPECTED_RULES = {"sale.order": [254, 259], "crm.lead": [119, 120], "res.partner": [2]}
SO = "company_id IN (1) AND (user_id = 15 OR user_id IS NULL)"
LEAD = "(company_id IN (1) OR company_id IS NULL) AND (user_id = 15 OR user_id IS NULL)"
PARTNER = (
    "(partner_share IS NULL OR partner_share = FALSE OR company_id IN (1) OR company_id IS NULL)"
)


@dataclass(frozen=True)
class Query:
    """One ORM-shaped query: plain (under RLS) and with the hand-written WHERE (no RLS).

    `context` is what the RLS arm runs first in its transaction (the user it asks as);
    `orm`: the query and its WHERE come from Odoo's ORM itself (`orm_queries.py`)."""

    name: str
    rls: str
    w: str
    search: bool = False
    context: str = SET_CONTEXT
    orm: bool = False


def orm_queries(path: Path) -> list[Query]:
    """The queries `orm_queries.py` printed: both arms are the ORM's own SQL, the W arm
    with the WHERE clause of the user's record rules, the RLS arm without (sudo)."""
    found = []
    for item in json.loads(path.read_text()):
        companies = ",".join(str(c) for c in item["companies"])
        who = f"u{item['user']}"
        found.append(
            Query(
                f"{who} {item['model']} {item['kind']}",
                item["rls"],
                item["w"],
                search=item["kind"] == "name search",
                context=f"SELECT pgpolicy.set_context({item['user']:d}, '{{{companies}}}', false)",
                orm=True,
            )
        )
    return found


def ensure_followers(dsn: str, rows: int) -> int:
    """Partner 8 (user 7, `portal`) follows `rows` orders of company 1: the user following
    tens of thousands of records. Idempotent; returns how many it follows."""
    with connect(dsn, autocommit=True) as su:
        su.execute(
            "INSERT INTO mail_followers (res_model, res_id, partner_id) "
            "SELECT 'sale.order', id, 8 FROM sale_order WHERE company_id = 1 "
            "ORDER BY id LIMIT %s ON CONFLICT DO NOTHING",
            [rows],
        )
        su.execute("ANALYZE mail_followers")
        follows = "SELECT count(*) FROM mail_followers WHERE partner_id = 8 AND res_model = %s"
        row = su.execute(follows, ["sale.order"]).fetchone()
        assert row is not None
        return int(row[0])


def queries(order_id: int, lead_id: int, partner_id: int) -> list[Query]:
    """The query set. The ids are rows user 15 can see: the point read, and name searches
    that match one row (a full reference typed in the search bar) besides the ones that
    match a thousand (a prefix)."""
    read = (
        "SELECT id, name, partner_id, date_order, amount_total, state, user_id, company_id "
        "FROM sale_order WHERE id = "
    )
    so_one, lead_one, partner_one = (
        f"{prefix}{i:07d}" for prefix, i in (("S", order_id), ("L", lead_id), ("P", partner_id))
    )
    base = [
        Query("order list page",
              "SELECT id FROM sale_order ORDER BY date_order DESC, id DESC LIMIT 80",
              f"SELECT id FROM sale_order WHERE {SO} ORDER BY date_order DESC, id DESC LIMIT 80"),
        Query("order count", "SELECT count(*) FROM sale_order",
              f"SELECT count(*) FROM sale_order WHERE {SO}"),
        Query("order point read", f"{read}{order_id:d}", f"{read}{order_id:d} AND {SO}"),
        Query("order name search",
              "SELECT id FROM sale_order WHERE name ILIKE '%S0012%' "
              "ORDER BY date_order DESC, id DESC LIMIT 8",
              f"SELECT id FROM sale_order WHERE name ILIKE '%S0012%' AND {SO} "
              "ORDER BY date_order DESC, id DESC LIMIT 8", search=True),
        Query("order name search, 1 match",
              f"SELECT id FROM sale_order WHERE name ILIKE '%{so_one}%' "
              "ORDER BY date_order DESC, id DESC LIMIT 8",
              f"SELECT id FROM sale_order WHERE name ILIKE '%{so_one}%' AND {SO} "
              "ORDER BY date_order DESC, id DESC LIMIT 8", search=True),
        Query("order JOIN partner",
              "SELECT so.id, p.name FROM sale_order so JOIN res_partner p ON p.id = so.partner_id "
              "ORDER BY so.id DESC LIMIT 80",
              "SELECT so.id, p.name FROM sale_order so JOIN res_partner p ON p.id = so.partner_id "
              "WHERE so.company_id IN (1) AND (so.user_id = 15 OR so.user_id IS NULL) "
              "AND (p.partner_share IS NULL OR p.partner_share = FALSE OR p.company_id IN (1) "
              "OR p.company_id IS NULL) ORDER BY so.id DESC LIMIT 80"),
        Query("lead list page", "SELECT id FROM crm_lead ORDER BY priority DESC, id DESC LIMIT 80",
              f"SELECT id FROM crm_lead WHERE {LEAD} ORDER BY priority DESC, id DESC LIMIT 80"),
        Query("lead count", "SELECT count(*) FROM crm_lead",
              f"SELECT count(*) FROM crm_lead WHERE {LEAD}"),
        Query("lead name search",
              "SELECT id FROM crm_lead WHERE name ILIKE '%L0012%' "
              "ORDER BY priority DESC, id DESC LIMIT 8",
              f"SELECT id FROM crm_lead WHERE name ILIKE '%L0012%' AND {LEAD} "
              "ORDER BY priority DESC, id DESC LIMIT 8", search=True),
        Query("lead name search, 1 match",
              f"SELECT id FROM crm_lead WHERE name ILIKE '%{lead_one}%' "
              "ORDER BY priority DESC, id DESC LIMIT 8",
              f"SELECT id FROM crm_lead WHERE name ILIKE '%{lead_one}%' AND {LEAD} "
              "ORDER BY priority DESC, id DESC LIMIT 8", search=True),
        Query("partner list page",
              "SELECT id FROM res_partner ORDER BY complete_name, id DESC LIMIT 80",
              f"SELECT id FROM res_partner WHERE {PARTNER} "
              "ORDER BY complete_name, id DESC LIMIT 80"),
        Query("partner count", "SELECT count(*) FROM res_partner",
              f"SELECT count(*) FROM res_partner WHERE {PARTNER}"),
        Query("partner name search",
              "SELECT id FROM res_partner WHERE complete_name ILIKE '%P0012%' "
              "ORDER BY complete_name, id DESC LIMIT 8",
              f"SELECT id FROM res_partner WHERE complete_name ILIKE '%P0012%' AND {PARTNER} "
              "ORDER BY complete_name, id DESC LIMIT 8", search=True),
        Query("partner name search, 1 match",
              f"SELECT id FROM res_partner WHERE complete_name ILIKE '%{partner_one}%' "
              "ORDER BY complete_name, id DESC LIMIT 8",
              f"SELECT id FROM res_partner WHERE complete_name ILIKE '%{partner_one}%' "
              f"AND {PARTNER} ORDER BY complete_name, id DESC LIMIT 8", search=True),
    ]  # fmt: skip
    return base + [via_function(q) for q in base if q.search]


# The ILIKE of a name search, as run.py writes it (`name ILIKE '%S0012%'`) and as the ORM does
# (`"sale_order"."name" ILIKE '%S0012%'`): the field and the pattern, a SQL literal.
ILIKE_TERM = re.compile(r'(?:"\w+"\.)?"?(?P<field>\w+)"? ILIKE (?P<pattern>\'(?:[^\']|\'\')*\')')


def ilike_term(query: Query) -> tuple[str, re.Match[str]]:
    """The table a name search reads and its ILIKE term."""
    table = query.rls.split(" FROM ", 1)[1].split(" ", 1)[0].strip('"')
    term = ILIKE_TERM.search(query.rls)
    assert term, query.name
    return table, term


def searched(query: Query) -> tuple[str, str]:
    """The table and the field a name search searches."""
    table, term = ilike_term(query)
    return table, term["field"]


def via_function(query: Query) -> Query:
    """A name search through the table's name-search function (`pgpolicy_search.<table>`,
    pgpolicy/compiler/search.py), as the Odoo bridge routes it: the ids the function returns
    (the user's rows whose field matches, found with the index) in place of the ILIKE, the
    rest of the query unchanged; W is the plain search's."""
    table, term = ilike_term(query)
    call = f"pgpolicy_search.{table}({term['pattern']}, ARRAY['{term['field']}'])"
    routed = f"id IN (SELECT f.id FROM {call} AS f(id))"
    rls = query.rls[: term.start()] + routed + query.rls[term.end() :]
    return Query(f"{query.name} via search function", rls, query.w, True, query.context, query.orm)


def search_functions(su: psycopg.Connection[Any]) -> set[tuple[str, str]]:
    """(table, field) of every deployed name-search function: what the bridge may route."""
    rows = su.execute(
        "SELECT p.proname, pg_catalog.obj_description(p.oid, 'pg_proc') FROM pg_catalog.pg_proc p "
        "WHERE p.pronamespace = pg_catalog.to_regnamespace('pgpolicy_search')"
    ).fetchall()
    return {(name, field) for name, comment in rows for field in json.loads(comment)["fields"]}


def connect(dsn: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """Literal SQL, never server-side prepared: what Odoo's psycopg2 sends."""
    return psycopg.connect(dsn, prepare_threshold=None, cursor_factory=psycopg.ClientCursor,
                           **kwargs)  # fmt: skip


# -- setup ------------------------------------------------------------------------------
def create_app_role(su: psycopg.Connection[Any]) -> None:
    """The role Odoo would connect as: login, DML grants, and nothing that bypasses RLS."""
    role = sql.Identifier(APP_ROLE)
    if not su.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone():
        su.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(role))
    su.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
    su.execute(
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            role
        )
    )
    su.execute(sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role))


def assert_rls_applies(su: psycopg.Connection[Any], tables: list[str]) -> None:
    """The RLS arm must really be filtered by policies."""
    row = su.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s",
                     [APP_ROLE]).fetchone()  # fmt: skip
    assert row == (False, False), f"{APP_ROLE} must be NOSUPERUSER NOBYPASSRLS: {row}"
    rows = su.execute(
        "SELECT relname, relrowsecurity, pg_get_userbyid(relowner) FROM pg_class "
        "WHERE relname = ANY(%s) AND relnamespace = 'public'::regnamespace",
        [tables],
    ).fetchall()
    assert len(rows) == len(tables) and all(r[1] and r[2] != APP_ROLE for r in rows), rows


def applicable_rules(su: psycopg.Connection[Any]) -> dict[str, list[int]]:
    """Read rules Odoo applies to UID, per model (`ir.rule._get_rules`)."""
    rows = su.execute(
        'SELECT m.model, r.id FROM ir_rule r JOIN ir_model m ON m.id = r.model_id '
        'WHERE r.active AND r.perm_read AND m.model = ANY(%s) AND (r."global" OR r.id IN ('
        'SELECT rule_group_id FROM rule_group_rel WHERE group_id IN ('
        'SELECT gid FROM res_groups_users_rel WHERE uid = %s))) ORDER BY 1, 2',
        [list(EXPECTED_RULES), UID])  # fmt: skip
    found: dict[str, list[int]] = {}
    for model, rule_id in rows:
        found.setdefault(model, []).append(rule_id)
    return found


def deploy(dsn: str) -> dict[str, float]:
    """Install the runtime, compile the whole database, apply twice; wall times in seconds."""
    times: dict[str, float] = {}
    with connect(dsn, autocommit=True) as su:
        create_app_role(su)
    # Start from no pgpolicy policies and no runtime, so that everything is created anew.
    apply_policy_set(dsn, PolicySet((), (), ()), [APP_ROLE])
    with connect(dsn, autocommit=True) as su:
        installed = runtime.installed_version(su)
    if installed is not None:
        runtime.uninstall(dsn)
    started = time.perf_counter()
    runtime.install(dsn, [APP_ROLE])
    times["runtime install"] = time.perf_counter() - started
    with connect(dsn, autocommit=True) as su:
        started = time.perf_counter()
        catalog = read_catalog(su)
        times["read catalog"] = time.perf_counter() - started
    started = time.perf_counter()
    policy_set = build_policy_set(catalog, [APP_ROLE])
    times["compile (build_policy_set)"] = time.perf_counter() - started
    for label in ("apply (first: plan + DDL)", "apply (second: no change)"):
        started = time.perf_counter()
        plan = apply_policy_set(dsn, policy_set, [APP_ROLE])
        times[label] = time.perf_counter() - started
        print(f"{label}: {len(plan.changes)} changes", flush=True)
    assert plan.empty, "re-applying an unchanged policy set must change nothing"
    print(f"{len(policy_set.tables)} tables, {len(policy_set.policies)} policies, "
          f"{len(policy_set.errors)} compile errors", flush=True)  # fmt: skip
    return times


# -- the LIKE opt-in --------------------------------------------------------------------
def like_functions(su: psycopg.Connection[Any]) -> list[tuple[int, sql.Composed, bool]]:
    """(oid, signature, leakproof now) of the functions behind ~~ ~~* !~~ !~~* on text/bpchar."""
    rows = su.execute(
        "SELECT DISTINCT p.oid, p.proname, "
        "array(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t), p.proleakproof "
        "FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode "
        "WHERE o.oprname IN ('~~', '~~*', '!~~', '!~~*') "
        "AND o.oprleft IN ('text'::regtype, 'bpchar'::regtype) ORDER BY p.oid"
    ).fetchall()
    return [(oid, sql.SQL("{}({})").format(sql.Identifier("pg_catalog", name),
                                           sql.SQL(", ").join(map(sql.SQL, args))), leakproof)
            for oid, name, args, leakproof in rows]  # fmt: skip


def set_like_leakproof(su: psycopg.Connection[Any], functions: list[tuple[int, sql.Composed, bool]],
                       on: bool) -> None:  # fmt: skip
    """Mark the LIKE functions LEAKPROOF (on) or back to what they were (off)."""
    for _, signature, original in functions:
        flag = "LEAKPROOF" if on or original else "NOT LEAKPROOF"
        su.execute(sql.SQL("ALTER FUNCTION {} " + flag).format(signature))


# -- measuring --------------------------------------------------------------------------
@contextmanager
def transaction(
    conn: psycopg.Connection[Any], rls: bool, context: str = SET_CONTEXT
) -> Iterator[psycopg.Cursor[Any]]:
    """A transaction of one arm: the RLS arm sets the context first, as the bridge does;
    it ends with COMMIT, as an Odoo request does."""
    with conn.cursor() as cur:
        if rls:
            cur.execute(context)
        try:
            yield cur
        finally:
            conn.commit()


def run_once(
    conn: psycopg.Connection[Any], query: str, rls: bool, context: str = SET_CONTEXT
) -> tuple[float, list[Any]]:
    """Wall time (ms) of the query alone (planning + execution + fetch), and its rows."""
    with transaction(conn, rls, context) as cur:
        started = time.perf_counter()
        cur.execute(query)
        rows = cur.fetchall()
        return (time.perf_counter() - started) * 1000, rows


def context_cost(app: psycopg.Connection[Any], runs: int) -> float:
    """Median ms of the `set_context` round trip itself."""
    samples = []
    for _ in range(runs):
        with app.cursor() as cur:
            started = time.perf_counter()
            cur.execute(SET_CONTEXT)
            samples.append((time.perf_counter() - started) * 1000)
        app.commit()
    return statistics.median(samples)


def scalar(conn: psycopg.Connection[Any], query: str | sql.Composable) -> Any:
    """The one value a query returns."""
    row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None, query
    return row[0]


def visible_id(su: psycopg.Connection[Any], table: str, where: str) -> int:
    """The highest id of `table` user 15 can see (by the hand-written WHERE)."""
    query = sql.SQL("SELECT max(id) FROM {} WHERE ").format(sql.Identifier(table)) + sql.SQL(where)
    return int(scalar(su, query))


def plan_of(
    conn: psycopg.Connection[Any], query: str, rls: bool, context: str = SET_CONTEXT
) -> tuple[str, str]:
    """(shape, text) of the executed plan: node types and indexes, and EXPLAIN ANALYZE text."""
    with transaction(conn, rls, context) as cur:
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, FORMAT JSON) " + query)
        row = cur.fetchone()
        assert row is not None
        tree = row[0][0]["Plan"]
        cur.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + query)
        text = "\n".join(r[0] for r in cur.fetchall())
    return shape(tree), text


def shape(node: dict[str, Any]) -> str:
    """`Limit > Index Scan(idx)`: the plan without InitPlans (the context reads)."""
    label = node["Node Type"]
    if node.get("Index Name"):
        label += f"({node['Index Name']})"
    kids = [shape(k) for k in node.get("Plans", [])
            if k.get("Parent Relationship") not in ("InitPlan", "SubPlan")]  # fmt: skip
    if len(kids) == 1:
        return f"{label} > {kids[0]}"
    return f"{label} [{', '.join(kids)}]" if kids else label


def measure(
    dsn: str,
    app_dsn: str,
    runs: int,
    warmup: int,
    extra: list[Query] | None = None,
    configs: tuple[str, ...] = CONFIGS,
) -> dict[str, Any]:
    """Medians per (query, config, arm), all interleaved in random order within a round."""
    with connect(dsn, autocommit=True) as su, connect(dsn) as owner, connect(app_dsn) as app:
        tables = ["sale_order", "crm_lead", "res_partner"]
        assert_rls_applies(su, tables)
        qs = queries(
            *(
                visible_id(su, table, where)
                for table, where in (
                    ("sale_order", SO),
                    ("crm_lead", LEAD),
                    ("res_partner", PARTNER),
                )
            )
        )
        routable = search_functions(su)
        qs += extra or []
        qs += [via_function(q) for q in extra or [] if q.search and searched(q) in routable]
        functions = like_functions(su)
        arms = {"rls": (app, True), "w": (owner, False)}
        samples: dict[tuple[str, str, str], list[float]] = {}
        plans: dict[tuple[str, str, str], tuple[str, str]] = {}
        rows: dict[str, int] = {}
        disagree: dict[str, str] = {}
        try:
            for config in configs:
                configure(su, dsn, functions, config)
                for q in qs:
                    _, got_rls = run_once(app, q.rls, True, q.context)
                    _, got_w = run_once(owner, q.w, False)
                    if got_rls != got_w:
                        # the ORM's queries: reported and left out, never timed as equals
                        assert q.orm, f"{q.name}: RLS and W disagree"
                        disagree[q.name] = f"{len(got_rls)} rows under RLS, {len(got_w)} W"
                        continue
                    assert got_rls or q.search or q.orm, f"{q.name}: no rows"
                    rows[q.name] = got_rls[0][0] if "count" in q.name else len(got_rls)
                    for arm, (conn, rls) in arms.items():
                        plans[q.name, config, arm] = plan_of(
                            conn, q.rls if rls else q.w, rls, q.context
                        )
            qs = [q for q in qs if q.name not in disagree]
            for round_ in range(warmup + runs):
                for config in configs if round_ % 2 else configs[::-1]:
                    configure(su, dsn, functions, config)
                    jobs = [(q, arm) for q in qs for arm in arms]
                    random.shuffle(jobs)
                    for q, arm in jobs:
                        conn, rls = arms[arm]
                        elapsed, _ = run_once(conn, q.rls if rls else q.w, rls, q.context)
                        if round_ >= warmup:
                            samples.setdefault((q.name, config, arm), []).append(elapsed)
            context_ms = {}
            for config in [c for c in ("default", "c") if c in configs]:
                configure(su, dsn, functions, config)
                context_ms[LABELS[config]] = context_cost(app, runs * 5)
        finally:
            configure(su, dsn, functions, "default")
        return {
            "configs": list(configs),
            "disagree": disagree,
            "queries": [q.name for q in qs],
            "search": [q.name for q in qs if q.search],
            "rows": rows,
            "median_ms": {"|".join(k): statistics.median(v) for k, v in samples.items()},
            "plans": {"|".join(k): v for k, v in plans.items()},
            "set_context_ms": context_ms,
            "like_functions": [s.as_string(su) for _, s, _ in functions],
        }


def configure(
    su: psycopg.Connection[Any],
    dsn: str,
    functions: list[tuple[int, sql.Composed, bool]],
    config: str,
) -> None:
    """Put `config` in place: the LIKE opt-in on or off, the C or SQL plan-time functions."""
    set_like_leakproof(su, functions, config.endswith("like_leakproof"))
    wanted = "c" if config.startswith("c") else "sql"
    if planner_in_use(su) != wanted:
        set_planner(dsn, wanted)


# -- report -----------------------------------------------------------------------------
def ratio(result: dict[str, Any], query: str, config: str) -> float:
    m = result["median_ms"]
    return float(m[f"{query}|{config}|rls"] / m[f"{query}|{config}|w"])


def routed_queries(names: list[str]) -> list[str]:
    """The query set as the Odoo bridge runs it: each name search through the function."""
    via = " via search function"
    return [n for n in names if n + via not in names]


def report(result: dict[str, Any], times: dict[str, float], info: dict[str, Any]) -> str:
    """Markdown: environment, the ratio table, summary, deploy times, plan shapes."""
    m = result["median_ms"]
    configs = tuple(result.get("configs", CONFIGS))
    lines = [f"### {info['server']}", "",
             f"{info['machine']}; {info['runs']} interleaved runs per cell, medians; "
             "`set_context` round trip " + ", ".join(
                 f"{ms:.3f} ms ({name})" for name, ms in result["set_context_ms"].items())
             + " (not in the timings).", "",
             "| query | rows | " + " | ".join(f"RLS ms ({LABELS[c]}) | W ms | RLS/W"
                                             for c in configs) + " |",
             "|---|---:|" + "---:|" * 3 * len(configs)]  # fmt: skip
    for q in result["queries"]:
        cells = [q, f"{result['rows'][q]:,}"]
        for config in configs:
            rls, w = m[f"{q}|{config}|rls"], m[f"{q}|{config}|w"]
            cells += [f"{rls:.3f}", f"{w:.3f}", f"**{rls / w:.2f}**"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for config in configs:
        for group, names in groups(result["queries"]).items():
            ratios = [ratio(result, q, config) for q in names]
            worst = max(names, key=lambda q: ratio(result, q, config))
            lines.append(f"- {LABELS[config]}, {group}: median ratio "
                         f"**{statistics.median(ratios):.2f}**, max **{max(ratios):.2f}** "
                         f"({worst})")  # fmt: skip
    routed = routed_queries(result["queries"])
    for config in configs:
        if not routed:
            break
        ratios = [ratio(result, q, config) for q in routed]
        worst = max(routed, key=lambda q: ratio(result, q, config))
        lines.append(f"- {LABELS[config]}, name searches through the search function: median "
                     f"ratio **{statistics.median(ratios):.2f}**, max **{max(ratios):.2f}** "
                     f"({worst})")  # fmt: skip
    for name, why in result.get("disagree", {}).items():
        lines.append(f"- left out, RLS and W disagree: {name} ({why})")
    pairs = [(c, s) for c, s in (("c", "default"), ("c_like_leakproof", "like_leakproof"))
             if {c, s} <= set(configs)]  # fmt: skip
    same_as_sql = [q for q in result["queries"] if all(
        result["plans"][f"{q}|{c}|rls"][0] == result["plans"][f"{q}|{s}|rls"][0]
        for c, s in pairs)]  # fmt: skip
    if pairs:
        lines.append(
            f"- C plan-time functions: the RLS plan of {len(same_as_sql)} of "
            f"{len(result['queries'])} queries is the SQL functions' plan, node for node"
        )
    if times:
        lines += ["", "| deploy step | wall time |", "|---|---:|"]
        lines += [f"| {k} | {v:.2f} s |" for k, v in times.items()]
    return "\n".join(lines) + "\n" + plan_table(result, configs)


def groups(queries: list[str]) -> dict[str, list[str]]:
    """All queries, then those of each user: `u21 sale.order count` is user 21's."""
    by_user: dict[str, list[str]] = {"all queries": list(queries)}
    for q in queries:
        head = q.split(" ", 1)[0]
        user = f"user {head[1:]}" if head[:1] == "u" and head[1:].isdigit() else "user 15"
        by_user.setdefault(user, []).append(q)
    return by_user


def plan_table(result: dict[str, Any], configs: tuple[str, ...]) -> str:
    """Markdown: RLS and W plan shapes of every query, default configuration (and the LIKE
    opt-in for searches)."""
    lines = [
        "",
        "Plan shapes (InitPlans of the context reads left out):",
        "",
        "| query | config | RLS plan | W plan | same |",
        "|---|---|---|---|---|",
    ]
    for q in result["queries"]:
        for config in [c for c in configs if c in ("default", "like_leakproof")]:
            if config != "default" and q not in result["search"]:
                continue
            rls, w = (result["plans"][f"{q}|{config}|{arm}"][0] for arm in ("rls", "w"))
            same = "yes" if rls == w else "**no**"
            lines.append(f"| {q} | {config} | `{rls}` | `{w}` | {same} |")
    return "\n".join(lines) + "\n"


def shapes_only(result: dict[str, Any]) -> dict[str, Any]:
    """The result for JSON: plan shapes only (the full plans go to plans-<label>.md)."""
    return {**result, "plans": {k: shape for k, (shape, _) in result["plans"].items()}}


def plans_markdown(result: dict[str, Any], server: str) -> str:
    """Every EXPLAIN ANALYZE (costs and timing off) of the run, RLS next to W."""
    out = [
        f"# Plans: {server}",
        "",
        "Generated by `bench/run.py`; EXPLAIN (ANALYZE, COSTS OFF, "
        "TIMING OFF), RLS arm after `set_context` as the app role, W arm as the owner.",
        "",
    ]
    for q in result["queries"]:
        for config in result.get("configs", CONFIGS):
            if config not in ("default", "c") and q not in result["search"]:
                continue
            out += [f"## {q} ({config})", ""]
            for arm in ("rls", "w"):
                out += [f"{arm.upper()}:", "", "```", result["plans"][f"{q}|{config}|{arm}"][1],
                        "```", ""]  # fmt: skip
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dsn",
        default=os.environ.get("BENCH_DSN", ""),
        help="superuser (table owner) connection to the scaled database",
    )
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--label", default="pg15", help="suffix of the output files")
    parser.add_argument(
        "--orm-queries",
        type=Path,
        help="JSON of orm_queries.py: the other users' queries, as Odoo's ORM writes them",
    )
    parser.add_argument(
        "--follows",
        type=int,
        default=0,
        help="make user 7 (partner 8) follow this many orders, and stop: run it before "
        "orm_queries.py, whose point read and name search pick among the rows it adds",
    )
    parser.add_argument(
        "--configs", default=",".join(CONFIGS), help="a subset of " + ", ".join(CONFIGS)
    )
    args = parser.parse_args()
    configs = tuple(args.configs.split(","))
    assert set(configs) <= set(CONFIGS), configs
    app_dsn = psycopg.conninfo.make_conninfo(args.dsn, user=APP_ROLE)
    with connect(args.dsn, autocommit=True) as su:
        server = str(scalar(su, "SELECT version()")).split(" on ")[0]
        rules = applicable_rules(su)
        assert rules == EXPECTED_RULES, f"rules for uid {UID} changed: {rules}"
        sizes = {
            t: int(scalar(su, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))))
            for t in ("sale_order", "sale_order_line", "res_partner", "crm_lead")
        }
    if args.follows:
        print(f"user 7 follows {ensure_followers(args.dsn, args.follows):,} orders")
        return
    times = deploy(args.dsn)
    extra = orm_queries(args.orm_queries) if args.orm_queries else []
    result = measure(args.dsn, app_dsn, args.runs, args.warmup, extra, configs)
    info = {
        "server": server,
        "runs": args.runs,
        "sizes": sizes,
        "machine": f"{os.cpu_count()} cores, {memory_gb()} GB RAM, {platform.machine()}",
    }
    here = Path(__file__).resolve().parent
    (here / f"results-{args.label}.json").write_text(
        json.dumps({**shapes_only(result), "deploy_s": times, **info}, indent=1) + "\n"
    )
    (here / f"plans-{args.label}.md").write_text(plans_markdown(result, server))
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in sizes.items()))
    print(report(result, times, info))


def memory_gb() -> int:
    with open("/proc/meminfo") as f:
        return round(int(f.readline().split()[1]) / 1024 / 1024)


if __name__ == "__main__":
    main()
