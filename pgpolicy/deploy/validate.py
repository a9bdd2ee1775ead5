"""PostgreSQL checks every compiled rule before it is deployed; a rule it refuses fails closed.

A compiled predicate PostgreSQL refuses (a column the metadata declares but the table
lacks, a type the compiler got wrong) would make its `CREATE POLICY` fail, and with it
the whole apply: on such a database nothing would be enforced at all. So before the
deploying transaction each rule's predicate is parsed and analysed by the server itself
(`PREPARE`, which takes no lock stronger than a reader's), the generated functions it
calls created first, all in a savepoint that is rolled back. A rule that does not pass
is compiled again as a denial for whoever it applies to (like a rule that does not
compile), reported with its id and the server's message, and the rest deploys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.compiler.predicate import SUDO_SCHEMA, SudoFunction
from pgpolicy.compiler.spec import PolicySet
from pgpolicy.deploy import ddl

CHECK = sql.Identifier("pgpolicy_check")


def checked_policy_set(
    conn: psycopg.Connection[Any], build: Callable[[Mapping[int, str]], PolicySet]
) -> PolicySet:
    """`build({})`, or, when PostgreSQL refuses some rules, `build(refused)`.

    `build(rejected)` compiles the policy set with the rules of `rejected` failing closed
    (`build_policy_set(..., rejected=...)`)."""
    policy_set = build({})
    rejected = rejected_rules(conn, policy_set)
    return build(rejected) if rejected else policy_set


def rejections(
    conn: psycopg.Connection[Any], build: Callable[[Mapping[int, str]], PolicySet]
) -> dict[int, str]:
    """The rules PostgreSQL refuses in `build({})`, for a caller that builds the set again
    in another transaction (a read-only snapshot cannot create the functions to check)."""
    return rejected_rules(conn, build({}))


def runtime_installed(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regnamespace('pgpolicy') IS NOT NULL").fetchone()
    return bool(row and row[0])


def rejected_rules(conn: psycopg.Connection[Any], policy_set: PolicySet) -> dict[int, str]:
    """Rule id → the server's message, for each rule whose predicate PostgreSQL refuses.

    Without pgpolicy's runtime the predicates cannot be checked (they call it): none is
    reported then, and `apply` refuses to run without the runtime anyway."""
    if not runtime_installed(conn):
        return {}
    functions = [
        {"name": f.name, "statements": [s.as_string(conn) for s in function_checks(f)]}
        for f in policy_set.functions
    ]
    checks = [
        {
            "rule": check.rule_id,
            "query": prepare(
                sql.SQL("SELECT 1 FROM {} WHERE {}").format(
                    ddl.table_id(check.table), sql.SQL(check.sql)
                )
            ).as_string(conn),
        }
        for check in policy_set.checks
    ]
    with conn.transaction() as savepoint:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SUDO_SCHEMA)))
        conn.execute(
            "CREATE TEMPORARY TABLE pgpolicy_refused (kind text, key text, message text) "
            "ON COMMIT DROP"
        )
        # The statements travel as a bound parameter, never as text of the block: a rule's
        # own text (which may hold any quote, `$pgpolicy$` included) cannot end it.
        conn.execute(
            "CREATE TEMPORARY TABLE pgpolicy_to_check (functions jsonb, checks jsonb) "
            "ON COMMIT DROP"
        )
        conn.execute(
            "INSERT INTO pg_temp.pgpolicy_to_check VALUES (%s::jsonb, %s::jsonb)",
            [json.dumps(functions), json.dumps(checks)],
        )
        conn.execute(CHECK_ALL)
        rows = conn.execute("SELECT kind, key, message FROM pgpolicy_refused").fetchall()
        raise psycopg.Rollback(savepoint)
    failed = {key: message for kind, key, message in rows if kind == "function"}
    refused = {int(key): message for kind, key, message in rows if kind == "rule"}
    rejected: dict[int, str] = {}
    for check in policy_set.checks:
        broken = [message for name, message in failed.items() if name in check.functions]
        if broken:
            rejected[check.rule_id] = f"in a generated function it calls: {broken[0]}"
        elif check.rule_id in refused:
            rejected[check.rule_id] = refused[check.rule_id]
    return rejected


def prepare(query: sql.Composed) -> sql.Composed:
    """`PREPARE` parses and analyses a query without planning or running it; then dropped."""
    return sql.SQL("PREPARE {name} AS {query}; DEALLOCATE {name}").format(name=CHECK, query=query)


def function_checks(function: SudoFunction) -> list[sql.Composed]:
    """What creating a generated function must pass. A SQL function's body is analysed when
    it is created; a PL/pgSQL one's query only when it first runs, so it is checked first."""
    statements = []
    if function.language == "plpgsql":
        statements.append(prepare(sql.SQL("SELECT ({})").format(sql.SQL(function.query))))
    statements.append(ddl.create_function(function, ())[0])
    return statements


# One round trip: each statement in a subtransaction of its own (an EXCEPTION block), what
# the server refuses recorded with its message. Functions are created in order and kept
# (until the caller's savepoint is rolled back): predicates call them.
CHECK_ALL = sql.SQL(  # a constant: what it runs comes from pg_temp.pgpolicy_to_check
    """DO $pgpolicy$ DECLARE item jsonb; statement text; BEGIN
FOR item IN SELECT jsonb_array_elements(functions) FROM pg_temp.pgpolicy_to_check LOOP
  BEGIN
    FOR statement IN SELECT * FROM jsonb_array_elements_text(item->'statements') LOOP
      EXECUTE statement;
    END LOOP;
  EXCEPTION WHEN others THEN
    INSERT INTO pg_temp.pgpolicy_refused VALUES ('function', item->>'name', SQLERRM);
  END;
END LOOP;
FOR item IN SELECT jsonb_array_elements(checks) FROM pg_temp.pgpolicy_to_check LOOP
  BEGIN
    EXECUTE item->>'query';
  EXCEPTION WHEN others THEN
    INSERT INTO pg_temp.pgpolicy_refused VALUES ('rule', item->>'rule', SQLERRM);
  END;
END LOOP;
END $pgpolicy$"""
)
