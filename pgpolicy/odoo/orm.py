"""What Odoo's ORM knows of its models and `ir_model_fields` does not record.

Searching a relational field by name (`('partner_id', 'ilike', 'Azure')`, a string on a
many2one, `child_of` a name) searches the comodel's `display_name`, i.e. the fields of its
`_rec_names_search` or `_rec_name` (`BaseModel._search_display_name`); a one2many or
many2many field searched by name or with `any` adds the field's own `domain`
(`field.get_domain_list`). Both are Python attributes of the models: `orm17.json`,
`orm18.json` and `orm19.json` hold them as read from a registry of that Odoo version with the
standard modules (see tests/differential/record_odoo.py `--facts`); the compiler reads the
facts of the database's version (`Catalog.major`), since models change their name-search
fields, domains and overrides from one version to the next.

A model missing from the table (a custom module's) searches its `name` field if it has one,
like Odoo's default `_rec_name`; a model whose name search is overridden
(`_search_display_name`; 17.0: `_name_search`) is not searched by name (the override is
Python): `name_search_fields` returns None, and the compiler refuses the leaf unless it
translates that version's override.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

VERSIONS = (17, 18, 19)  # the series whose facts are shipped (orm<major>.json)


@cache
def _facts(major: int) -> dict[str, Any]:
    """The facts of one Odoo series; an unknown one fails (never another version's)."""
    if major not in VERSIONS:
        raise ValueError(f"no ORM facts for Odoo {major}.0")
    text = resources.files("pgpolicy.odoo").joinpath(f"orm{major}.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def name_search_fields(major: int, model: str, fields: set[str]) -> tuple[str, ...] | None:
    """The fields `('display_name', op, value)` searches on `model` (none: see
    `default_name_fields`), or None when Odoo's search is custom Python or the model unknown
    and without a `name` field."""
    known = _facts(major)["names"].get(model)
    if known is None:
        return ("name",) if "name" in fields else None
    if known["custom"]:
        return None
    return default_name_fields(major, model)


def default_name_fields(major: int, model: str) -> tuple[str, ...]:
    """The fields of the default name search (`_rec_names_search` or `_rec_name`) of a
    known model, whether or not it overrides the search (none: the model has neither)."""
    known = _facts(major)["names"].get(model)
    return tuple(known["fields"]) if known else ()


def x2many_domain(major: int, model: str, field: str) -> list[Any] | None:
    """The domain of a one2many/many2many field (empty when it has none), or None when
    Odoo fails to compute it (a one2many without inverse: searching it raises)."""
    if field in _facts(major)["x2many_broken"].get(model, ()):
        return None
    domain: list[Any] = _facts(major)["x2many_domains"].get(model, {}).get(field, [])
    return domain


def auto_join_fields(major: int, model: str) -> frozenset[str]:
    """The model's many2one/one2many fields searched through a join (`auto_join`; 19.0:
    `bypass_search_access`)."""
    return frozenset(_facts(major)["auto_join"].get(model, ()))
