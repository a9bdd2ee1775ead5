"""Values SQL cannot hold are refused when compiling, naming the rule and the token; an apply
that waits too long for a lock says which table it waited for."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pgpolicy.compiler.predicate import literal
from pgpolicy.compiler.spec import PolicySet
from pgpolicy.deploy.apply import apply_policy_set
from pgpolicy.deploy.policy_set import build_policy_set
from pgpolicy.errors import CompileError, PgPolicyError
from pgpolicy.odoo.domain import parse_rule_domain
from pgpolicy.odoo.metadata import read_catalog
from tests.conftest import Database, EnforcedTemplate

# A record rule on sale.order for the group "User: Own Documents Only", as Odoo stores one.
ADD_RULE = """
INSERT INTO public.ir_rule (name, model_id, domain_force, active, perm_read, perm_write,
                            perm_create, perm_unlink)
SELECT %s, m.id, %s, true, true, true, true, true
  FROM public.ir_model m WHERE m.model = 'sale.order'
RETURNING id
"""


def add_rule(conn: psycopg.Connection[Any], name: str, domain: str) -> int:
    row = conn.execute(ADD_RULE, [name, domain]).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    "domain, token",
    [
        ("[('amount_total', '>', 1e999)]", "1e999"),
        ("[('amount_total', 'in', [1, -1e999])]", "1e999"),
        ("[('name', '=', 'S00\\x0012')]", "'S00\\x0012'"),
    ],
)
def test_compile_refuses_values_sql_cannot_hold_naming_rule_and_token(
    odoo_db: Database, app_role: str, domain: str, token: str
) -> None:
    with psycopg.connect(odoo_db.dsn) as conn:
        rule_id = add_rule(conn, "not representable", domain)
        policy_set = build_policy_set(read_catalog(conn), [app_role])
    errors = [e for e in policy_set.errors if e.rule is not None and e.rule.id == rule_id]
    assert len(errors) == 1, [str(e) for e in policy_set.errors]
    message = str(errors[0])
    assert f"ir.rule {rule_id}" in message and f"token {token!r}" in message, message


@pytest.mark.parametrize(
    "text", ["[('name', '=', 'a\x00b')]", "[('name', '=', 'a')]\x00", "[('x', '=', 1e400)]"]
)
def test_the_domain_parser_refuses_nul_and_infinite_numbers(text: str) -> None:
    with pytest.raises(CompileError) as caught:
        parse_rule_domain(text)
    assert caught.value.token is not None


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), "a\x00b"])
def test_no_sql_literal_for_what_sql_cannot_hold(value: object) -> None:
    with pytest.raises(CompileError):
        literal(value)


def test_strings_are_quoted_whatever_standard_conforming_strings(odoo_db: Database) -> None:
    """A backslash before a quote cannot end a literal, even with the setting off."""
    value = "\\'; SELECT 1; --"
    with psycopg.connect(odoo_db.dsn) as conn:
        for setting in ("on", "off"):
            conn.execute(f"SET standard_conforming_strings = {setting}")
            row = conn.execute(f"SELECT {literal(value)}").fetchone()
            assert row == (value,)


def test_a_lock_timeout_names_the_table_it_waited_for(
    enforced_db: Database, enforced_template: EnforcedTemplate, app_role: str
) -> None:
    policy_set: PolicySet = enforced_template.policy_set
    with psycopg.connect(enforced_db.dsn, autocommit=True) as conn:
        conn.execute("ALTER POLICY pgpolicy_read_rule_254 ON sale_order USING (true)")
    with psycopg.connect(enforced_db.dsn) as holder:
        holder.execute("LOCK TABLE sale_order IN ACCESS SHARE MODE")
        with pytest.raises(PgPolicyError) as caught:
            apply_policy_set(enforced_db.dsn, policy_set, [app_role], lock_timeout="200ms")
    message = str(caught.value)
    assert "lock timeout (200ms)" in message and "table public.sale_order" in message
    assert "\n" not in message
