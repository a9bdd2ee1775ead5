"""The ORM's own SQL for the benchmark's users: run by Odoo 18's Python, prints JSON.

For each (user, allowed companies, model) this asks a real Odoo 18 registry on the
benchmark database for the query the ORM sends, twice:

- `w`:   as the user (`with_user`), so with the WHERE clause Odoo's record rules add,
         in the ORM's own shape (`id IN (SELECT res_id FROM mail_followers ...)`,
         `child_of` expanded to ids, ...): the hand-written baseline of `run.py`;
- `rls`: the same search in sudo (no record rules): what the application sends when
         the rules are enforced by the database instead.

The kinds are a list page (the model's `_order`, 80 rows), a count, a point read of
the highest id the user may read, and a name search (`ilike` on the model's
`_rec_name`, 8 rows) for that record's name. Nothing is written; the transaction is
rolled back. `run.py` calls this script (`--odoo-src`, `--odoo-python`).

    /path/to/odoo-venv/bin/python bench/orm_queries.py --odoo-src /path/to/odoo-18 \\
        --db-host /tmp/bench_pg15 --db-port 5510 --dbname pgpolicy_bench > queries.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# (uid, allowed company ids, why): the users `run.py` measures besides user 15
USERS = (
    (21, [1], "portal user (portal_user)"),
    (16, [2, 1], "multi-company manager (salesmgr_ab)"),
    (17, [2], "accountant in company 2 (accountant_b)"),
)
MODELS = ("sale.order", "account.move", "project.task", "res.partner", "stock.picking")
READ_FIELDS = 6  # the first stored columns of the model's list of fields, besides id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--odoo-src", required=True)
    parser.add_argument("--db-host", required=True)
    parser.add_argument("--db-port", default="5432")
    parser.add_argument("--db-user", default="postgres")
    parser.add_argument("--dbname", required=True)
    parser.add_argument(
        "--extra",
        default="",
        help="more users: uid:company,company:label;… (e.g. a user following many records)",
    )
    parser.add_argument("--extra-models", default="sale.order")
    args = parser.parse_args()
    sys.path.insert(0, args.odoo_src)
    import odoo  # only importable from Odoo's interpreter
    from odoo.tools import SQL

    odoo.tools.config.parse_config(
        [
            f"--db_host={args.db_host}",
            f"--db_port={args.db_port}",
            f"--db_user={args.db_user}",
            f"--addons-path={args.odoo_src}/addons,{args.odoo_src}/odoo/addons",
        ]
    )
    users = [(uid, companies, why, MODELS) for uid, companies, why in USERS]
    for item in filter(None, args.extra.split(";")):
        uid, companies, why = item.split(":", 2)
        ids = [int(c) for c in companies.split(",")]
        users.append((int(uid), ids, why, tuple(args.extra_models.split(","))))
    registry = odoo.modules.registry.Registry(args.dbname)
    out: list[dict[str, Any]] = []
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, 1, {})

        def text(query: Any) -> str:
            code, params = query
            return cr.mogrify(code, params).decode()

        for uid, companies, why, models in users:
            for model in models:
                user = env[model].with_user(uid).with_context(allowed_company_ids=companies)
                sudo = user.sudo()
                table = user._table
                columns = [
                    f.name
                    for f in user._fields.values()
                    if f.store and f.column_type and f.name != "id"
                ][:READ_FIELDS]
                select = SQL(", ").join(SQL.identifier(table, c) for c in ["id", *columns])
                top = user._search([], order="id DESC", limit=1)
                cr.execute(*top.select())
                row = cr.fetchone()
                if row is None:
                    continue
                record = row[0]
                name_field = user._rec_name or "id"
                cr.execute(
                    SQL("SELECT %s FROM %s WHERE id = %s", SQL.identifier(name_field),
                        SQL.identifier(table), record)
                )  # fmt: skip
                name = cr.fetchone()[0]
                if isinstance(name, dict):
                    name = name.get("en_US")
                base = {"user": uid, "companies": companies, "who": why, "model": model}
                kinds: list[tuple[str, Any, Any]] = []
                for label, env_model in (("w", user), ("rls", sudo)):
                    lst = env_model._search([], order=env_model._order, limit=80)
                    cnt = env_model._search([])
                    read = env_model._search([("id", "=", record)])
                    kinds.append((label, "list page", text(lst.select("id"))))
                    kinds.append((label, "count", text(cnt.select(SQL("count(*)")))))
                    kinds.append((label, "point read", text(read.select(select))))
                    if isinstance(name, str) and name:
                        found = env_model._search(
                            [(name_field, "ilike", name)], order=env_model._order, limit=8
                        )
                        kinds.append((label, "name search", text(found.select("id"))))
                by_kind: dict[str, dict[str, Any]] = {}
                for label, kind, sql in kinds:
                    by_kind.setdefault(kind, {**base, "kind": kind})[label] = sql
                out.extend(by_kind.values())
        cr.rollback()
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
