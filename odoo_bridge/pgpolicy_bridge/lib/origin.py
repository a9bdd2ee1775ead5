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

# The ORM, relative to the `odoo` package directory, per series. Odoo 17.0 and 18.0 keep
# it in a handful of top-level files; 19.0 moved it into `odoo/orm/` (`odoo/models`,
# `odoo/fields` and `odoo/api` became packages that only re-export it).
ORM_FILES_17 = (
    "models.py",
    "fields.py",
    "api.py",
    "osv/expression.py",
    "tools/query.py",
    "tools/sql.py",
    "addons/base/models/ir_rule.py",  # rule evaluation
    "addons/base/models/ir_model.py",  # access rights (ir.model.access)
)
ORM_FILES_19 = (
    # odoo/orm/ but registry.py: registry loading and signalling are not the ORM, as
    # odoo/modules/registry.py is not in 17.0 and 18.0 (they run as the system principal).
    "orm/commands.py",
    "orm/decorators.py",
    "orm/domains.py",  # Domain objects: 19.0's domain -> SQL
    "orm/environments.py",
    "orm/fields.py",
    "orm/fields_binary.py",
    "orm/fields_misc.py",
    "orm/fields_numeric.py",
    "orm/fields_properties.py",
    "orm/fields_reference.py",
    "orm/fields_relational.py",
    "orm/fields_selection.py",
    "orm/fields_temporal.py",
    "orm/fields_textual.py",
    "orm/identifiers.py",
    "orm/model_classes.py",
    "orm/models.py",
    "orm/models_transient.py",
    "orm/table_objects.py",
    "orm/types.py",
    "orm/utils.py",
    "osv/expression.py",
    "tools/query.py",
    "tools/sql.py",
    "addons/base/models/ir_rule.py",
    "addons/base/models/ir_model.py",
)
# (file relative to the `odoo` package, function): code that forwards SQL it is given.
PASS_THROUGH_17 = (("sql_db.py", None),)  # the cursor, savepoints
PASS_THROUGH_18 = (
    ("sql_db.py", None),
    ("api.py", "execute_query"),
    ("api.py", "execute_query_dict"),
    ("api.py", "flush_query"),
)
PASS_THROUGH_19 = (
    ("sql_db.py", None),
    ("orm/environments.py", "execute_query"),
    ("orm/environments.py", "execute_query_dict"),
    ("orm/environments.py", "flush_query"),
)
ORM_FILES = {"17.0": ORM_FILES_17, "18.0": ORM_FILES_17, "19.0": ORM_FILES_19}
PASS_THROUGH = {"17.0": PASS_THROUGH_17, "18.0": PASS_THROUGH_18, "19.0": PASS_THROUGH_19}

ORM, MODULE, PASS = "orm", "module", "pass"
TRUST_ODOO, TRUST_ORM = "odoo", "orm"


@dataclass
class OriginRules:
    """Which files are the ORM and which frames only pass SQL through."""

    orm_files: frozenset[str]
    pass_through: frozenset[tuple[str, str | None]]
    # keyed by what decides: code objects compare equal across files when their code is
    # the same (CPython ignores co_filename), so they cannot be the key
    _verdicts: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @classmethod
    def for_odoo(
        cls,
        odoo_dir: str,
        extra_orm_paths: Iterable[str] = (),
        psycopg2_dir: str | None = None,
        trust: str = TRUST_ODOO,
        series: str = "18.0",
    ) -> OriginRules:
        """The rules for the Odoo package at `odoo_dir` (the directory of `odoo/__init__.py`).

        `trust` says what counts as the ORM besides the ORM's own files: TRUST_ODOO, all
        of Odoo's own code (the `odoo` package with the base module, and the `addons`
        directory of a source tree beside it), or TRUST_ORM, nothing more. Odoo's own
        modules run raw SQL as system work (the device log at login, mail, accounting
        sequences): under TRUST_ORM they run as the user and stock Odoo breaks.
        `extra_orm_paths` are more files or directories whose statements count as the
        ORM's (every statement they issue runs with mirrors lifted). `series` is the
        running Odoo's (`versions.layout_for`): which files are its ORM.
        """
        if trust not in (TRUST_ODOO, TRUST_ORM):
            raise ValueError(f"trust must be {TRUST_ODOO!r} or {TRUST_ORM!r}, got {trust!r}")
        if series not in ORM_FILES:
            raise ValueError(f"no ORM files known for Odoo {series}")
        base = os.path.realpath(odoo_dir)
        orm = {os.path.join(base, path) for path in ORM_FILES[series]}
        if trust == TRUST_ODOO:
            orm.add(base)
            bundled = os.path.join(os.path.dirname(base), "addons")
            if os.path.isdir(os.path.join(bundled, "web")):
                orm.add(bundled)
        orm |= {os.path.realpath(path) for path in extra_orm_paths}
        passing: set[tuple[str, str | None]] = {
            (os.path.join(base, path), function) for path, function in PASS_THROUGH[series]
        }
        if psycopg2_dir is not None:
            passing.add((os.path.join(os.path.realpath(psycopg2_dir), "extras.py"), None))
        return cls(frozenset(orm), frozenset(passing))

    def verdict(self, code: CodeType) -> str:
        """ORM, MODULE or PASS for the code of one frame (cached per file and function)."""
        key = (code.co_filename, code.co_name)
        found = self._verdicts.get(key)
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
            self._verdicts[key] = found
        return found

    def from_orm(self, frame: FrameType | None) -> bool:
        """Whether the statement being executed in `frame`'s call chain comes from the ORM."""
        while frame is not None:
            found = self.verdict(frame.f_code)
            if found != PASS:
                return found == ORM
            frame = frame.f_back
        return False  # no caller at all: not the ORM
