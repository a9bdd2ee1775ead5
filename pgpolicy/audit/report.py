"""The auditor's access report: every active user × every protected model × read, write,
create and delete, with the rows each cell admits and the rules and profiles behind it.

Each cell is counted the way `explain` counts it (the same combined predicate of the
user's rules, with the deployed access-profile policy read back from `pg_policies`,
evaluated by PostgreSQL under the user's context in a rolled-back transaction), so the
report and `explain` cannot disagree. A report is plain data (`as_json`); Markdown and a
self-contained HTML page are renderings of it, and `diff` compares two reports (what
changed since a previous one).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from pgpolicy import __version__
from pgpolicy.audit.explain import (
    User,
    deployed_profile_policy,
    profile_verdicts,
    rule_applies,
    user_by_id,
)
from pgpolicy.compiler.rules import RuleCombiner, protected_models
from pgpolicy.deploy import analysts as analyst_logins
from pgpolicy.deploy.catalog import read_deployed
from pgpolicy.deploy.health import runtime_version
from pgpolicy.deploy.roles import role_hazards
from pgpolicy.odoo.metadata import MODES, Catalog, Model
from pgpolicy.profiles.model import dump_profiles
from pgpolicy.profiles.store import read_profiles

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Cell:
    """One user's access to one model in one mode."""

    acl: bool  # an access right grants the mode
    rows: int  # rows the rules (and deployed profile policy) admit; 0 without the right
    rules: tuple[int, ...]  # the ir.rule ids that apply to the user here
    profiles: tuple[str, ...]  # the user's access profiles that restrict this model and mode

    def as_dict(self) -> dict[str, Any]:
        """As JSON has it (lists), so that a report read back compares equal."""
        return {
            "acl": self.acl,
            "rows": self.rows,
            "rules": list(self.rules),
            "profiles": list(self.profiles),
        }


def build_report(
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    *,
    app_roles: Sequence[str] = (),
    logins: Sequence[str] = (),
    models: Sequence[str] = (),
) -> dict[str, Any]:
    """The report as data: users, models, cells, profiles, and the database's hazards."""
    tables = [m for m in protected_models(catalog) if not models or m.name in models]
    users = active_users(conn, logins)
    totals = {m.name: table_total(conn, m) for m in tables}
    deployed_profiles = {
        (m.name, mode): deployed_profile_policy(conn, str(m.table), mode)
        for m in tables
        for mode in MODES
    }
    has_profiles = bool(read_profiles(conn))
    cells: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for user in users:
        cells[user.login] = {
            m.name: {
                mode: cell.as_dict()
                for mode, cell in user_cells(
                    conn, catalog, user, m, deployed_profiles, has_profiles
                )
            }
            for m in tables
        }
    deployed = read_deployed(conn)
    return {
        "format": FORMAT_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "compiler": __version__,
        "database": str(conn.info.dbname),
        "runtime_version": runtime_version(conn),
        "users": [{"login": u.login, "uid": u.id, "companies": list(u.company_ids)} for u in users],
        "models": [{"model": m.name, "table": m.table, "rows": totals[m.name]} for m in tables],
        "cells": cells,
        "profiles": {p.name: dump_profiles([p]) for p in read_profiles(conn)},
        "unprotected": sorted(
            str(m.table)
            for m in tables
            if not (deployed.tables.get(str(m.table)) and deployed.tables[str(m.table)].rls_enabled)
        ),
        "void_roles": role_hazards(conn, list(app_roles)) if app_roles else [],
        "analysts": analyst_rows(conn),
    }


def analyst_rows(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """The analyst logins (database roles that read as an Odoo user), with the columns each
    may not read; none before runtime 9."""
    version = analyst_logins.installed_version(conn)
    if version is None or version < 9:
        return []
    return [a.to_json() for a in analyst_logins.analysts(conn)]


def active_users(conn: psycopg.Connection[Any], logins: Sequence[str]) -> list[User]:
    rows = conn.execute(
        "SELECT id, login FROM public.res_users WHERE active"
        " AND (cardinality(%s::text[]) = 0 OR login = ANY(%s::text[])) ORDER BY login",
        [list(logins), list(logins)],
    ).fetchall()
    return [user_by_id(conn, uid, login) for uid, login in rows]


def table_total(conn: psycopg.Connection[Any], model: Model) -> int:
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("public", str(model.table)))
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def user_cells(
    conn: psycopg.Connection[Any],
    catalog: Catalog,
    user: User,
    model: Model,
    deployed_profiles: dict[tuple[str, str], str | None],
    has_profiles: bool,
) -> Iterable[tuple[str, Cell]]:
    """The four cells of (user, model), counted in one statement under the user's context."""
    combiner = RuleCombiner(catalog, inline=True, user_groups=user.group_ids)
    conditions = []
    for mode in MODES:
        predicate = combiner.effective_sql(model, mode)
        profile_policy = deployed_profiles[(model.name, mode)]
        conditions.append(
            predicate if profile_policy is None else f"({predicate}) AND ({profile_policy})"
        )
    counts = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE {})").format(sql.SQL(c)) for c in conditions
    )
    query = sql.SQL("SELECT {} FROM {}").format(counts, sql.Identifier("public", str(model.table)))
    with conn.transaction(force_rollback=True):
        conn.execute(
            "SELECT pgpolicy.set_context(%s, %s, false)", [user.id, list(user.company_ids)]
        )
        row = conn.execute(query).fetchone()
    assert row is not None
    for mode, rows in zip(MODES, row, strict=True):
        acl = any(
            a.model == model.name
            and a.active
            and mode in a.modes
            and (a.group_id is None or a.group_id in user.group_ids)
            for a in catalog.access
        )
        rules = tuple(r.id for r in combiner.rules(model, mode) if rule_applies(r, user)[0])
        verdicts = profile_verdicts(conn, user, model.name, mode) if has_profiles else ()
        profiles = tuple(v.profile.name for v in verdicts if v.restricts)
        yield mode, Cell(acl, int(rows) if acl else 0, rules, profiles)


# ---- what changed ---------------------------------------------------------------------------


def diff(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """What changed from `previous` to `current`: users, models, profiles, and each cell."""

    def keys(report: dict[str, Any], part: str, key: str) -> set[str]:
        return {str(x[key]) for x in report.get(part, [])}

    changed_cells = []
    for login, models in current["cells"].items():
        for model, modes in models.items():
            for mode, cell in modes.items():
                before = previous.get("cells", {}).get(login, {}).get(model, {}).get(mode)
                if before is not None and before != cell:
                    changed_cells.append(
                        {"login": login, "model": model, "mode": mode, "before": before,
                         "after": cell}
                    )  # fmt: skip
    old_profiles, new_profiles = previous.get("profiles", {}), current["profiles"]
    old_analysts = {a["role"]: a for a in previous.get("analysts", [])}
    new_analysts = {a["role"]: a for a in current.get("analysts", [])}
    return {
        "since": previous.get("generated_at"),
        "users_added": sorted(keys(current, "users", "login") - keys(previous, "users", "login")),
        "users_removed": sorted(keys(previous, "users", "login") - keys(current, "users", "login")),
        "models_added": sorted(
            keys(current, "models", "model") - keys(previous, "models", "model")
        ),
        "models_removed": sorted(
            keys(previous, "models", "model") - keys(current, "models", "model")
        ),
        "profiles_added": sorted(set(new_profiles) - set(old_profiles)),
        "profiles_removed": sorted(set(old_profiles) - set(new_profiles)),
        "profiles_changed": sorted(
            n for n in set(new_profiles) & set(old_profiles) if new_profiles[n] != old_profiles[n]
        ),
        "analysts_added": sorted(set(new_analysts) - set(old_analysts)),
        "analysts_removed": sorted(set(old_analysts) - set(new_analysts)),
        "analysts_changed": sorted(
            r for r in set(new_analysts) & set(old_analysts) if new_analysts[r] != old_analysts[r]
        ),
        "cells": changed_cells,
    }


# ---- renderings -----------------------------------------------------------------------------


LIST_CHANGES = (
    "users_added", "users_removed", "models_added", "models_removed", "profiles_added",
    "profiles_removed", "profiles_changed", "analysts_added", "analysts_removed",
    "analysts_changed",
)  # fmt: skip


def cell_text(cell: dict[str, Any]) -> str:
    return str(cell["rows"]) if cell["acl"] else "no right"


def change_lines(changes: dict[str, Any]) -> list[str]:
    """What changed, one line each (a report older than a kind of change lacks its key)."""
    lines = [
        f"{key.replace('_', ' ')}: {', '.join(changes[key])}"
        for key in LIST_CHANGES
        if changes.get(key)
    ]
    return lines + [
        f"{c['login']} / {c['model']} / {c['mode']}: "
        f"{cell_text(c['before'])} → {cell_text(c['after'])}"
        for c in changes["cells"]
    ]


def analyst_line(analyst: dict[str, Any]) -> str:
    """An analyst login as the report lists it."""
    companies = analyst["company_ids"]
    return (
        f"{analyst['role']} reads as {analyst['odoo_user'] or '?'} (uid {analyst['uid']})"
        f"{'' if companies is None else ', companies ' + ','.join(map(str, companies))}"
        f", {'read and write' if analyst['can_write'] else 'read only'}"
        f"{'' if analyst['active'] else ', Odoo user inactive or missing: reads nothing'}"
        f"; columns it may not read: {', '.join(analyst['hidden_columns']) or 'none'}"
    )


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1, sort_keys=True)


def as_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: hazards first, then one row per user and model."""
    lines = [
        f"# Access report: {report['database']}",
        "",
        f"Generated {report['generated_at']} by pgpolicy {report['compiler']}, runtime "
        f"{report['runtime_version'] or 'not installed'}. Counts are rows the rules and "
        "deployed profile policies admit for the user, under the user's companies.",
        "",
        "## Hazards",
        "",
        *(f"- enforcement void: {h}" for h in report["void_roles"]),
        *(f"- no row level security: `{t}`" for t in report["unprotected"]),
    ]
    if not report["void_roles"] and not report["unprotected"]:
        lines.append("- none found")
    changes = report.get("changes")
    if changes:
        lines += ["", f"## Changes since {changes['since']}", ""]
        lines += [f"- {line}" for line in change_lines(changes) or ["nothing changed"]]
    lines += ["", "## Analyst logins", ""]
    lines += [f"- {analyst_line(a)}" for a in report.get("analysts", [])] or ["- none"]
    lines += [
        "",
        "## Access matrix",
        "",
        "| user | model | rows | read | write | create | delete | rules | profiles |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    totals = {m["model"]: m["rows"] for m in report["models"]}
    for login, models in report["cells"].items():
        for model, modes in models.items():
            rules = sorted({r for c in modes.values() for r in c["rules"]})
            profiles = sorted({p for c in modes.values() for p in c["profiles"]})
            lines.append(
                f"| {login} | {model} | {totals.get(model, '')} | "
                + " | ".join(cell_text(modes[m]) for m in MODES)
                + f" | {', '.join(map(str, rules))} | {', '.join(profiles)} |"
            )
    return "\n".join(lines) + "\n"


PAGE_SCRIPT = """
const table = document.getElementById('matrix');
const body = table.tBodies[0];
const filter = document.getElementById('filter');
const count = document.getElementById('shown');
function applyFilter() {
  const words = filter.value.toLowerCase().split(/\\s+/).filter(Boolean);
  let shown = 0;
  for (const row of body.rows) {
    const text = row.textContent.toLowerCase();
    const visible = words.every(w => text.includes(w));
    row.hidden = !visible;
    if (visible) shown++;
  }
  count.textContent = shown;
}
filter.addEventListener('input', () => {
  history.replaceState(null, '', '#filter=' + encodeURIComponent(filter.value));
  applyFilter();
});
if (location.hash.startsWith('#filter=')) {
  filter.value = decodeURIComponent(location.hash.slice('#filter='.length));
}
for (const [index, th] of Array.from(table.tHead.rows[0].cells).entries()) {
  th.addEventListener('click', () => {
    const ascending = th.dataset.order !== 'asc';
    th.dataset.order = ascending ? 'asc' : 'desc';
    const key = row => {
      const text = row.cells[index].textContent;
      const number = Number(text);
      return text !== '' && !Number.isNaN(number) ? number : text;
    };
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b);
      const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0)
                                           : (typeof x === 'number' ? -1 : 1);
      return ascending ? order : -order;
    });
    rows.forEach(row => body.appendChild(row));
  });
}
applyFilter();
"""

PAGE_STYLE = """
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 2px 8px; }
th { background: #f0f0f0; cursor: pointer; position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.none { color: #999; }
.hazard { color: #a00; }
input { font-size: 14px; width: 30em; margin: 0.5em 0; }
"""


def as_html(report: dict[str, Any]) -> str:
    """A self-contained page: the matrix as a table (readable without scripts), sortable by
    clicking a column and filtered by words typed in the box; the data is embedded too."""
    e = html.escape
    hazards = [f"enforcement void: {h}" for h in report["void_roles"]] + [
        f"no row level security: {t}" for t in report["unprotected"]
    ]
    changes = report.get("changes")
    change_items = change_lines(changes) if changes else []
    analyst_items = [analyst_line(a) for a in report.get("analysts", [])] or ["none"]
    totals = {m["model"]: m["rows"] for m in report["models"]}
    rows = []
    for login, models in report["cells"].items():
        for model, modes in models.items():
            rules = sorted({r for c in modes.values() for r in c["rules"]})
            profiles = sorted({p for c in modes.values() for p in c["profiles"]})
            tds = "".join(
                f'<td class="n">{modes[m]["rows"]}</td>'
                if modes[m]["acl"]
                else '<td class="n none">no right</td>'
                for m in MODES
            )
            rows.append(
                f"<tr><td>{e(login)}</td><td>{e(model)}</td>"
                f'<td class="n">{totals.get(model, "")}</td>{tds}'
                f"<td>{e(', '.join(map(str, rules)))}</td><td>{e(', '.join(profiles))}</td></tr>"
            )
    title = f"Access report: {report['database']}"
    data = json.dumps(report, sort_keys=True).replace("</", "<\\/")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{e(title)}</title><style>{PAGE_STYLE}</style></head><body>",
            f"<h1>{e(title)}</h1>",
            f"<p>Generated {e(report['generated_at'])} by pgpolicy {e(report['compiler'])}, "
            f"runtime {e(str(report['runtime_version'] or 'not installed'))}. Counts are rows "
            "the rules and deployed profile policies admit for the user, under the user's "
            "companies.</p>",
            "<h2>Hazards</h2><ul>",
            *(f'<li class="hazard">{e(h)}</li>' for h in hazards),
            "" if hazards else "<li>none found</li>",
            "</ul>",
            *(
                ["<h2>Changes since " + e(str(changes["since"])) + "</h2><ul>"]
                + [f"<li>{e(c)}</li>" for c in change_items or ["nothing changed"]]
                + ["</ul>"]
                if changes
                else []
            ),
            '<h2>Analyst logins</h2><ul id="analysts">',
            *(f"<li>{e(a)}</li>" for a in analyst_items),
            "</ul>",
            "<h2>Access matrix</h2>",
            '<input id="filter" type="search" placeholder="filter: words of a user, model, '
            'rule or profile">',
            f'<p><span id="shown">{len(rows)}</span> of {len(rows)} rows</p>',
            '<table id="matrix"><thead><tr><th>user</th><th>model</th><th>rows</th>'
            "<th>read</th><th>write</th><th>create</th><th>delete</th><th>rules</th>"
            "<th>profiles</th></tr></thead><tbody>",
            *rows,
            "</tbody></table>",
            f'<script type="application/json" id="report-data">{data}</script>',
            f"<script>{PAGE_SCRIPT}</script>",
            "</body></html>",
        ]
    )
