"""`pgpolicy like-leakproof` cannot be steered to another function by an operator the app
role creates, and `off` (or removing the runtime) puts back exactly what was there."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from click.testing import CliRunner

from pgpolicy.cli import cli
from pgpolicy.deploy import runtime
from pgpolicy.deploy.leakproof import like_functions
from tests.conftest import Database

LEAKPROOF = """
SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
 WHERE p.proleakproof ORDER BY 1
"""


def leakproof(dsn: str) -> set[str]:
    """Every LEAKPROOF function of the database."""
    with psycopg.connect(dsn) as conn:
        return {name for (name,) in conn.execute(LEAKPROOF)}


def like_leakproof(dsn: str, state: str) -> None:
    result = CliRunner().invoke(cli, ["like-leakproof", state, "--dsn", dsn])
    assert result.exit_code == 0, result.output


def test_an_operator_outside_pg_catalog_steers_nothing_and_off_restores_exactly(
    odoo_db: Database,
    app_role: str,
    app_dsn: Callable[[Database], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    runtime.install(odoo_db.dsn, [app_role])
    with psycopg.connect(odoo_db.dsn, autocommit=True) as conn:
        conn.execute(f'GRANT CREATE ON SCHEMA public TO "{app_role}"')
        like = like_functions(conn)
        # one LIKE function already LEAKPROOF before pgpolicy: `off` must leave it so
        conn.execute(f"ALTER FUNCTION pg_catalog.{like[0].signature} LEAKPROOF")
    with psycopg.connect(app_dsn(odoo_db), autocommit=True) as app:
        assert_rls_effective(app)
        app.execute(
            "CREATE OPERATOR public.~~ (LEFTARG = text, RIGHTARG = text,"
            " FUNCTION = pg_catalog.to_date)"
        )
    before = leakproof(odoo_db.dsn)
    assert "to_date(text,text)" not in before

    like_leakproof(odoo_db.dsn, "on")
    marked = leakproof(odoo_db.dsn)
    assert "to_date(text,text)" not in marked
    assert marked - before == {f.signature for f in like[1:]}

    like_leakproof(odoo_db.dsn, "off")
    assert leakproof(odoo_db.dsn) == before

    like_leakproof(odoo_db.dsn, "on")
    assert leakproof(odoo_db.dsn) == marked
    runtime.uninstall(odoo_db.dsn)  # alembic downgrade base
    assert leakproof(odoo_db.dsn) == before


def test_on_needs_the_runtime_that_records_it(odoo_db: Database) -> None:
    result = CliRunner().invoke(cli, ["like-leakproof", "on", "--dsn", odoo_db.dsn])
    assert result.exit_code == 1
    assert "run pgpolicy init" in str(result.exception or result.output)
    with psycopg.connect(odoo_db.dsn) as conn:
        assert all(not f.leakproof for f in like_functions(conn))
