"""The HTML report in a real headless browser (opt-in: `PGPOLICY_BROWSER=/usr/bin/chromium`,
Debian's `chromium` package): it renders, its filter works, and its numbers are `explain`'s."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from pgpolicy.cli import cli
from tests.conftest import Database
from tests.test_oracle import MODES

BROWSER = os.environ.get("PGPOLICY_BROWSER")
pytestmark = pytest.mark.skipif(
    not BROWSER, reason="set PGPOLICY_BROWSER to a Chromium binary to run the browser test"
)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def browser(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [str(BROWSER), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def cli_output(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_page_renders_filters_and_agrees_with_explain(
    enforced_db: Database, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    cli_output(
        "--dsn", enforced_db.dsn, "report", "--format", "html", "-o", str(page),
        "--user", "salesmgr_ab", "--user", "salesman_a",
        "--model", "sale.order", "--model", "res.partner",
    )  # fmt: skip
    url = page.as_uri() + "#filter=" + quote("salesmgr_ab sale.order")
    dom = browser(tmp_path, "--virtual-time-budget=3000", "--dump-dom", url)

    assert re.search(r'<span id="shown">1</span> of 4 rows', dom), dom[:2000]
    body = dom[dom.index("<tbody>") : dom.index("</tbody>")]
    rows = re.findall(r"<tr( hidden=\"\")?>(.*?)</tr>", body, re.S)
    visible = [row for row in rows if not row[0]]
    assert len(visible) == 1
    cells = re.findall(r"<td[^>]*>(.*?)</td>", visible[0][1])
    assert cells[:2] == ["salesmgr_ab", "sale.order"]
    for mode, shown in zip(MODES, cells[3:7], strict=True):
        explained = json.loads(
            cli_output("--dsn", enforced_db.dsn, "--format", "json", "explain",
                       "--user", "salesmgr_ab", "--model", "sale.order", "--mode", mode)
        )  # fmt: skip
        assert shown == (str(explained["rows"]) if explained["acl_granted"] else "no right")

    shot = tmp_path / "report.png"
    browser(tmp_path, "--window-size=1200,700", f"--screenshot={shot}", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 700)
    assert len(data) > 20_000  # a page of text and a table, not a blank image
