"""Answer an auditor's questions: which rules apply to a user and why; who can reach a record.

Both read the database's own rules and memberships, compile them inline (the
DBA's connection reads comodels directly), and let PostgreSQL evaluate the
result under the user's context (`pgpolicy.set_context`), so the answer is the
same predicate the policies enforce. Access profiles are taken from the policies
deployed for them (`pgpolicy_<mode>_profiles`, read back from `pg_policies`), not
recompiled: counts and user lists include exactly the restriction the database
enforces, and membership, window and companies are decided by the runtime's own
functions under the same context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy.compiler.rules import RuleCombiner
from pgpolicy.deploy import analysts
from pgpolicy.errors import CompileError, PgPolicyError
from pgpolicy.odoo.metadata import MODES, Catalog, Rule, user_group_ids
from pgpolicy.profiles.model import FILE_MODES, Profile
from pgpolicy.profiles.model import Access as ProfileAccess
from pgpolicy.profiles.store import read_profiles

FILE_MODE = {mode: name for name, mode in FILE_MODES.items()}
DEPLOYED_PROFILE_POLICY = (
    "SELECT CASE WHEN cmd = 'INSERT' THEN with_check ELSE qual END FROM pg_policies"
    " WHERE schemaname = 'public' AND tablename = %s AND policyname = %s"
)


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
class ProfileVerdict:
    """One access profile the user is a member of, as it bears on (model, mode) now."""

    profile: Profile
    member_by: tuple[str, ...]  # "login x", "group module.name"
    in_window: bool  # now() inside active_from / active_until
    in_company: bool  # the current company is one of its companies (or it names none)
    access: ProfileAccess | None  # its domain, true or false for the mode; None: says nothing
    toggles: dict[str, bool]  # the modes it switches on or off for the model (file names)

    @property
    def restricts(self) -> bool:
        return self.access is not None and self.in_company

    @property
    def grants(self) -> bool:
        return self.restricts and self.in_window and self.access is not False


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
    profiles: tuple[ProfileVerdict, ...] = ()
    profile_policy: str | None = None  # the deployed pgpolicy_<mode>_profiles, if any
    analyst_logins: tuple[str, ...] = ()  # database logins that read as this user
    hidden_columns: tuple[str, ...] = ()  # columns of the table those logins may not read


def find_user(conn: psycopg.Connection[Any], login: str) -> User:
    row = conn.execute("SELECT id FROM public.res_users WHERE login = %s", [login]).fetchone()
    if row is None:
        raise PgPolicyError(f"no user with login {login!r}")
    return user_by_id(conn, row[0], login)


def user_by_id(conn: psycopg.Connection[Any], uid: int, login: str) -> User:
    groups = user_group_ids(conn, uid)  # 19.0: with the implied groups (`all_group_ids`)
    companies = conn.execute(
        "SELECT c.id FROM public.res_company c"
        " JOIN public.res_company_users_rel r ON r.cid = c.id"
        " WHERE r.user_id = %s AND c.active"
        " ORDER BY c.id = (SELECT company_id FROM public.res_users WHERE id = %s) DESC,"
        " c.sequence, c.name",
        [uid, uid],
    )
    return User(uid, login, groups, tuple(c for (c,) in companies))


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
    profile_policy = deployed_profile_policy(conn, model.table, mode)
    counted = predicate if profile_policy is None else f"({predicate}) AND ({profile_policy})"
    rows, total = count_rows(conn, user, model.table, counted)
    profiles = profile_verdicts(conn, user, model_name, mode)
    return Explanation(
        user, model_name, mode, acl, tuple(verdicts), predicate, rows, total, profiles,
        profile_policy, analysts.logins_of(conn, user.id),
        analysts.columns_hidden_from(conn, catalog, set(user.group_ids), model.table),
    )  # fmt: skip


def deployed_profile_policy(conn: psycopg.Connection[Any], table: str, mode: str) -> str | None:
    """The condition of the deployed profile policy of (table, mode), as PostgreSQL renders it."""
    row = conn.execute(DEPLOYED_PROFILE_POLICY, [table, f"pgpolicy_{mode}_profiles"]).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def profile_verdicts(
    conn: psycopg.Connection[Any], user: User, model_name: str, mode: str
) -> tuple[ProfileVerdict, ...]:
    """The user's profiles (membership decided by the runtime), and what each says here."""
    stored = {p.name: p for p in read_profiles(conn)}
    if not stored:
        return ()
    row = conn.execute(
        "SELECT pgpolicy.member_profiles(%s), now(),"
        " ARRAY(SELECT d.module || '.' || d.name FROM public.ir_model_data d"
        "        JOIN public.res_groups_users_rel r ON r.gid = d.res_id"
        "       WHERE d.model = 'res.groups' AND r.uid = %s)",
        [user.id, user.id],
    ).fetchone()
    assert row is not None
    names, now, group_xml_ids = row
    current_company = user.company_ids[0] if user.company_ids else None
    verdicts = []
    for name in names:
        profile = stored[name]
        member_by = tuple(f"login {x}" for x in profile.logins if x == user.login) + tuple(
            f"group {g}" for g in profile.groups if g in group_xml_ids
        )
        access = profile.access(model_name)
        toggles = {} if access is None else {
            FILE_MODE[m]: v for m in FILE_MODE if isinstance(v := access.mode(m), bool)
        }  # fmt: skip
        in_company = profile.companies is None or current_company in profile.companies
        verdicts.append(
            ProfileVerdict(
                profile,
                member_by,
                profile.in_window(now),
                in_company,
                None if access is None else access.mode(mode),
                toggles,
            )
        )
    return tuple(verdicts)


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
    """For every active user: which of read/write/create/unlink the record admits for them
    (Odoo's rules and the deployed profile policies)."""
    model = catalog.model(model_name)
    if model.table is None:
        raise PgPolicyError(f"model {model_name} has no table")
    combiner = RuleCombiner(catalog, inline=True)
    table = sql.Identifier("public", model.table)
    conditions = []
    for mode in MODES:
        condition = combiner.effective_sql(model, mode)
        profile_policy = deployed_profile_policy(conn, model.table, mode)
        if profile_policy is not None:  # decided per user by the runtime, under their context
            condition = f"({condition}) AND ({profile_policy})"
        conditions.append(condition)
    columns = sql.SQL(", ").join(
        sql.SQL("coalesce(bool_or({}), false)").format(sql.SQL(c)) for c in conditions
    )
    query = sql.SQL("SELECT {} FROM {} WHERE id = %s").format(columns, table)
    exists = sql.SQL("SELECT 1 FROM {} WHERE id = %s").format(table)
    if conn.execute(exists, [record_id]).fetchone() is None:
        raise PgPolicyError(f"{model_name} has no record with id {record_id}")
    result = []
    users = conn.execute(
        "SELECT id, login FROM public.res_users WHERE active ORDER BY id"
    ).fetchall()
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
