"""Answer an auditor's questions: which rules apply to a user and why; who can reach a record.

Both read the database's own rules and memberships, compile them inline (the
DBA's connection reads comodels directly), and let PostgreSQL evaluate the
result under the user's context (`pgpolicy.set_context`), so the answer is the
same predicate the policies enforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.errors import CompileError, PgPolicyError
from pgpolicy.introspect import MODES, Catalog, Rule
from pgpolicy.policy import RuleCombiner


@dataclass(frozen=True)
class User:
    id: int
    login: str
    group_ids: frozenset[int]
    company_ids: tuple[int, ...]


@dataclass(frozen=True)
class RuleVerdict:
    rule: Rule
    applies: bool
    why: str
    sql: str | None
    error: str | None


@dataclass(frozen=True)
class Explanation:
    user: User
    model: str
    mode: str
    acl_granted: bool
    rules: tuple[RuleVerdict, ...]
    predicate: str
    rows: int
    total: int


def find_user(conn: psycopg.Connection[Any], login: str) -> User:
    row = conn.execute("SELECT id FROM res_users WHERE login = %s", [login]).fetchone()
    if row is None:
        raise PgPolicyError(f"no user with login {login!r}")
    return user_by_id(conn, row[0], login)


def user_by_id(conn: psycopg.Connection[Any], uid: int, login: str) -> User:
    groups = conn.execute("SELECT gid FROM res_groups_users_rel WHERE uid = %s", [uid])
    companies = conn.execute(
        "SELECT c.id FROM res_company c JOIN res_company_users_rel r ON r.cid = c.id "
        "WHERE r.user_id = %s AND c.active ORDER BY c.id = (SELECT company_id FROM res_users "
        "WHERE id = %s) DESC, c.sequence, c.name",
        [uid, uid],
    )
    return User(uid, login, frozenset(g for (g,) in groups), tuple(c for (c,) in companies))


def explain(
    conn: psycopg.Connection[Any], catalog: Catalog, login: str, model_name: str, mode: str
) -> Explanation:
    """Rules of (model, mode) for the user, the effective predicate, and the rows it leaves."""
    if mode not in MODES:
        raise PgPolicyError(f"mode must be one of {', '.join(MODES)}")
    user = find_user(conn, login)
    model = catalog.model(model_name)
    if model.table is None:
        raise PgPolicyError(f"model {model_name} has no table")
    combiner = RuleCombiner(catalog, inline=True, user_groups=user.group_ids)
    verdicts = []
    for rule in combiner.rules(model, mode):
        sql = combiner.rule_sql(rule, model)
        applies, why = rule_applies(rule, user)
        error = str(sql) if isinstance(sql, CompileError) else None
        verdicts.append(RuleVerdict(rule, applies, why, None if error else str(sql), error))
    predicate = combiner.effective_sql(model, mode)
    acl = any(
        a.model == model_name
        and a.active
        and mode in a.modes
        and (a.group_id is None or a.group_id in user.group_ids)
        for a in catalog.access
    )
    rows, total = count_rows(conn, user, model.table, predicate)
    return Explanation(user, model_name, mode, acl, tuple(verdicts), predicate, rows, total)


def rule_applies(rule: Rule, user: User) -> tuple[bool, str]:
    if rule.is_global:
        return True, "global rule: applies to everyone"
    shared = sorted(user.group_ids & set(rule.group_ids))
    if shared:
        return True, f"user is in group(s) {shared}"
    return False, f"user is in none of groups {list(rule.group_ids)}"


def count_rows(
    conn: psycopg.Connection[Any], user: User, table: str, predicate: str
) -> tuple[int, int]:
    """Rows of `table` the predicate leaves for the user, and all rows (in a rolled-back tx)."""
    with conn.transaction(force_rollback=True):
        conn.execute(
            "SELECT pgpolicy.set_context(%s, %s, false)", [user.id, list(user.company_ids)]
        )
        query = sql.SQL("SELECT count(*) FILTER (WHERE {}), count(*) FROM {}").format(
            sql.SQL(predicate), sql.Identifier("public", table)
        )
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class Access:
    login: str
    uid: int
    modes: tuple[str, ...]


def who_can(
    conn: psycopg.Connection[Any], catalog: Catalog, model_name: str, record_id: int
) -> list[Access]:
    """For every active user: which of read/write/create/unlink the record admits for them."""
    model = catalog.model(model_name)
    if model.table is None:
        raise PgPolicyError(f"model {model_name} has no table")
    combiner = RuleCombiner(catalog, inline=True)
    table = sql.Identifier("public", model.table)
    columns = sql.SQL(", ").join(
        sql.SQL("coalesce(bool_or({}), false)").format(sql.SQL(combiner.effective_sql(model, mode)))
        for mode in MODES
    )
    query = sql.SQL("SELECT {} FROM {} WHERE id = %s").format(columns, table)
    exists = sql.SQL("SELECT 1 FROM {} WHERE id = %s").format(table)
    if conn.execute(exists, [record_id]).fetchone() is None:
        raise PgPolicyError(f"{model_name} has no record with id {record_id}")
    result = []
    users = conn.execute("SELECT id, login FROM res_users WHERE active ORDER BY id").fetchall()
    for uid, login in users:
        user = user_by_id(conn, uid, login)
        with conn.transaction(force_rollback=True):
            conn.execute(
                "SELECT pgpolicy.set_context(%s, %s, false)", [uid, list(user.company_ids)]
            )
            row = conn.execute(query, [record_id]).fetchone()
        assert row is not None
        modes = tuple(mode for mode, allowed in zip(MODES, row, strict=True) if allowed)
        if modes:
            result.append(Access(login, uid, modes))
    return result
