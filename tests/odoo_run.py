"""A real Odoo server on a test database, with the bridge loaded, and a JSON-RPC client.

Used by the opt-in tests (tests/test_bridge_odoo.py) and the bridge benchmark
(bench/bridge.py). Odoo's source trees and Pythons with their requirements are the
caller's, one pair per version: `PGPOLICY_ODOO17_SRC` / `PGPOLICY_ODOO17_PYTHON` (an
unmodified Odoo 17.0 tree), `PGPOLICY_ODOO_SRC` / `PGPOLICY_ODOO_PYTHON` or
`PGPOLICY_ODOO18_SRC` / `PGPOLICY_ODOO18_PYTHON` (18.0), `PGPOLICY_ODOO19_SRC` /
`PGPOLICY_ODOO19_PYTHON` (19.0).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.conftest import enforce

REPO_ROOT = Path(__file__).resolve().parents[1]
ADDONS = [REPO_ROOT / "odoo_bridge", REPO_ROOT / "tests" / "odoo_addons"]
PASSWORD = "pgpolicy-bridge"
LOGINS = ("admin", "salesman_a", "salesmgr_ab", "accountant_b", "stock_user", "hr_officer",
          "project_user", "portal_user")  # fmt: skip


ODOO_SERIES = ("17.0", "18.0", "19.0")


def odoo_env_names(series: str) -> list[tuple[str, str]]:
    """The environment variables naming `series`' source tree and Python, in order."""
    major = series.split(".")[0]
    names = [(f"PGPOLICY_ODOO{major}_SRC", f"PGPOLICY_ODOO{major}_PYTHON")]
    if series == "18.0":  # the first variables, from when the bridge knew 18.0 only
        names.append(("PGPOLICY_ODOO_SRC", "PGPOLICY_ODOO_PYTHON"))
    return names


def odoo_paths(series: str = "18.0") -> tuple[Path, Path] | None:
    """(Odoo source tree, its Python) of `series` from the environment, or None."""
    for src_name, python_name in odoo_env_names(series):
        src, python = os.environ.get(src_name), os.environ.get(python_name)
        if src and python:
            return Path(src), Path(python)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def password_hash(python: Path, password: str) -> str:
    """The hash Odoo stores (passlib, pbkdf2_sha512), computed by Odoo's own Python."""
    code = "import sys; from passlib.context import CryptContext; "
    code += "print(CryptContext(['pbkdf2_sha512']).hash(sys.argv[1]))"
    done = subprocess.run(
        [str(python), "-c", code, password], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def prepare_database(dsn: str, app_role: str, owner: str, python: Path) -> None:
    """Make a restored copy of an Odoo database ready for the bridge (as a superuser).

    The runtime and every policy, the app role's privileges, a known password for the
    oracle's users, and only the auto-vacuum cron due (the others a day later, so that a
    test run does not send mails or fetch currency rates).
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        for role, options in ((owner, "SUPERUSER LOGIN"), (app_role, "LOGIN")):
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(role)))
    enforce(dsn, app_role)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE res_users SET password = %s WHERE login = ANY(%s)",
            [password_hash(python, PASSWORD), list(LOGINS)],
        )
        conn.execute("UPDATE ir_cron SET nextcall = now() + interval '1 day'")
        conn.execute(
            "UPDATE ir_cron SET nextcall = now() AT TIME ZONE 'UTC' - interval '1 minute',"
            " active = true WHERE id = (SELECT res_id FROM ir_model_data"
            " WHERE module = 'base' AND name = 'autovacuum_job')"
        )


@dataclass
class OdooServer:
    """odoo-bin for one database on a Unix-socket PostgreSQL server."""

    src: Path
    python: Path
    db_host: str
    db_port: int
    dbname: str
    workdir: Path
    load: Sequence[str] = ("base", "web", "pgpolicy_bridge")
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    phase: str = "serve"  # names the log file: one per run of odoo-bin

    @property
    def logfile(self) -> Path:
        return self.workdir / f"odoo-{self.phase}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def argv(self, db_user: str, *extra: str) -> list[str]:
        addons = ",".join(str(p) for p in [self.src / "addons", *ADDONS])
        return [
            str(self.python), str(self.src / "odoo-bin"),
            "--addons-path", addons, "--load", ",".join(self.load),
            "--database", self.dbname, "--db-filter", f"^{self.dbname}$",
            "--db_host", self.db_host, "--db_port", str(self.db_port), "--db_user", db_user,
            "--data-dir", str(self.workdir / "data"), "--logfile", str(self.logfile),
            "--http-interface", "127.0.0.1", "--http-port", str(self.http_port),
            "--no-database-list", "--workers", "0", "--log-level", "info", *extra,
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        # No PYTHONPATH: the addon is self-contained, nothing of the repository is importable.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PYTHONPATH"))}
        return env

    def run_once(self, phase: str, db_user: str, *extra: str, timeout: float = 600) -> None:
        """odoo-bin with --stop-after-init (install, upgrade), failing on a non-zero exit."""
        self.phase = phase
        done = subprocess.run(
            self.argv(db_user, *extra, "--stop-after-init"), env=self.env(),
            capture_output=True, timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"odoo-bin {' '.join(extra)} failed ({done.returncode}):\n"
                + done.stderr.decode(errors="replace")[-3000:]
                + self.log_text()[-4000:]
            )

    def start(self, db_user: str, *extra: str, timeout: float = 180, phase: str = "serve") -> None:
        """Serve HTTP and run crons, and wait until the database's login page answers."""
        self.phase = phase
        self.process = subprocess.Popen(
            self.argv(db_user, "--max-cron-threads", "1", *extra), env=self.env()
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("odoo-bin exited:\n" + self.log_text()[-4000:])
            try:
                # With the session cookie, as a browser: the database's login page loads
                # the registry, and answers 200 once it is loaded.
                if OdooSession(self).page(f"/web/login?db={self.dbname}")[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError("odoo-bin did not answer in time:\n" + self.log_text()[-4000:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_text(self, phase: str | None = None) -> str:
        path = self.workdir / f"odoo-{phase}.log" if phase else self.logfile
        return path.read_text(errors="replace") if path.exists() else ""


class RpcError(RuntimeError):
    """An error Odoo answered a JSON-RPC call with."""


class OdooSession:
    """A user's browser session: cookies, JSON-RPC calls, plain pages."""

    def __init__(self, server: OdooServer) -> None:
        self.server = server
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.uid: int | None = None

    def rpc(self, path: str, params: dict[str, Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": 1})
        request = urllib.request.Request(
            self.server.url + path, body.encode(), {"Content-Type": "application/json"}
        )
        with self.opener.open(request, timeout=120) as answer:
            reply = json.loads(answer.read())
        if "error" in reply:
            data = reply["error"].get("data", {})
            raise RpcError(f"{data.get('name')}: {data.get('message')}")
        return reply["result"]

    def login(self, login: str, password: str = PASSWORD) -> OdooSession:
        info = self.rpc(
            "/web/session/authenticate",
            {"db": self.server.dbname, "login": login, "password": password},
        )
        self.uid = info["uid"]
        return self

    def call(
        self, model: str, method: str, *args: Any, companies: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> Any:  # fmt: skip
        """`model.method(*args, **kwargs)` as the web client calls it (call_kw)."""
        context = dict(kwargs.pop("context", {}))
        if companies is not None:
            context["allowed_company_ids"] = list(companies)
        kwargs["context"] = context
        return self.rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def page(self, path: str) -> tuple[int, str]:
        """GET a page (portal, web client): status and body."""
        try:
            with self.opener.open(self.server.url + path, timeout=120) as answer:
                return answer.status, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


def log_problems(text: str) -> list[str]:
    """Lines of an Odoo log that report an error or a refusal by the database.

    (Tracebacks attached to INFO records are not errors: the shared database has no
    filestore, and Odoo logs each missing attachment file at INFO with its traceback.)
    """
    markers = (" ERROR ", " CRITICAL ", "row-level security", "permission denied")
    return [line for line in text.splitlines() if any(m in line for m in markers)]
