"""A profile workbook is data: a formula is refused on import (it would read as an empty
cell, i.e. "no restriction"), and text that starts like a formula is exported as text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pgpolicy.profiles.model import ProfileError, parse_profiles
from pgpolicy.profiles.xlsx import read_xlsx, write_xlsx
from tests.test_profile_files import GOOD


def test_a_formula_without_cached_value_is_refused_naming_sheet_and_cell(
    tmp_path: Path,
) -> None:
    book = tmp_path / "profiles.xlsx"
    write_xlsx(parse_profiles(GOOD), book)
    workbook = load_workbook(book)
    header = [cell.value for cell in workbook["models"][1]]
    column = "ABCDEFGH"[header.index("read")]
    # openpyxl saves a formula without its computed value, as any tool but a spreadsheet
    # application does: read for its cached value, the cell would be empty (no restriction)
    workbook["models"][f"{column}2"] = "=IF(TRUE(), \"[('id', '=', 0)]\", \"\")"
    workbook.save(book)
    with pytest.raises(ProfileError) as caught:
        read_xlsx(book)
    assert caught.value.key == f"sheet models, cell {column}2"
    assert "formula" in caught.value.reason
    assert f"sheet models, cell {column}2" in str(caught.value)


def test_text_that_starts_like_a_formula_is_written_as_text_and_reads_back(
    tmp_path: Path,
) -> None:
    (profile,) = parse_profiles(GOOD)
    texts = ['=HYPERLINK("http://example.com", "x")', "+33 1 23", "-draft-", "@team"]
    book = tmp_path / "profiles.xlsx"
    for text in texts:
        profiles = (replace(profile, description=text),)
        write_xlsx(profiles, book)
        workbook = load_workbook(book)
        header = [cell.value for cell in workbook["profiles"][1]]
        cell = workbook["profiles"].cell(row=2, column=header.index("description") + 1)
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
        assert read_xlsx(book) == profiles
