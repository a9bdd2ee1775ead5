"""Whether a statement comes from the ORM or from module code, read from the call stack.

Odoo's cursor has no notion of who issues a statement, and `sudo()` emits no SQL
(odoo-semantics §4.6 c). What the cursor can see is its caller. Statements the ORM issues
— reads through the environment, flushes of buffered writes, the INSERT of `create`, the
DELETE of `unlink`, rule and access-right evaluation — come from a handful of framework
files; the ORM has already applied Odoo's rules to them (or is in superuser mode), so they
run with mirrors lifted. Anything else that calls `cr.execute` is module code, and runs as
the request's user with mirrors enforced. By default Odoo's own modules count as the
ORM too (`TRUST_ODOO`): they issue raw SQL as system work, and would break otherwise.

The first frame that is not a pass-through decides. Pass-throughs are the cursor itself
and helpers that only forward SQL they are given (`env.execute_query`,
`psycopg2.extras.execute_values`): module code calling `env.execute_query(SQL(...))` is
module code.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import CodeType, FrameType

# The ORM, relative to the `odoo` package directory of Odoo 17 / 18.
ORM_FILES = (
    "models.py",
    "fields.py",
    "api.py",
    "osv/expression.py",
    "tools/query.py",
    "tools/sql.py",
    "addons/base/models/ir_rule.py",  # rule evaluation
    "addons/base/models/ir_model.py",  # access rights (ir.model.access)
)
# (file relative to the `odoo` package, function): code that forwards SQL it is given.
PASS_THROUGH = (
    ("sql_db.py", None),  # the cursor, savepoints
    ("api.py", "execute_query"),
    ("api.py", "flush_query"),
)

ORM, MODULE, PASS = "orm", "module", "pass"
TRUST_ODOO, TRUST_ORM = "odoo", "orm"


@dataclass
class OriginRules:
    """Which files are the ORM and which frames only pass SQL through."""

    orm_files: frozenset[str]
    pass_through: frozenset[tuple[str, str | None]]
    _verdicts: dict[CodeType, str] = field(default_factory=dict, repr=False)

    @classmethod
    def for_odoo(
        cls,
        odoo_dir: str,
        extra_orm_paths: Iterable[str] = (),
        psycopg2_dir: str | None = None,
        trust: str = TRUST_ODOO,
    ) -> OriginRules:
        """The rules for the Odoo package at `odoo_dir` (the directory of `odoo/__init__.py`).

        `trust` says what counts as the ORM besides the ORM's own files: TRUST_ODOO, all
        of Odoo's own code (the `odoo` package with the base module, and the `addons`
        directory of a source tree beside it), or TRUST_ORM, nothing more. Odoo's own
        modules run raw SQL as system work (the device log at login, mail, accounting
        sequences): under TRUST_ORM they run as the user and stock Odoo breaks.
        `extra_orm_paths` are more files or directories whose statements count as the
        ORM's (every statement they issue runs with mirrors lifted).
        """
        if trust not in (TRUST_ODOO, TRUST_ORM):
            raise ValueError(f"trust must be {TRUST_ODOO!r} or {TRUST_ORM!r}, got {trust!r}")
        base = os.path.realpath(odoo_dir)
        orm = {os.path.join(base, path) for path in ORM_FILES}
        if trust == TRUST_ODOO:
            orm.add(base)
            bundled = os.path.join(os.path.dirname(base), "addons")
            if os.path.isdir(os.path.join(bundled, "web")):
                orm.add(bundled)
        orm |= {os.path.realpath(path) for path in extra_orm_paths}
        passing: set[tuple[str, str | None]] = {
            (os.path.join(base, path), function) for path, function in PASS_THROUGH
        }
        if psycopg2_dir is not None:
            passing.add((os.path.join(os.path.realpath(psycopg2_dir), "extras.py"), None))
        return cls(frozenset(orm), frozenset(passing))

    def verdict(self, code: CodeType) -> str:
        """ORM, MODULE or PASS for the code of one frame (cached: code objects live long)."""
        found = self._verdicts.get(code)
        if found is None:
            filename = os.path.realpath(code.co_filename)
            if (filename, None) in self.pass_through or (
                filename,
                code.co_name,
            ) in self.pass_through:
                found = PASS
            elif filename in self.orm_files or any(
                filename.startswith(path.rstrip(os.sep) + os.sep) for path in self.orm_files
            ):
                found = ORM
            else:
                found = MODULE
            self._verdicts[code] = found
        return found

    def from_orm(self, frame: FrameType | None) -> bool:
        """Whether the statement being executed in `frame`'s call chain comes from the ORM."""
        while frame is not None:
            found = self.verdict(frame.f_code)
            if found != PASS:
                return found == ORM
            frame = frame.f_back
        return False  # no caller at all: not the ORM
