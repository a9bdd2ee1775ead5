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

from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.compiler.predicate import SUDO_SCHEMA, SudoFunction
from pgpolicy.compiler.spec import PolicySet
from pgpolicy.deploy import ddl

CHECK = sql.Identifier("pgpolicy_check")
PLPGSQL_HEAD, PLPGSQL_TAIL = "BEGIN RETURN (", "); END"


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
    rejected: dict[int, str] = {}
    if not runtime_installed(conn):
        return rejected
    with conn.transaction() as savepoint:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SUDO_SCHEMA)))
        failed = failed_functions(conn, policy_set.functions)
        for check in policy_set.checks:
            broken = [message for name, message in failed.items() if name in check.functions]
            if broken:
                rejected[check.rule_id] = broken[0]
                continue
            query = sql.SQL("SELECT 1 FROM {} WHERE {}").format(
                ddl.table_id(check.table), sql.SQL(check.sql)
            )
            message = refusal(conn, query)
            if message is not None:
                rejected[check.rule_id] = message
        raise psycopg.Rollback(savepoint)
    return rejected


def failed_functions(
    conn: psycopg.Connection[Any], functions: tuple[SudoFunction, ...]
) -> dict[str, str]:
    """Generated functions PostgreSQL refuses, in creation order, with its message.

    A SQL function's body is analysed when it is created; a PL/pgSQL one's query only when
    it first runs, so that query is checked on its own first."""
    failed: dict[str, str] = {}
    for function in functions:
        message = None
        if function.language == "plpgsql":
            inner = function.body.removeprefix(PLPGSQL_HEAD).removesuffix(PLPGSQL_TAIL)
            message = refusal(conn, sql.SQL("SELECT ({})").format(sql.SQL(inner)))
        if message is None:
            create = ddl.create_function(function, ())[0]
            message = refusal(conn, create, prepare=False)
        if message is not None:
            failed[function.name] = f"in generated function {function.name}: {message}"
    return failed


def refusal(
    conn: psycopg.Connection[Any], statement: sql.Composed, prepare: bool = True
) -> str | None:
    """The server's one-line message if it refuses `statement` (parsed and analysed only,
    with `prepare`), else None; in a savepoint of its own."""
    try:
        with conn.transaction() as savepoint:
            if prepare:
                conn.execute(sql.SQL("PREPARE {} AS {}").format(CHECK, statement))
                conn.execute(sql.SQL("DEALLOCATE {}").format(CHECK))
            else:
                conn.execute(statement)
            if prepare:
                raise psycopg.Rollback(savepoint)
    except psycopg.Error as exc:
        primary = exc.diag.message_primary or str(exc)
        return " ".join(primary.split())
    return None
