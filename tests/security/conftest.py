"""Fixtures of the security suite: the enforced Odoo database, with each implementation of the
plan-time functions, and the app role's connection to it with row-level security asserted.

`PGPOLICY_SECURITY_BASELINE=5` runs the suite against runtime revision 5 instead (the
database downgraded, SQL plan-time functions): each attack must then succeed, which is how
the tests show that they fail without the fixes (`pytest tests/security -k "planner-sql"`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from alembic import command
from pgpolicy.deploy import runtime
from tests.conftest import Database, use_planner
from tests.test_oracle import allowed_ids

PROTECTED = ["sale_order", "res_partner"]
BASELINE = os.environ.get("PGPOLICY_SECURITY_BASELINE")


def downgrade_to(dsn: str, revision: str) -> None:
    """The runtime of `dsn` downgraded to `revision` (the policies stay)."""
    with runtime._migration(dsn) as (config, _conn):
        command.downgrade(config, revision)


@pytest.fixture(params=["sql", "c"], ids=lambda planner: f"planner-{planner}")
def planner(request: pytest.FixtureRequest) -> str:
    """The implementation of the plan-time functions the attack runs against."""
    planner: str = request.param
    return planner


@pytest.fixture
def secured_db(enforced_db: Database, planner: str, request: pytest.FixtureRequest) -> Database:
    """The enforced Odoo clone with the `planner` implementation in place."""
    if BASELINE:
        if planner == "c":
            pytest.skip("the baseline runs with the SQL plan-time functions only")
        downgrade_to(enforced_db.dsn, "000" + BASELINE)
        return enforced_db
    use_planner(request, enforced_db, planner)
    return enforced_db


@pytest.fixture
def connect_app(
    secured_db: Database, app_dsn: Callable[[Database], str], assert_rls_effective: Any
) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """`connect_app(**kwargs)`: a new connection as the app role, RLS asserted effective."""
    opened: list[psycopg.Connection[Any]] = []

    def connect(**kwargs: Any) -> psycopg.Connection[Any]:
        conn = psycopg.connect(app_dsn(secured_db), **kwargs)
        opened.append(conn)
        assert_rls_effective(conn, PROTECTED)
        if not conn.autocommit:
            conn.rollback()
        return conn

    yield connect
    for conn in opened:
        conn.close()


@pytest.fixture
def app(connect_app: Callable[..., psycopg.Connection[Any]]) -> psycopg.Connection[Any]:
    """A connection as the app role (one query string may hold several statements)."""
    return connect_app(cursor_factory=psycopg.ClientCursor)


@pytest.fixture
def visible(oracle: dict[str, Any]) -> Callable[[str, str], set[int]]:
    """`visible(login, model)`: the ids Odoo lets the user read (the oracle)."""

    def ids(login: str, model: str) -> set[int]:
        return set(allowed_ids(oracle, login, model))

    return ids


@pytest.fixture
def uid_of(oracle: dict[str, Any]) -> Callable[[str], tuple[int, list[int]]]:
    """`uid_of(login)`: the user's id and allowed companies."""

    def of(login: str) -> tuple[int, list[int]]:
        user = oracle["users"][login]
        return int(user["id"]), list(user["allowed_company_ids"])

    return of


@pytest.fixture(params=["sql", "c"], ids=lambda planner: f"planner-{planner}")
def db(request: pytest.FixtureRequest, owned_db: Database) -> Database:
    """The Odoo database owned by a non-superuser and enforced (`owned_db`), with either
    implementation of the plan-time functions."""
    use_planner(request, owned_db, request.param)
    return owned_db
