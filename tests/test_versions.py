"""The compiler follows the semantics of the Odoo version the database runs.

`tests/data/odoo{17,18,19}/probes.json` hold domains whose SQL differs between 17.0 and 18.0
(docs/semantics.md, "Odoo versions"), each with the ids that version's ORM found on its
real database (`tests/oracles/record_oracle.py`). Each is compiled with the catalog read from
the database, whose version comes from `ir_module_module`, and run on that database: the ids
must be Odoo's. Compiled as the other version instead, some must differ, or the probes would
not tell the versions apart.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgpolicy.compiler.predicate import compile_domain
from pgpolicy.errors import CompileError
from pgpolicy.odoo.domain import parse_rule_domain
from pgpolicy.odoo.metadata import Catalog, UnsupportedOdooVersion, read_catalog, series_of
from tests.conftest import REPO_ROOT, Database

DATA = REPO_ROOT / "tests" / "data"
# One worker restores the 17.0 database (per server), not every worker.
pytestmark = pytest.mark.xdist_group("odoo17")
OTHER = {17: "18.0.1.3", 18: "17.0.1.3", 19: "18.0.1.3"}


def probe_ids(
    conn: psycopg.Connection[Any], catalog: Catalog, model: str, domain: str
) -> list[int]:
    """The ids of `model` the domain selects, compiled for `catalog`'s version (inline SQL,
    read as superuser: the rows the domain selects, no policy involved)."""
    tree = parse_rule_domain(domain, odoo_major=catalog.major)
    predicate = compile_domain(catalog, model, tree, inline=True)
    table = catalog.model(model).table
    rows = conn.execute(f'SELECT id FROM "{table}" WHERE {predicate.sql} ORDER BY id').fetchall()
    return [row[0] for row in rows]


def mismatches(db: Database, probes: Path, major: int) -> tuple[list[str], list[str]]:
    """Probes whose ids differ from Odoo's: as the database's version, and as the other one."""
    data = json.loads(probes.read_text())["probes"]
    same: list[str] = []
    other: list[str] = []
    with psycopg.connect(db.dsn) as conn:
        catalog = read_catalog(conn)
        assert catalog.major == major
        swapped = dataclasses.replace(catalog, odoo_version=OTHER[major])
        for probe in data:
            label = f"{probe['model']} {probe['domain']}"
            if probe_ids(conn, catalog, probe["model"], probe["domain"]) != probe["ids"]:
                same.append(label)
            try:
                if probe_ids(conn, swapped, probe["model"], probe["domain"]) != probe["ids"]:
                    other.append(label)
            except CompileError:
                other.append(label)
    return same, other


def test_odoo17_probes(odoo17_db: Database) -> None:
    differ, differ_as_18 = mismatches(odoo17_db, DATA / "odoo17" / "probes.json", 17)
    assert not differ, "compiled as 17.0, these differ from Odoo 17.0:\n" + "\n".join(differ)
    assert len(differ_as_18) >= 10, differ_as_18


def test_odoo18_probes(odoo_db: Database) -> None:
    differ, differ_as_17 = mismatches(odoo_db, DATA / "odoo18" / "probes.json", 18)
    assert not differ, "compiled as 18.0, these differ from Odoo 18.0:\n" + "\n".join(differ)
    assert len(differ_as_17) >= 10, differ_as_17


@pytest.mark.xdist_group("odoo19")
def test_odoo19_probes(odoo19_db: Database) -> None:
    differ, differ_as_18 = mismatches(odoo19_db, DATA / "odoo19" / "probes.json", 19)
    assert not differ, "compiled as 19.0, these differ from Odoo 19.0:\n" + "\n".join(differ)
    # the probes were chosen for 17.0 against 18.0; 19.0's own differences are measured by
    # the differential (tests/test_differential.py), which compiles 2,000 domains as 19.0
    assert differ_as_18, "compiled as 18.0, every probe gives Odoo 19.0's ids"


def test_version_detection() -> None:
    assert series_of("17.0.1.3") == "17.0"
    assert series_of("18.0.1.3") == "18.0"
    assert series_of("19.0.1.3") == "19.0"
    assert series_of(None) == "18.0"  # a catalog saved before versions were read
    for unknown in ("16.0.1.3", "saas~17.2.1.0", "20.0.1.3", "19"):
        with pytest.raises(UnsupportedOdooVersion, match="not supported"):
            series_of(unknown)


def test_catalog_file_keeps_the_version(odoo17_db: Database, tmp_path: Path) -> None:
    with psycopg.connect(odoo17_db.dsn) as conn:
        catalog = read_catalog(conn)
    catalog.save(tmp_path / "catalog.json")
    assert Catalog.load(tmp_path / "catalog.json").series == "17.0"


def test_unsupported_version_fails_closed(odoo17_db: Database) -> None:
    with psycopg.connect(odoo17_db.dsn, autocommit=True) as conn:
        conn.execute("UPDATE ir_module_module SET latest_version = '16.0.1.3' WHERE name = 'base'")
        with pytest.raises(UnsupportedOdooVersion, match=r"'16\.0\.1\.3' is not supported"):
            read_catalog(conn)
