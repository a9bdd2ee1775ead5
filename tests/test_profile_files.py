"""Profile files: every error names the file, the line and the key; the canonical form
reads back to itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgpolicy.errors import PgPolicyError
from pgpolicy.profiles.model import ProfileError, dump_profiles, load_profile_files, parse_profiles

GOOD = """\
profiles:
  - name: sales-eu
    description: Salespeople of the EU team
    members:
      logins: [salesman_a]
      groups: [sales_team.group_sale_salesman]
    companies: [1]
    active_from: 2026-01-01T00:00:00Z
    active_until: '2027-01-01T00:00:00+01:00'
    strict: true
    models:
      sale.order:
        read: "[('company_id', '=', __cid__)]"
        delete: false
        locked_fields: [partner_id]
      '*':
        write: false
"""

# (file text, line, key, words of the reason)
BAD = [
    ("", 1, "profiles", "empty"),
    ("profile:\n  - name: a\n", 1, "profile", "unknown key"),
    ("profiles: {name: a}\n", 1, "profiles", "must be a list"),
    ("profiles:\n  - description: x\n", 2, "profiles[0].name", "missing"),
    ("profiles:\n  - name: Sales\n", 2, "profiles[0].name", "not a profile name"),
    ("profiles:\n  - name: a\n  - name: a\n", 3, "profiles[1].name", "already defined at line 2"),
    ("profiles:\n  - name: a\n    colour: red\n", 3, "profiles[0].colour", "unknown key"),
    ("profiles:\n  - name: a\n    name: b\n", 3, "profiles[0].name", "repeated key"),
    ("profiles:\n  - name: a\n    strict: maybe\n", 3, "profiles[a].strict", "true or false"),
    (
        "profiles:\n  - name: a\n    active_from: 2026-01-01\n",
        3,
        "profiles[a].active_from",
        "timestamp",
    ),
    (
        "profiles:\n  - name: a\n    active_from: '2026-01-01T00:00:00'\n",
        3,
        "profiles[a].active_from",
        "time zone",
    ),
    (
        "profiles:\n  - name: a\n    active_from: 2026-02-01T00:00:00Z\n"
        "    active_until: 2026-01-01T00:00:00Z\n",
        4,
        "profiles[a].active_until",
        "after active_from",
    ),
    (
        "profiles:\n  - name: a\n    companies: [one]\n",
        3,
        "profiles[a].companies",
        "positive integers",
    ),
    (
        "profiles:\n  - name: a\n    members:\n      users: [x]\n",
        4,
        "profiles[a].members.users",
        "unknown key",
    ),
    (
        "profiles:\n  - name: a\n    members:\n      groups: [admins]\n",
        4,
        "profiles[a].members.groups",
        "not a group xml id",
    ),
    (
        "profiles:\n  - name: a\n    models:\n      sale.order:\n        read: \"[('a', '=')]\"\n",
        5,
        "profiles[a].models.sale.order.read",
        "invalid domain",
    ),
    (
        "profiles:\n  - name: a\n    models:\n      sale.order:\n        read: \"[('a', '=', __nope__)]\"\n",
        5,
        "profiles[a].models.sale.order.read",
        "'__nope__' is not in the rule evaluation context",
    ),
    (
        "profiles:\n  - name: a\n    models:\n      sale.order:\n        read: 3\n",
        5,
        "profiles[a].models.sale.order.read",
        "a domain (a string) or true/false",
    ),
    (
        "profiles:\n  - name: a\n    models:\n      sale.order:\n        unlink: false\n",
        5,
        "profiles[a].models.sale.order.unlink",
        "unknown key",
    ),
    (
        "profiles:\n  - name: a\n    models:\n      Sale Order: {}\n",
        4,
        "profiles[a].models.Sale Order",
        "not an Odoo model name",
    ),
    (
        "profiles:\n  - name: a\n    deny_by_default: true\n    models:\n      '*': {}\n",
        3,
        "profiles[a].deny_by_default",
        "use one or the other",
    ),
    ("profiles: [\n", 2, "(yaml)", "expected"),
]


@pytest.mark.parametrize(("text", "line", "key", "reason"), BAD)
def test_errors_name_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, reason: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as caught:
        load_profile_files([path])
    error = caught.value
    assert (error.source, error.line, error.key) == (str(path), line, key)
    assert reason in error.reason
    assert str(error).startswith(f"{path}:{line}: {key}: ")
    assert "\n" not in str(error)


def test_a_profile_defined_in_two_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("profiles:\n  - name: a\n")
    (tmp_path / "b.yaml").write_text("profiles:\n  - name: b\n  - name: a\n")
    with pytest.raises(
        PgPolicyError, match=r"b\.yaml:3: name: profile 'a' is also defined at .*a\.yaml:2"
    ):
        load_profile_files([tmp_path])


def test_what_a_file_says() -> None:
    (profile,) = parse_profiles(GOOD, "good.yaml")
    assert profile.name == "sales-eu" and profile.strict and not profile.deny_by_default
    assert profile.logins == ("salesman_a",)
    assert profile.groups == ("sales_team.group_sale_salesman",)
    assert profile.companies == (1,)
    assert profile.active_until is not None
    assert profile.active_until.isoformat() == "2026-12-31T23:00:00+00:00"
    order = profile.access("sale.order")
    assert order is not None
    assert (order.read, order.write, order.create, order.unlink) == (
        "[('company_id', '=', __cid__)]",
        True,
        True,
        False,
    )
    assert order.locked_fields == ("partner_id",)
    other = profile.access("crm.lead")  # the '*' entry
    assert other is not None and other.write is False and other.read is True


def test_canonical_form_reads_back_to_itself() -> None:
    profiles = parse_profiles(GOOD)
    text = dump_profiles(profiles)
    assert parse_profiles(text) == profiles
    assert dump_profiles(parse_profiles(text)) == text
    assert "read: \"[('company_id', '=', __cid__)]\"" in text
    assert "active_until: '2026-12-31T23:00:00+00:00'" in text


def test_a_workbook_holds_the_same_content(tmp_path: Path) -> None:
    from pgpolicy.profiles.xlsx import read_xlsx, write_xlsx

    profiles = parse_profiles(GOOD)
    book = tmp_path / "profiles.xlsx"
    write_xlsx(profiles, book)
    assert read_xlsx(book) == profiles
    assert dump_profiles(read_xlsx(book)) == dump_profiles(profiles)


def test_workbook_errors_name_the_row_and_the_key(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from pgpolicy.profiles.xlsx import read_xlsx, write_xlsx

    book = tmp_path / "profiles.xlsx"
    write_xlsx(parse_profiles(GOOD), book)
    workbook = load_workbook(book)
    workbook["models"]["C2"] = "[('a', '=')]"  # the read domain of the first model row
    workbook.save(book)
    with pytest.raises(ProfileError) as caught:
        read_xlsx(book)
    assert (caught.value.line, caught.value.key) == (2, "profiles[sales-eu].models.*.read")
    assert "invalid domain" in caught.value.reason
