"""What the command line prints: predicates, policy sets as SQL or JSON, plan summaries."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlglot
from sqlglot.errors import SqlglotError

from pgpolicy.compiler.spec import PolicySet
from pgpolicy.deploy import ddl
from pgpolicy.deploy.plan import Plan
from pgpolicy.deploy.policy_set import ANALYST_GROUP


def pretty_sql(predicate: str) -> str:
    """A predicate formatted for reading (sqlglot), or as is if it cannot parse it."""
    try:
        return sqlglot.parse_one(predicate, read="postgres").sql(dialect="postgres", pretty=True)
    except SqlglotError:
        return predicate


# The frame of a generated script: psql stops at the first error whatever its settings, any
# other client runs it as one transaction that an error aborts as a whole (COMMIT then rolls
# back), and names resolve in pg_catalog only, whatever the session's search_path.
SCRIPT_HEAD = (
    "\\set ON_ERROR_STOP on",
    "BEGIN;",
    "SET LOCAL search_path = pg_catalog, pg_temp;",
)
SCRIPT_TAIL = ("COMMIT;",)


def policy_set_sql(policy_set: PolicySet) -> str:
    """The policy set as a reviewable SQL script (comments carry provenance), framed so that
    running it stops at the first error (`SCRIPT_HEAD`)."""
    roles = sorted({r for p in policy_set.policies for r in p.roles})
    lines: list[str] = list(SCRIPT_HEAD)
    if policy_set.functions:
        lines += [s.as_string(None) + ";" for s in ddl.sudo_schema(roles)]
    for function in policy_set.functions:
        lines += [s.as_string(None) + ";" for s in ddl.create_function(function, roles)]
    for table in policy_set.tables:
        lines.append(ddl.enable_rls(table.table, False)[0].as_string(None) + ";")
    for policy in policy_set.policies:
        lines.append(
            f"-- {policy.provenance.kind} {policy.provenance.mode or ''} "
            f"rules {list(policy.provenance.rule_ids)}".rstrip()
        )
        lines += [s.as_string(None) + ";" for s in ddl.create_policy_only(policy)]
    callers = [r for r in roles if r != ANALYST_GROUP]
    if policy_set.searches:
        lines.append("-- name-search functions (docs/bridge.md, Name search)")
        lines += [s.as_string(None) + ";" for s in ddl.search_schema(callers)]
    for search in policy_set.searches:
        lines += [s.as_string(None) + ";" for s in ddl.create_search_function(search, callers)]
    for error in policy_set.errors:
        lines.append(f"-- COMPILE ERROR (access denied for it): {comment_text(str(error))}")
    lines.extend(SCRIPT_TAIL)
    return "\n".join(lines)


def comment_text(text: str) -> str:
    """`text` on one line, for a `--` comment: a line break would end the comment, and
    what follows it (from a rule's domain) would be SQL."""
    return " ".join(text.split())


def policy_set_json(policy_set: PolicySet) -> dict[str, Any]:
    return {
        "tables": [asdict(t) for t in policy_set.tables],
        "policies": [{**asdict(p), "sha256": p.sha256} for p in policy_set.policies],
        "functions": [asdict(f) for f in policy_set.functions],
        "errors": [str(e) for e in policy_set.errors],
    }


def plan_summary(plan: Plan) -> str:
    counts = plan.summary()
    return ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing to do"
