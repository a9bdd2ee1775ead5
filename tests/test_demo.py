"""`pgpolicy demo` and its sample: each user reads exactly what the scenario says, through RLS.

The expected rows are written by hand from the scenario described at the top of
`pgpolicy/demo/odoo_sample.sql`; nothing here is computed by pgpolicy.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgpolicy import demo

TABLES = ("res_company", "res_partner", "sale_order", "crm_lead")

# login -> (uid, allowed companies with the current one first, superuser mode)
USERS: dict[str, tuple[int, list[int], bool]] = {
    "__system__": (1, [1, 2], True),
    "alice": (2, [1], False),
    "bruno": (3, [1, 2], False),
    "dora": (4, [2], False),
    "paul": (5, [1], False),
}

EVERY_ROW: dict[str, set[str]] = {
    "res_company": {"Azul Lisbon", "Azul Porto"},
    "res_partner": {
        "Azul Lisbon", "Azul Porto", "OdooBot", "Alice Martin", "Bruno Silva", "Dora Costa",
        "Deco Addict", "Paul Ferreira", "Rita Ruiz", "Gemini Furniture", "Ready Mat",
        "Porto Ceramics", "Douro Hotels", "Ana Reis", "Wood Corner", "Tom Wood",
    },
    "sale_order": {f"S{n:05d}" for n in range(1, 13)},
    "crm_lead": {
        "Hotel lobby tiles", "Kitchen renovation", "Office floor", "Showroom walls",
        "Terrace tiles", "Restaurant bathrooms", "Hotel pool", "Spa refurbishment",
        "Facade panels", "Trade fair contact", "Website enquiry", "Distributor in Spain",
    },
}  # fmt: skip

SHARED_PARTNERS = {"OdooBot", "Alice Martin", "Bruno Silva", "Dora Costa", "Wood Corner",
                   "Tom Wood"}  # fmt: skip
LEADS_WITHOUT_COMPANY = {"Trade fair contact", "Website enquiry", "Distributor in Spain"}

# table -> login -> names read with pgpolicy
EXPECTED: dict[str, dict[str, set[str]]] = {
    "res_company": {
        "__system__": EVERY_ROW["res_company"],
        "alice": {"Azul Lisbon"},
        "bruno": EVERY_ROW["res_company"],
        "dora": {"Azul Porto"},
        "paul": {"Azul Lisbon"},
    },
    "res_partner": {
        "__system__": EVERY_ROW["res_partner"],
        # no company, or Lisbon
        "alice": SHARED_PARTNERS | {"Azul Lisbon", "Deco Addict", "Paul Ferreira", "Rita Ruiz",
                                    "Gemini Furniture", "Ready Mat"},
        "bruno": EVERY_ROW["res_partner"],
        # no company, or Porto
        "dora": SHARED_PARTNERS | {"Azul Porto", "Porto Ceramics", "Douro Hotels", "Ana Reis"},
        # Deco Addict and its contacts
        "paul": {"Deco Addict", "Paul Ferreira", "Rita Ruiz"},
    },
    "sale_order": {
        "__system__": EVERY_ROW["sale_order"],
        # Lisbon orders of alice (1, 2, 6) and unassigned (5)
        "alice": {"S00001", "S00002", "S00005", "S00006"},
        "bruno": EVERY_ROW["sale_order"],
        # every Porto order
        "dora": {"S00008", "S00009", "S00010", "S00011", "S00012"},
        # Lisbon orders of Deco Addict (1, 4), Paul (6) and Rita (7); not S00012 (Porto)
        "paul": {"S00001", "S00004", "S00006", "S00007"},
    },
    "crm_lead": {
        "__system__": EVERY_ROW["crm_lead"],
        # hers and unassigned, of Lisbon or without company
        "alice": {"Hotel lobby tiles", "Kitchen renovation", "Showroom walls",
                  "Trade fair contact", "Website enquiry"},
        "bruno": EVERY_ROW["crm_lead"],
        # every lead of Porto or without company
        "dora": LEADS_WITHOUT_COMPANY | {"Restaurant bathrooms", "Hotel pool",
                                         "Spa refurbishment", "Facade panels"},
        # no access right on crm.lead for portal users
        "paul": set(),
    },
}  # fmt: skip


def read_names(conn: psycopg.Connection[Any], table: str) -> list[str]:
    query = sql.SQL("SELECT name FROM {} ORDER BY id").format(sql.Identifier("public", table))
    return [name for (name,) in conn.execute(query)]


@pytest.fixture
def sample_db(empty_db: Any, app_role: str) -> Any:
    """The sample loaded, the runtime installed and the demo's policies applied."""
    demo.load_sample(empty_db.dsn)
    demo.grant_app_role(empty_db.dsn, app_role)
    demo.install_runtime(empty_db.dsn, [app_role])
    policy_set = demo.apply_policies(empty_db.dsn, [app_role])
    assert not policy_set.errors, [str(e) for e in policy_set.errors]
    # the sample's models, and every other table the app role is granted (Odoo's metadata)
    assert set(TABLES) <= {t.table for t in policy_set.tables}
    with psycopg.connect(empty_db.dsn) as conn:
        open_tables = conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind = 'r' AND NOT relrowsecurity"
        ).fetchall()
    assert open_tables == []
    return empty_db


def test_the_owner_reads_every_row(sample_db: Any) -> None:
    with psycopg.connect(sample_db.dsn) as owner:
        for table in TABLES:
            names = read_names(owner, table)
            assert len(names) == len(set(names)), f"{table}: names must identify rows"
            assert set(names) == EVERY_ROW[table], table


def test_each_user_reads_what_the_scenario_says(
    sample_db: Any,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    mismatches = []
    with psycopg.connect(app_dsn(sample_db)) as app:
        assert_rls_effective(app, TABLES)
        for table in TABLES:
            for login, (uid, companies, su) in USERS.items():
                app.execute("SELECT pgpolicy.set_context(%s, %s, %s)", [uid, companies, su])
                got = set(read_names(app, table))
                app.rollback()
                expected = EXPECTED[table][login]
                if got != expected:
                    mismatches.append(
                        f"{table} {login}: missing {sorted(expected - got)}, "
                        f"extra {sorted(got - expected)}"
                    )
    assert not mismatches, "\n".join(mismatches)


def test_no_context_reads_nothing(
    sample_db: Any,
    app_dsn: Callable[[Any], str],
    assert_rls_effective: Callable[..., None],
) -> None:
    with psycopg.connect(app_dsn(sample_db)) as app:
        assert_rls_effective(app, TABLES)
        for table in TABLES:
            assert read_names(app, table) == [], table
            app.rollback()


def test_the_demo_reads_each_user_with_the_scenario_context(
    sample_db: Any, app_dsn: Callable[[Any], str]
) -> None:
    with (
        psycopg.connect(sample_db.dsn) as owner,
        psycopg.connect(app_dsn(sample_db)) as app,
    ):
        users = demo.read_users(owner)
        assert {u.login: (u.id, list(u.company_ids), u.su) for u in users} == USERS
        role = demo.check_app_role(app)
        assert not role.superuser and not role.bypassrls
        views = demo.read_visibility(owner, app, users)
    for view in views:
        assert set(view.all_names) == EVERY_ROW[view.table]
        assert {login: set(seen) for login, seen in view.seen.items()} == EXPECTED[view.table]
        assert view.no_context == 0


# ---------------------------------------------------------------------------
# The command itself, on its own embedded server

DEMO = [sys.executable, "-m", "pgpolicy"]
WORKDIR = re.compile(r"starting a throwaway PostgreSQL in (\S+)")


def processes_using(path: str) -> list[str]:
    """Command lines of running processes that mention `path` (e.g. a postgres -D)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if path in cmdline:
            found.append(cmdline)
    return found


def assert_cleaned_up(stderr: str) -> None:
    match = WORKDIR.search(stderr)
    assert match, stderr
    workdir = match.group(1)
    assert not Path(workdir).exists(), f"{workdir} left behind"
    assert not processes_using(workdir), processes_using(workdir)


def test_demo_command_prints_who_sees_what() -> None:
    result = subprocess.run(
        [*DEMO, "demo"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "app role pgpolicy_demo_app: superuser no, bypassrls no" in out
    assert re.search(r"^sale_order  \(12 rows\)$", out, re.M), out
    assert re.search(r"^  alice +12 +4  S00001, S00002, S00005, S00006$", out, re.M), out
    assert re.search(r"^  paul +12 +4  S00001, S00004, S00006, S00007$", out, re.M), out
    assert re.search(r"^  bruno +12 +12  all$", out, re.M), out
    assert re.search(r"^  no context +12 +0  -$", out, re.M), out
    assert "returned 0 rows from every table." in out
    assert "stopping the server" in result.stderr
    assert_cleaned_up(result.stderr)


def test_demo_command_json_matches_the_scenario() -> None:
    result = subprocess.run(
        [*DEMO, "--format", "json", "demo"], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["app_role"] == {"name": "pgpolicy_demo_app", "superuser": False, "bypassrls": False}
    assert data["compile_errors"] == []
    assert set(data["tables"]) == set(TABLES)
    for table, view in data["tables"].items():
        assert set(view["without_pgpolicy"]) == EVERY_ROW[table]
        assert {login: set(names) for login, names in view["with_pgpolicy"].items()} == \
            EXPECTED[table]  # fmt: skip
        assert view["no_context"] == 0
    assert_cleaned_up(result.stderr)


@pytest.mark.parametrize(
    ("signum", "after"),
    [
        (signal.SIGINT, "starting a throwaway PostgreSQL"),  # while initdb / pg_ctl run
        (signal.SIGINT, "loading the Odoo-shaped sample"),
        (signal.SIGTERM, "installing the pgpolicy runtime"),
    ],
)
def test_demo_command_cleans_up_when_interrupted(signum: int, after: str) -> None:
    # A session of its own: the signal goes to the whole group, as Ctrl-C in a terminal does.
    # SIGINT as a terminal leaves it: a caller started in the background (`cmd &` in a
    # script) ignores it, and Python keeps an ignored SIGINT ignored.
    process = subprocess.Popen(
        [*DEMO, "demo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if after in line:
            os.killpg(process.pid, signum)
            break
    _, rest = process.communicate(timeout=60)
    stderr = "".join(seen) + rest
    assert process.returncode == 1, stderr
    assert "pgpolicy: aborted" in stderr
    assert_cleaned_up(stderr)
