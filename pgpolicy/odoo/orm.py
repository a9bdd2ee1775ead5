"""What Odoo's ORM knows of its models and `ir_model_fields` does not record.

Searching a relational field by name (`('partner_id', 'ilike', 'Azure')`, a string on a
many2one, `child_of` a name) searches the comodel's `display_name`, i.e. the fields of its
`_rec_names_search` or `_rec_name` (`BaseModel._search_display_name`); a one2many or
many2many field searched by name or with `any` adds the field's own `domain`
(`field.get_domain_list`). Both are Python attributes of the models: `orm18.json` holds them
as read from an Odoo 18.0 registry with the standard modules, `orm19.json` from a 19.0 one
(see tests/differential/record_odoo.py `--facts`); 17.0 uses 18.0's.

A model missing from the table (a custom module's) searches its `name` field if it has one,
like Odoo's default `_rec_name`; a model whose `_search_display_name` is overridden is not
searched by name (the override is Python): `name_search_fields` returns None and the
compiler refuses the leaf.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _facts(major: int = 18) -> dict[str, Any]:
    name = "orm19.json" if major >= 19 else "orm18.json"
    text = resources.files("pgpolicy.odoo").joinpath(name).read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def name_search_fields(model: str, fields: set[str], major: int = 18) -> tuple[str, ...] | None:
    """The fields `('display_name', op, value)` searches on `model` (none: it matches
    nothing), or None when Odoo's search is custom Python or the model unknown and
    without a `name` field."""
    known = _facts(major)["names"].get(model)
    if known is None:
        return ("name",) if "name" in fields else None
    if known["custom"]:
        return None
    return default_name_fields(model, major)


def default_name_fields(model: str, major: int = 18) -> tuple[str, ...]:
    """The fields of the default name search (`_rec_names_search` or `_rec_name`) of a
    known model, whether or not it overrides the search (none: it matches nothing)."""
    known = _facts(major)["names"].get(model)
    return tuple(known["fields"]) if known else ()


def x2many_domain(model: str, field: str, major: int = 18) -> list[Any] | None:
    """The domain of a one2many/many2many field (empty when it has none), or None when
    Odoo fails to compute it (a one2many without inverse: searching it raises)."""
    if field in _facts(major)["x2many_broken"].get(model, ()):
        return None
    domain: list[Any] = _facts(major)["x2many_domains"].get(model, {}).get(field, [])
    return domain


def auto_join_fields(model: str, major: int = 18) -> frozenset[str]:
    """The model's many2one/one2many fields with `auto_join` (searched through a join; 19.0
    has none: its `bypass_search_access` only skips access checks, which sudo does too)."""
    return frozenset(_facts(major)["auto_join"].get(model, ()))
