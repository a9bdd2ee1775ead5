"""Odoo's standard sequences under a serving role that may not do DDL (runtime 10).

`ir.sequence` creates, alters and drops a PostgreSQL sequence with raw DDL through three
functions of `odoo.addons.base.models.ir_sequence`, which its methods call by their module
names. When the connection's role may not do that DDL, the bridge sends them to the
runtime's SECURITY DEFINER functions instead (`lib/ddl.py`), which do only what the
ir_sequence rows ask for. ALTER and DROP follow the rows, so they run when the ORM has
written them: at the transaction's next flush (`cr.precommit`), after the write or the
unlink that asked for them. Under the owner role, Odoo's own functions run unchanged.
"""

import functools
from collections.abc import Callable
from typing import Any

from odoo.addons.base.models import ir_sequence
from odoo.exceptions import UserError

from .lib import ddl

ORIGINALS: dict[str, Callable[..., Any]] = {}


def route_sequences() -> None:
    """Replace Odoo's three sequence functions, once per process."""
    if ORIGINALS:
        return
    ORIGINALS.update(
        create=ir_sequence._create_sequence,
        alter=ir_sequence._alter_sequence,
        drop=ir_sequence._drop_sequences,
    )
    ir_sequence._create_sequence = create_sequence
    ir_sequence._alter_sequence = alter_sequence
    ir_sequence._drop_sequences = drop_sequences


def _check_step(number_increment: int | None) -> None:
    if number_increment == 0:
        raise UserError("Step must not be zero.")


def create_sequence(cr: Any, seq_name: str, number_increment: int, number_next: int) -> Any:
    if not ddl.routes_sequences(cr):
        return ORIGINALS["create"](cr, seq_name, number_increment, number_next)
    _check_step(number_increment)
    ddl.create_sequence(cr, seq_name, number_increment, number_next)
    return None


def alter_sequence(
    cr: Any, seq_name: str, number_increment: int | None = None, number_next: int | None = None
) -> Any:
    if not ddl.routes_sequences(cr):
        return ORIGINALS["alter"](cr, seq_name, number_increment, number_next)
    _check_step(number_increment)
    cr.precommit.add(
        functools.partial(ddl.alter_sequence, cr, seq_name, number_increment, number_next)
    )
    return None


def drop_sequences(cr: Any, seq_names: list[str]) -> Any:
    if not seq_names:
        return None
    if not ddl.routes_sequences(cr):
        return ORIGINALS["drop"](cr, seq_names)
    cr.precommit.add(functools.partial(ddl.drop_sequences, cr, list(seq_names)))
    return None
