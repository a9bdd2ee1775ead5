"""Which Odoo the bridge runs in, and where that version keeps what the bridge hooks.

The bridge hooks the same things in every version (the cursor, environments, RPC calls,
authentication, crons), but each version keeps some of them elsewhere or calls them
otherwise. Read once when the addon loads (`odoo.release.version_info`); any other
version is refused before a hook is installed: the bridge does not load, no context is
sent, and protected tables return nothing (fail closed), rather than hooking a version
nobody checked.

| | 17.0 | 18.0 | 19.0 |
|---|---|---|---|
| `call_kw` (RPC calls) | `odoo.api` | `odoo.api` | `odoo.service.model` |
| `res.users` class | `Users` | `Users` | `ResUsers` |
| `_login` returns | the uid | `{"uid": ...}` | `{"uid": ...}` |
| XML-RPC password check | `check(db, uid, passwd)` | the same | `_check_uid_passwd(uid, passwd)` |
| `ir.cron` class | `ir_cron` | `ir_cron` | `IrCron` |
| `_process_job` arguments | `(db, cron_cr, job)` | the same | `(cron_cr, job)` |
| registry signalling | sequences | sequences | tables `orm_signaling_*` |
| JSON route type | `json` | `json` | `jsonrpc` |
| JSON-2 API (`/json/2/<model>/<method>`, its own dispatcher, no `call_kw`) | no | no | yes |

The files that make up the ORM, for the origin of each statement, are in `origin`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class UnsupportedOdoo(RuntimeError):
    """An Odoo version the bridge has no hook points for."""


@dataclass(frozen=True)
class OdooLayout:
    """Where one Odoo series keeps what the bridge hooks (see the module docstring)."""

    series: str
    call_kw_module: str
    users_class: str
    login_returns_uid: bool  # 17.0: `_login` returns the uid, later an auth_info dict
    password_check: str  # the method checking an XML-RPC call's uid and password
    password_check_uid_arg: int  # its uid's position among the arguments after cls/self
    cron_class: str
    cron_cursor_arg: int  # the position of `cron_cr` among `_process_job`'s arguments
    signaling_in_tables: bool  # 19.0: registry signalling reads and writes tables
    json_route: str
    json2: bool  # 19.0's JSON-2 API: the call's context arrives through its dispatcher

    @property
    def major(self) -> int:
        return int(self.series.split(".")[0])


LAYOUTS = {
    "17.0": OdooLayout(
        series="17.0",
        call_kw_module="odoo.api",
        users_class="Users",
        login_returns_uid=True,
        password_check="check",
        password_check_uid_arg=1,
        cron_class="ir_cron",
        cron_cursor_arg=1,
        signaling_in_tables=False,
        json_route="json",
        json2=False,
    ),
    "18.0": OdooLayout(
        series="18.0",
        call_kw_module="odoo.api",
        users_class="Users",
        login_returns_uid=False,
        password_check="check",
        password_check_uid_arg=1,
        cron_class="ir_cron",
        cron_cursor_arg=1,
        signaling_in_tables=False,
        json_route="json",
        json2=False,
    ),
    "19.0": OdooLayout(
        series="19.0",
        call_kw_module="odoo.service.model",
        users_class="ResUsers",
        login_returns_uid=False,
        password_check="_check_uid_passwd",
        password_check_uid_arg=0,
        cron_class="IrCron",
        cron_cursor_arg=0,
        signaling_in_tables=True,
        json_route="jsonrpc",
        json2=True,
    ),
}
SUPPORTED = tuple(LAYOUTS)


def series_of(version_info: Sequence[object]) -> str:
    """`"18.0"` for Odoo's `version_info` `(18, 0, 0, 'final', 0, '')`.

    Odoo's SaaS releases (`(17, 2, ...)`, `('saas~17', 4, ...)`) are other series."""
    if len(version_info) < 2:
        raise UnsupportedOdoo(f"not an Odoo version_info: {tuple(version_info)!r}")
    major, minor = version_info[0], version_info[1]
    return f"{major}.{minor}"


def layout_for(version_info: Sequence[object]) -> OdooLayout:
    """The layout of the running Odoo, or UnsupportedOdoo (the bridge must not load)."""
    series = series_of(version_info)
    layout = LAYOUTS.get(series)
    if layout is None:
        raise UnsupportedOdoo(
            f"pgpolicy bridge: Odoo {series} is not supported (supported: "
            f"{', '.join(SUPPORTED)}); the bridge is not loaded, protected tables return nothing"
        )
    return layout
