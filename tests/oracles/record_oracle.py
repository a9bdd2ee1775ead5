"""Record what an Odoo database's ORM allows: rules.json, acl.json and oracle.json.

Run with the Python of the Odoo installation that made the database (it imports Odoo):

    python record_oracle.py --odoo-src ODOO_TREE --database NAME --db-host SOCKET_DIR \
        --db-port PORT --db-user ROLE --out DIR [--users login,login] [--second]

`--second`: the second database's users too (`build_db.SECOND_ALLOWED`), each request
with the companies named there.

For each user U, each model M with an active record rule and a table of its own, and each
mode m (read, write, create, unlink):

1. `domain = env(user=U, context={'allowed_company_ids': …})['ir.rule']._compute_domain(M, m)`:
   the ORM's own combination of U's rules, `_inherits` parents included;
2. `ids = env[M].sudo().with_context(active_test=False).search(domain, order='id').ids`.

The ids are cross-checked two other ways inside Odoo: the SQL the domain compiles to on the
bare table (what `_apply_ir_rules` adds to a query) and `filtered_domain` on every row (what
the access check on given records uses); differences are counted in `stats` and kept per
combination. The same script serves every supported version (17.0, 18.0, 19.0): where
Odoo's API differs it says so. It is a tool for maintainers, never imported by the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys
from pathlib import Path
from typing import Any

MODES = ("read", "write", "create", "unlink")
USERS = (
    "salesman_a",
    "salesmgr_ab",
    "accountant_b",
    "stock_user",
    "hr_officer",
    "project_user",
    "portal_user",
    "demo",
)
FILTERED_DOMAIN_MAX_ROWS = 50000


def user_groups(user: Any) -> Any:
    """All of a user's groups, implied ones included (`all_group_ids` from 19.0)."""
    return user.all_group_ids if "all_group_ids" in user._fields else user.groups_id


def domain_list(domain: Any) -> list[Any]:
    """A domain in list form: 19.0's `Domain` objects iterate as their prefix list, the
    always-true one as `[(1, '=', 1)]`, kept as `[]` like the lists of 17.0 and 18.0."""
    if isinstance(domain, list):
        return domain
    return [] if domain.is_true() else list(domain)


def xml_id(record: Any) -> str | None:
    return record.get_external_id().get(record.id) or None


def xml_ids_of(env: Any, model: str) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    data = env["ir.model.data"].sudo().search([("model", "=", model)], order="id")
    for row in data:
        found.setdefault(row.res_id, []).append(f"{row.module}.{row.name}")
    return found


def rules_json(env: Any, database: str) -> dict[str, Any]:
    names = xml_ids_of(env, "ir.rule")
    groups = xml_ids_of(env, "res.groups")
    rules = env["ir.rule"].sudo().with_context(active_test=False).search([], order="id")
    rows = [
        {
            "id": r.id,
            "xml_id": names.get(r.id, [None])[0],
            "xml_ids": names.get(r.id, []),
            "name": r.name or None,
            "model": r.model_id.model,
            "domain_force": r.domain_force or None,
            "global": r["global"],
            "group_ids": sorted(r.groups.ids),
            "groups": [groups.get(g, [None])[0] for g in sorted(r.groups.ids)],
            **{f"perm_{m}": r[f"perm_{m}"] for m in MODES},
            "active": r.active,
        }
        for r in rules
    ]
    return {"database": database, "count": len(rows), "rules": rows}


def acl_json(env: Any, database: str) -> dict[str, Any]:
    names = xml_ids_of(env, "ir.model.access")
    groups = xml_ids_of(env, "res.groups")
    acls = env["ir.model.access"].sudo().with_context(active_test=False).search([], order="id")
    rows = [
        {
            "id": a.id,
            "xml_id": names.get(a.id, [None])[0],
            "name": a.name,
            "model": a.model_id.model,
            "group_id": a.group_id.id or None,
            "group": groups.get(a.group_id.id, [None])[0] if a.group_id else None,
            **{f"perm_{m}": a[f"perm_{m}"] for m in MODES},
            "active": a.active,
        }
        for a in acls
    ]
    return {"database": database, "count": len(rows), "acls": rows}


# login -> the names of the companies its requests allow, where they are not all of the
# user's companies with its main one first (the second database's users, build_db.py)
ALLOWED: dict[str, tuple[str, ...]] = {}


def allowed_companies(env: Any, user: Any) -> list[int]:
    """The companies of a request of `user`: `ALLOWED`'s if named there, else its own
    companies, its main one first."""
    if user.login in ALLOWED:
        names = ALLOWED[user.login]
        found = env["res.company"].search([("name", "in", names)])
        by_name = {c.name: c.id for c in found}
        return [by_name[name] for name in names]
    return [user.company_id.id] + [c for c in user.company_ids.ids if c != user.company_id.id]


def user_env(env: Any, user: Any) -> Any:
    """The environment of a request of `user` (`allowed_companies`)."""
    companies = allowed_companies(env, user)
    return env(user=user.id, context={"allowed_company_ids": companies, "active_test": False})


def user_json(env: Any, user: Any) -> dict[str, Any]:
    uenv = user_env(env, user)
    groups = user_groups(user).sorted("id")
    return {
        "id": user.id,
        "login": user.login,
        "name": user.name,
        "share": user.share,
        "active": user.active,
        "company_id": user.company_id.id,
        "company_ids": sorted(user.company_ids.ids),
        "allowed_company_ids": uenv.context["allowed_company_ids"],
        "env_company_id": uenv.company.id,
        "env_company_ids": uenv.companies.ids,
        "group_ids": groups.ids,
        "groups": sorted(filter(None, (xml_id(g) for g in groups))),
        "partner_id": user.partner_id.id,
        "commercial_partner_id": user.partner_id.commercial_partner_id.id,
        "employee_ids": user.employee_ids.ids if "employee_ids" in user._fields else [],
        "env_su": uenv.su,
        "is_superuser": uenv.is_superuser(),
        "is_admin": uenv.is_admin(),
        "is_system": uenv.is_system(),
        "superuser_like": uenv.is_superuser() or uenv.su,
    }


def ruled_models(env: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Models with an active rule: those with a table of their own, and the others with why."""
    rules = env["ir.rule"].sudo().search([("active", "=", True)], order="id")
    by_model: dict[str, list[int]] = {}
    for rule in rules:
        by_model.setdefault(rule.model_id.model, []).append(rule.id)
    models: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name in sorted(by_model):
        if name not in env:
            skipped[name] = "not in the registry"
            continue
        model = env[name]
        if model._abstract:
            skipped[name] = "abstract"
            continue
        if not model._auto:
            skipped[name] = "not _auto (SQL view / manual table)"
            continue
        env.cr.execute(f'SELECT count(*) FROM "{model._table}"')
        models[name] = {
            "table": model._table,
            "row_count": env.cr.fetchone()[0],
            "active_rule_ids": by_model[name],
            "inherits": dict(model._inherits),
            "has_active_field": model._active_name,
        }
    return models, skipped


def sql_ids(model: Any, domain: list[Any]) -> list[int]:
    """The ids the domain's SQL selects on the bare table (what rules add to a query)."""
    try:
        from odoo.osv import expression

        query = expression.expression(domain, model).query
    except ImportError:  # 19.0: no expression module, the Domain compiles itself
        from odoo.orm.domains import Domain

        query = model._as_query(ordered=False)
        query.add_where(Domain(domain)._to_sql(model, model._table, query))
    model.env.cr.execute(query.select())
    return sorted(row[0] for row in model.env.cr.fetchall())


def oracle(env: Any, database: str, logins: tuple[str, ...]) -> dict[str, Any]:
    import odoo

    models, skipped = ruled_models(env)
    stats = {
        "combos": 0,
        "errors": 0,
        "diff_sql_expression": 0,
        "diff_filtered_domain": 0,
        "filtered_domain_skipped": 0,
    }
    users: dict[str, Any] = {}
    results: dict[str, Any] = {}
    all_rows = {
        name: env[name].sudo().with_context(active_test=False).search([], order="id")
        for name in models
    }
    for login in logins:
        user = env["res.users"].with_context(active_test=False).search([("login", "=", login)])
        if len(user) != 1:
            raise SystemExit(f"user {login!r} not found")
        users[login] = user_json(env, user)
        uenv = user_env(env, user)
        results[login] = {}
        for name in models:
            results[login][name] = {}
            for mode in MODES:
                stats["combos"] += 1
                entry: dict[str, Any] = {}
                try:
                    domain = domain_list(uenv["ir.rule"]._compute_domain(name, mode))
                    rule_ids = uenv["ir.rule"]._get_rules(name, mode=mode).ids
                    target = uenv[name].sudo().with_context(active_test=False)
                    ids = target.search(domain or [], order="id").ids
                    entry = {
                        "domain": str(domain),
                        "rule_ids": sorted(rule_ids),
                        "ids": ids,
                        "count": len(ids),
                        "unrestricted": not domain,
                    }
                    by_sql = sql_ids(target, domain) if domain else ids
                    if by_sql != ids:
                        stats["diff_sql_expression"] += 1
                        entry["ids_sql_expression"] = by_sql
                    rows = all_rows[name]
                    if len(rows) > FILTERED_DOMAIN_MAX_ROWS:
                        stats["filtered_domain_skipped"] += 1
                    else:
                        in_memory = rows.with_env(target.env).filtered_domain(domain or []).ids
                        if sorted(in_memory) != ids:
                            stats["diff_filtered_domain"] += 1
                            entry["ids_filtered_domain"] = sorted(in_memory)
                except Exception as exc:  # recorded, never hidden
                    stats["errors"] += 1
                    env.cr.rollback()
                    entry = {**entry, "error": f"{type(exc).__name__}: {exc}"}
                results[login][name][mode] = entry
    series = odoo.release.series
    return {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "odoo_version": series,
        "database": database,
        "method": {
            "env": "env(user=u.id, context={'allowed_company_ids': [u.company_id] + other "
            "u.company_ids, 'active_test': False})",
            "domain": "env_u['ir.rule']._compute_domain(model, mode)  (non-sudo; includes "
            "_inherits parents' rules)",
            "ids": "env_u[model].sudo().with_context(active_test=False).search(domain or [], "
            "order='id').ids",
            "ids_sql_expression": "only present when different from ids: expression(domain, "
            "env_u[model].sudo()) on the bare table, i.e. exactly what "
            "BaseModel._apply_ir_rules adds (no model-specific _search overrides)",
            "ids_filtered_domain": "only present when different from ids: "
            "all_rows.sudo().filtered_domain(domain), i.e. what the access check on given "
            f"records uses in Odoo {series}",
            "filtered_domain_max_rows": FILTERED_DOMAIN_MAX_ROWS,
            "modes": list(MODES),
        },
        "stats": stats,
        "users": users,
        "models": models,
        "skipped_models": skipped,
        "results": results,
    }


# Domains whose SQL differs between Odoo versions (docs/semantics.md, "Odoo versions"):
# each is searched as the oracle searches (sudo, active_test=False) and kept with its ids.
PROBES: tuple[tuple[str, str], ...] = (
    ("res.partner", "[('parent_id', '=', 0)]"),
    ("res.partner", "[('color', '=', False)]"),
    ("res.partner", "[('color', '!=', False)]"),
    ("res.partner", "[('color', 'in', [False, 3])]"),
    ("res.partner", "[('color', 'not in', [False, 3])]"),
    ("res.partner", "[('color', '=', 0)]"),
    ("res.partner", "[('color', '>=', 0)]"),
    ("res.partner", "[('color', '<', 1)]"),
    ("res.partner", "[('ref', '=', '')]"),
    ("res.partner", "[('ref', 'in', ['', False])]"),
    ("res.partner", "[('email', 'like', '')]"),
    ("res.partner", "[('email', 'not like', '')]"),
    ("res.partner", "[('email', 'not ilike', '')]"),
    ("res.partner", "[('email', '=like', '')]"),
    ("res.partner", "['!', ('parent_id', '=?', 10)]"),
    ("res.partner", "['!', ('parent_id', '=?', False)]"),
    ("res.partner", "['!', ('parent_id.name', '=', 'Deco Addict')]"),
    ("res.partner", "[('parent_id.name', '!=', 'Deco Addict')]"),
    ("res.partner", "[('is_company', 'in', [True])]"),
    ("res.partner", "[('is_company', 'not in', [False])]"),
    ("res.partner", "[('partner_latitude', '=', False)]"),
    ("account.move.line", "[('balance', '=', False)]"),
    ("account.move.line", "[('balance', '<=', 0)]"),
    ("account.move.line", "[('balance', 'in', [0, 240])]"),
    ("sale.order", "[('date_order', '>', '{day}')]"),
    ("sale.order", "[('date_order', '<=', '{day}')]"),
    ("sale.order", "[('create_date', '>', '{day}')]"),
)


def probes(env: Any) -> dict[str, Any]:
    """Each probe domain's ids, searched as the oracle searches."""
    env.cr.execute("SELECT max(create_date)::date::text FROM sale_order")
    day = env.cr.fetchone()[0]
    rows = []
    for model, text in PROBES:
        domain_text = text.format(day=day)
        domain = eval(domain_text)  # the literals above
        ids = env[model].sudo().with_context(active_test=False).search(domain, order="id").ids
        rows.append({"model": model, "domain": domain_text, "ids": ids})
    return {"probes": rows}


def load_odoo(src: str) -> Any:
    """The `odoo` package of the tree `src`, initialised: 19.0 made `odoo` a namespace package
    that `odoo.init` sets up; 17.0 and 18.0 set themselves up on import."""
    sys.path.insert(0, src)
    import odoo

    with contextlib.suppress(ImportError):
        import odoo.init
    import odoo.api
    import odoo.modules.registry
    import odoo.release
    import odoo.tools

    return odoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--odoo-src", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--db-host", required=True)
    parser.add_argument("--db-port", default="5432")
    parser.add_argument("--db-user", default="odoo")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--users", default=",".join(USERS))
    parser.add_argument("--probes-only", action="store_true", help="write probes.json only")
    parser.add_argument(
        "--second",
        action="store_true",
        help="the second database (tests/data/second/): its users too, with their companies",
    )
    opts = parser.parse_args()
    if opts.second:
        sys.path.insert(0, str(Path(__file__).parent))
        from build_db import SECOND_ALLOWED

        ALLOWED.update(SECOND_ALLOWED)
        if opts.users == ",".join(USERS):
            opts.users = ",".join((*USERS, *SECOND_ALLOWED))
    odoo = load_odoo(opts.odoo_src)

    odoo.tools.config.parse_config(
        [
            "-d", opts.database, f"--db_host={opts.db_host}", f"--db_port={opts.db_port}",
            f"--db_user={opts.db_user}",
            f"--addons-path={opts.odoo_src}/addons,{opts.odoo_src}/odoo/addons",
        ]
    )  # fmt: skip
    registry = odoo.modules.registry.Registry(opts.database)
    opts.out.mkdir(parents=True, exist_ok=True)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, 1, {})  # the superuser
        outputs = {"probes.json": {"database": opts.database, **probes(env)}}
        if not opts.probes_only:
            outputs["rules.json"] = rules_json(env, opts.database)
            outputs["acl.json"] = acl_json(env, opts.database)
            outputs["oracle.json"] = oracle(env, opts.database, tuple(opts.users.split(",")))
        cr.rollback()  # the recording changes nothing
    for name, data in outputs.items():
        (opts.out / name).write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {opts.out / name}")


if __name__ == "__main__":
    main()
