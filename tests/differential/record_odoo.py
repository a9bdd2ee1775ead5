"""Record what a real Odoo 18 ORM returns for each generated domain (the differential's oracle).

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
    parser = argparse.ArgumentParser(description="Record Odoo 18's search results for domains")
    parser.add_argument("--odoo-src", required=True, help="an unmodified Odoo 18.0 source tree")
    parser.add_argument("--db", required=True)
    parser.add_argument("--db-host", required=True)
    parser.add_argument("--db-port", default="5432")
    parser.add_argument("--db-user", default="postgres")
    parser.add_argument("--domains", required=True, help="the generator's output")
    parser.add_argument("--out", required=True, help="the oracle (.json.gz)")
    args = parser.parse_args()

    sys.path.insert(0, args.odoo_src)
    import odoo
    from odoo.tools import config

    config.parse_config(
        [
            "-d", args.db, "--db_host", args.db_host, "--db_port", args.db_port,
            "--db_user", args.db_user, "--log-level", "error", "--no-http",
            f"--addons-path={args.odoo_src}/addons,{args.odoo_src}/odoo/addons",
        ]
    )  # fmt: skip
    collect = Collect()
    logging.getLogger("odoo").addHandler(collect)
    with open(args.domains) as source:
        generated = json.load(source)
    cases = generated["cases"]
    registry = odoo.modules.registry.Registry(args.db)
    started = time.monotonic()
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
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


if __name__ == "__main__":
    main()
