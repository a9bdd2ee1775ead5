"""Odoo's name search through pgpolicy's name-search functions: when, and how.

Under row-level security a substring search (`name ILIKE '%abc%'`) cannot use its index
(`ILIKE` is not LEAKPROOF): a one-match `name_search` on a large table reads every row the
user may read. `pgpolicy apply` generates, per table, `pgpolicy_search.<table>(pattern,
fields, max_rows)`, which runs the search with its owner's rights and applies the policies'
read predicate itself, so it can use the index (docs/bridge.md, "Name search").

The addon routes the default display-name search of a model (`_search_display_name`, what
`name_search`, a many2one's dropdown and a search on `display_name` call) to it: the
positive `ilike` on the model's `_rec_names_search` / `_rec_name` becomes `id IN (the ids
the function returns)`. The statement that calls the function counts as the ORM's (it runs
with the superuser mode of the ORM's statements), so its ids are the rows the ORM's own
statement would admit among those whose name matches, and the ORM's query keeps everything
else (the domain, `active`, Odoo's rules, the order and the limit): the result is the same.
When more than `MAX_IDS` rows match, the search is not selective, the index brings little,
and the ORM's own query runs as before.

Only the standard library: tested without Odoo (tests/test_bridge_search.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

SCHEMA = "pgpolicy_search"
MAX_IDS = 1000  # more matches than this: the ORM's own query (the search is not selective)
# The functions and what they search, from their comments (pgpolicy's compiler.search).
CATALOG_QUERY = (
    "SELECT p.proname, pg_catalog.obj_description(p.oid, 'pg_proc') FROM pg_catalog.pg_proc p "
    "WHERE p.pronamespace = pg_catalog.to_regnamespace('pgpolicy_search')"
)


class Cursor(Protocol):
    """What is used of Odoo's cursor: `execute` with %s parameters, `fetchall`."""

    def execute(self, query: str, params: Any = None) -> Any: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...


@dataclass(frozen=True)
class SearchFunction:
    """A deployed `pgpolicy_search.<table>` function: its model and the fields it searches."""

    table: str
    model: str
    fields: tuple[str, ...]


def parse_catalog(rows: Iterable[tuple[Any, Any]]) -> dict[str, SearchFunction]:
    """The functions of `CATALOG_QUERY`'s rows, by table; a row whose comment is not pgpolicy's
    (hand-made, edited) is left out: its table is not routed."""
    found: dict[str, SearchFunction] = {}
    for name, comment in rows:
        try:
            data = json.loads(comment) if isinstance(comment, str) else None
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("source") != "pgpolicy":
            continue
        model, fields = data.get("model"), data.get("fields")
        if (
            isinstance(name, str)
            and isinstance(model, str)
            and isinstance(fields, list)
            and fields
            and all(isinstance(f, str) for f in fields)
        ):
            found[name] = SearchFunction(name, model, tuple(fields))
    return found


def routed_fields(
    function: SearchFunction | None,
    model: str,
    operator: str,
    value: object,
    name_fields: Sequence[str],
    default_search: bool,
    unaccent: bool,
) -> tuple[str, ...] | None:
    """The fields to search through `function` for the display-name search `(operator,
    value)` on `model`, or None: Odoo's own search.

    Routed only where the function's answer is Odoo's: a positive `ilike` with a non-empty
    string (an empty one matches everything: Odoo drops the condition); the model's
    display-name search is Odoo's default (`default_search`: not overridden) over fields the
    function searches, every one of them; no `unaccent` (Odoo would compare unaccented)."""
    if function is None or function.model != model or operator != "ilike":
        return None
    if not isinstance(value, str) or not value or "\x00" in value:
        return None
    if not default_search or unaccent or not name_fields:
        return None
    if set(name_fields) != set(function.fields) or len(set(name_fields)) != len(name_fields):
        return None
    return tuple(name_fields)


def pattern(value: str) -> str:
    """The LIKE pattern of Odoo's `ilike` (`_condition_to_sql`: `%value%`, nothing escaped)."""
    return f"%{value}%"


def quoted(name: str) -> str:
    """A quoted SQL identifier (the name comes from the database's catalog)."""
    return '"' + name.replace('"', '""') + '"'


def call_statement(table: str) -> str:
    """The call of the table's function: pattern, fields and row limit as parameters."""
    return f"SELECT * FROM {SCHEMA}.{quoted(table)}(%s, %s::text[], %s)"


def ids_domain(
    ids: Sequence[int], max_ids: int = MAX_IDS
) -> list[tuple[str, str, list[int]]] | None:
    """The domain that stands for the search, or None when it matched more than `max_ids`."""
    if len(ids) > max_ids:
        return None
    return [("id", "in", sorted(ids))]


@dataclass
class NameSearch:
    """The functions of each database (read once per registry load) and the routed search."""

    max_ids: int = MAX_IDS
    catalogs: dict[str, dict[str, SearchFunction]] = field(default_factory=dict)

    def functions(self, dbname: str, cursor: Cursor) -> dict[str, SearchFunction]:
        found = self.catalogs.get(dbname)
        if found is None:
            cursor.execute(CATALOG_QUERY)
            found = self.catalogs[dbname] = parse_catalog(cursor.fetchall())
        return found

    def forget(self, dbname: str) -> None:
        """Read the functions again (after a registry reload: `pgpolicy apply` may have run)."""
        self.catalogs.pop(dbname, None)

    def search(
        self, cursor: Cursor, table: str, fields: Sequence[str], value: str
    ) -> list[tuple[str, str, list[int]]] | None:
        """The domain `id IN (...)` for the search, or None (too many matches: Odoo's own).

        Executed from this file, which the addon counts as the ORM's (`post_load`)."""
        cursor.execute(call_statement(table), (pattern(value), list(fields), self.max_ids + 1))
        return ids_domain([row[0] for row in cursor.fetchall()], self.max_ids)
