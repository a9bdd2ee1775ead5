"""Record what Odoo 18's ORM makes of each `domain_force` of tests/rule_eval_cases.py.

Run with Odoo's own Python, on a database restored from the shared dump
(`pg_restore --no-owner -d DB ../shared/odoo18/odoo18.dump`):

    $PGPOLICY_ODOO_PYTHON tests/record_rule_eval.py --odoo $PGPOLICY_ODOO_SRC \\
        --db DB --db-host SOCKET_DIR --db-port PORT > tests/data/rule_eval_oracle.json

For each case and each user of the shared oracle, as `ir.rule._compute_domain` does:
the domain is `safe_eval(domain_force, ir.rule._eval_context())` in the user's
environment (the allowed companies of the shared oracle), and the ids are those of
`search(domain)` in sudo with `active_test=False`. A case Odoo refuses to evaluate or
search records the exception's class instead of ids.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--odoo", required=True, help="an unmodified Odoo 18 source tree")
    parser.add_argument("--db", required=True)
    parser.add_argument("--db-host", required=True)
    parser.add_argument("--db-port", default="5432")
    parser.add_argument("--db-user", default="postgres")
    args = parser.parse_args()
    sys.path.insert(0, args.odoo)
    sys.path.insert(0, str(HERE))
    import odoo  # type: ignore[import-not-found]
    from odoo.tools.safe_eval import safe_eval  # type: ignore[import-not-found]
    from rule_eval_cases import CASES  # type: ignore[import-not-found]

    addons = f"{args.odoo}/addons,{args.odoo}/odoo/addons"
    odoo.tools.config.parse_config(
        [
            f"--addons-path={addons}",
            f"--db_host={args.db_host}",
            f"--db_port={args.db_port}",
            f"--db_user={args.db_user}",
            "--log-level=warn",
        ]
    )
    oracle = json.loads((HERE.parent.parent / "shared" / "odoo18" / "oracle.json").read_text())
    registry = odoo.modules.registry.Registry(args.db)
    results: list[dict[str, Any]] = []
    with registry.cursor() as cr:
        for model, text in CASES:
            by_user: dict[str, Any] = {}
            for login, user in oracle["users"].items():
                context = {"allowed_company_ids": user["allowed_company_ids"]}
                env = odoo.api.Environment(cr, user["id"], context)
                try:
                    domain = safe_eval(text, env["ir.rule"]._eval_context())
                    records = env[model].sudo().with_context(active_test=False)
                    by_user[login] = records.search(domain, order="id").ids
                except Exception as exc:  # Odoo refuses the rule: its users get an error
                    by_user[login] = {"error": type(exc).__name__}
                    cr.rollback()
            results.append({"model": model, "domain_force": text, "ids": by_user})
    json.dump({"odoo": "18.0", "cases": results}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
