"""Record what a real Odoo ORM (17.0, 18.0, 19.0) returns for each generated domain (the
differential's oracle).

Run with Odoo's own Python, never imported by the test suite:

    $ODOO_PYTHON tests/differential/record_odoo.py --odoo-src $ODOO_SRC \\
        --db odoo18 --db-host /socket/dir --db-port 5432 --db-user postgres \\
        --domains domains.json --out tests/differential/odoo18.json.gz

For each case it runs, in a savepoint rolled back afterwards,

    env[model].sudo().with_context(active_test=False).search(domain, order='id')

as record rules are evaluated (superuser, archived records included), and stores the ids,
or the class and first line of the exception Odoo raises. Messages Odoo logs while it
searches (e.g. a field it cannot search and ignores) are kept beside the result.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import logging
import sys
import time


class Collect(logging.Handler):
    """Keeps the warnings and errors Odoo logs during one search."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}".splitlines()[0][:300])


def main() -> None:
    parser = argparse.ArgumentParser(description="Record Odoo's search results for domains")
    parser.add_argument(
        "--odoo-src", required=True, help="an unmodified Odoo 17.0, 18.0 or 19.0 source tree"
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--db-host", required=True)
    parser.add_argument("--db-port", default="5432")
    parser.add_argument("--db-user", default="postgres")
    parser.add_argument("--domains", help="the generator's output")
    parser.add_argument("--out", help="the oracle (.json.gz)")
    parser.add_argument("--facts", help="write the ORM facts pgpolicy needs (JSON) instead")
    args = parser.parse_args()

    sys.path.insert(0, args.odoo_src)
    import contextlib

    import odoo

    with contextlib.suppress(ImportError):
        import odoo.init  # 19.0: `odoo` is a namespace package that `odoo.init` sets up
    import odoo.api
    import odoo.modules.registry
    import odoo.release
    from odoo.tools import config

    config.parse_config(
        [
            "-d", args.db, "--db_host", args.db_host, "--db_port", args.db_port,
            "--db_user", args.db_user, "--log-level", "error", "--no-http",
            f"--addons-path={args.odoo_src}/addons,{args.odoo_src}/odoo/addons",
        ]
    )  # fmt: skip
    if args.facts:
        registry = odoo.modules.registry.Registry(args.db)
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            facts = orm_facts(env, odoo.models.BaseModel, odoo.release.series)
        with open(args.facts, "w") as out:
            json.dump(facts, out, indent=0, sort_keys=True)
            out.write("\n")
        return
    collect = Collect()
    logging.getLogger("odoo").addHandler(collect)
    with open(args.domains) as source:
        generated = json.load(source)
    cases = generated["cases"]
    registry = odoo.modules.registry.Registry(args.db)
    started = time.monotonic()
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, 1, {})  # the superuser
        meta = {
            "odoo": odoo.release.version,
            "uid": env.uid,
            "company_id": env.company.id,
            "lang": env.lang or "en_US",
            "seed": generated["seed"],
            "count": generated["count"],
            "call": "env[model].sudo().with_context(active_test=False).search(domain, order='id')",
        }
        for case in cases:
            collect.messages = []
            domain = ast.literal_eval(case["domain"])
            try:
                with cr.savepoint():
                    records = env[case["model"]].sudo().with_context(active_test=False)
                    case["ids"] = records.search(domain, order="id").ids
            except Exception as exc:
                message = str(exc).strip().splitlines()
                case["error"] = type(exc).__name__
                case["message"] = message[0][:300] if message else ""
            env.invalidate_all()
            if collect.messages:
                case["logged"] = collect.messages
        cr.rollback()
    rejected = sum(1 for case in cases if "error" in case)
    data = {"meta": meta, "cases": cases}
    with gzip.open(args.out, "wt", compresslevel=9) as out:
        json.dump(data, out, separators=(",", ":"))
        out.write("\n")
    print(
        f"{len(cases)} domains, {rejected} rejected ({100 * rejected / len(cases):.1f} %), "
        f"{time.monotonic() - started:.0f} s"
    )


def comodel_domain(field, model) -> list:
    """The x2many field's own domain as a list: `get_domain_list` up to 18.0, 19.0's
    `get_comodel_domain` (a `Domain`, with the `res_model` of a many2one_reference inverse)."""
    if not hasattr(field, "get_comodel_domain"):
        return field.get_domain_list(model)
    domain = field.get_comodel_domain(model)
    if domain.is_true():
        return []
    return [item if isinstance(item, str) else [item[0], item[1], item[2]] for item in list(domain)]


def orm_facts(env, base_model, series: str) -> dict:
    """What searching by name and on relational fields needs and `ir_model_fields` lacks:
    each model's name-search fields (`_rec_names_search` or `_rec_name`, and whether
    `_search_display_name` is overridden), the domains of x2many fields, and the fields
    searched through a join (`auto_join`)."""
    names, domains, auto_join = {}, {}, {}
    for name in sorted(env.registry):
        model = env[name]
        if model._abstract or not model._auto:
            continue
        custom = type(model)._search_display_name is not base_model._search_display_name
        names[name] = {
            "fields": list(
                model._rec_names_search or ([model._rec_name] if model._rec_name else [])
            ),
            "custom": custom,
        }
        for fname, field in sorted(model._fields.items()):
            if field.store and getattr(field, "auto_join", False):
                auto_join.setdefault(name, []).append(fname)
            if field.type not in ("one2many", "many2many"):
                continue
            try:
                domain = comodel_domain(field, model)
                json.dumps(domain)
            except Exception as exc:  # a domain that is not data
                domain = f"unknown: {type(exc).__name__}: {exc}"[:200]
            if domain:
                domains.setdefault(name, {})[fname] = (
                    [list(d) if isinstance(d, tuple) else d for d in domain]
                    if isinstance(domain, list)
                    else domain
                )
    broken = {
        m: fs for m, fs in domains.items() if any(not isinstance(d, list) for d in fs.values())
    }
    domains = {m: {f: d for f, d in fs.items() if isinstance(d, list)} for m, fs in domains.items()}
    return {
        "about": (
            f"Facts of Odoo {series}'s ORM that ir_model_fields does not hold, read from a"
            " registry (tests/differential/record_odoo.py --facts): each model's name-search fields"
            " (_rec_names_search, else _rec_name) and whether _search_display_name is"
            " overridden; the domains of x2many fields (get_domain_list, 19.0:"
            " get_comodel_domain) and those whose domain Odoo cannot compute (x2many_broken);"
            " auto_join fields (none in 19.0, whose ORM has no join for them)."
        ),
        "names": names,
        "x2many_domains": {m: fs for m, fs in domains.items() if fs},
        "x2many_broken": {
            m: sorted(f for f, d in fs.items() if not isinstance(d, list))
            for m, fs in broken.items()
        },
        "auto_join": auto_join,
    }


if __name__ == "__main__":
    main()
