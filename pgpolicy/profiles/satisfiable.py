"""Whether a domain tree can match a row: a conservative emptiness test for `pgpolicy check`.

`clash(tree, catalog, model)` returns the leaves that provably cannot hold together, or
None when the domain may match something. Only constants are reasoned about: a placeholder
or `user.*` value is unknown, except that a leaf and its exact negation on the same value
(`= __uid__` and `!= __uid__`) never both hold. Only fields stored in their own column
count (a related field through a one2many reads several records). Ranges are compared only
on fields whose type is known to be numeric or a date; integers and dates are discrete
(`> 5` and `< 6` is empty on an integer field, not on a float field). Strings are compared
for equality only (their order is the database's collation, not Python's). NULL follows
the compiler (Odoo): a NULL number counts as 0 and a NULL string as '' (`= False` on them
is `= 0` / `= ''`); on other fields `= False` is IS NULL and `!=` admits NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from pgpolicy.odoo.domain import (
    NEGATION,
    And,
    Bool,
    Const,
    Context,
    Leaf,
    ListOf,
    Node,
    Or,
    Value,
    conjoin,
)
from pgpolicy.odoo.metadata import Catalog, Field, Model

Key = int | float | str | bool | date | datetime
ORDERED = ("integer", "float", "monetary", "date", "datetime", "many2one")
DISCRETE = ("integer", "many2one", "date")
SCALAR = (*ORDERED, "boolean", "char", "text", "html", "selection")
ZERO: dict[str, int | float | str] = {
    "integer": 0,
    "float": 0.0,
    "monetary": 0.0,
    "char": "",
    "text": "",
    "html": "",
}
RELATIONAL = ("many2one", "one2many", "many2many")
BUDGET = 256  # conjunctions explored when OR branches are distributed over an AND


@dataclass(frozen=True)
class Clash:
    """Leaves that admit no common row (one leaf when it is empty by itself)."""

    leaves: tuple[Leaf, ...]

    def __str__(self) -> str:
        shown = [render(leaf) for leaf in self.leaves]
        if len(shown) == 1:
            return f"{shown[0]} matches nothing"
        return f"{' and '.join(shown)} contradict each other"


def render(leaf: Leaf) -> str:
    """A leaf as the domain writes it (a dotted path as one)."""
    if leaf.op == "any" and isinstance(leaf.value, Leaf):
        inner = leaf.value
        return render(Leaf(f"{leaf.path}.{inner.path}", inner.op, inner.value))
    return f"({leaf.path!r}, {leaf.op!r}, {render_value(leaf.value)})"


def render_value(value: object) -> str:
    if isinstance(value, Const):
        return repr(value.value)
    if isinstance(value, ListOf):
        return "[" + ", ".join(render_value(item) for item in value.items) + "]"
    if isinstance(value, Context):
        if value.name == "date":
            return value.path[0]
        return ".".join((value.name, *value.path))
    return "[...]" if isinstance(value, Leaf | And | Or | Bool) else type(value).__name__


# ---------------------------------------------------------------------------
# The tree


def clash(tree: Node, catalog: Catalog, model: Model | None) -> Clash | None:
    """Why `tree` matches no row of `model` (None: it may match some, or we cannot tell)."""
    return _clash(tree, catalog, model, [BUDGET])


def _clash(tree: Node, catalog: Catalog, model: Model | None, budget: list[int]) -> Clash | None:
    if isinstance(tree, Leaf):
        return leaf_clash(tree, catalog, model, budget)
    if isinstance(tree, Or):
        found = [_clash(child, catalog, model, budget) for child in tree.children]
        first = found[0]
        return first if all(found) else None
    if isinstance(tree, And):
        return and_clash(tree.children, catalog, model, budget)
    return None  # TRUE, FALSE (reported on its own), Not above an opaque leaf


def leaf_clash(
    leaf: Leaf, catalog: Catalog, model: Model | None, budget: list[int]
) -> Clash | None:
    """`in []`, and `any` of an empty domain, match nothing."""
    if leaf.op == "in" and isinstance(leaf.value, ListOf) and not leaf.value.items:
        return Clash((leaf,))
    if leaf.op == "any" and isinstance(leaf.value, Leaf | And | Or):
        inner = _clash(leaf.value, catalog, comodel(catalog, model, leaf.path), budget)
        return None if inner is None else Clash((leaf,))
    return None


def and_clash(
    children: tuple[Node, ...], catalog: Catalog, model: Model | None, budget: list[int]
) -> Clash | None:
    """A child that is empty, two leaves on one field that clash, or an OR child all of whose
    branches clash with the rest."""
    for child in children:
        found = _clash(child, catalog, model, budget)
        if found is not None:
            return found
    leaves = [c for c in children if isinstance(c, Leaf)]
    found = leaves_clash(leaves, model)
    if found is not None:
        return found
    for index, child in enumerate(children):
        if not isinstance(child, Or):
            continue
        rest = children[:index] + children[index + 1 :]
        clashes: list[Clash] = []
        for branch in child.children:
            budget[0] -= 1
            if budget[0] < 0:
                return None
            combined = conjoin(*rest, branch)
            branch_clash = _clash(combined, catalog, model, budget)
            if branch_clash is None:
                break
            clashes.append(branch_clash)
        else:
            return clashes[0]
    return None


def comodel(catalog: Catalog, model: Model | None, name: str) -> Model | None:
    field = model.fields.get(name) if model is not None else None
    if field is None or field.relation is None:
        return None
    return catalog.models.get(field.relation)


# ---------------------------------------------------------------------------
# Leaves on one field


def leaves_clash(leaves: list[Leaf], model: Model | None) -> Clash | None:
    """Two leaves on one field that cannot both hold; else all the typed leaves of a field
    together (e.g. `in [1, 2]`, `!= 1`, `!= 2`)."""
    by_path: dict[str, list[Leaf]] = {}
    for leaf in leaves:
        by_path.setdefault(leaf.path, []).append(leaf)
    for path, group in by_path.items():
        ftype = field_type(model, path)
        if ftype is None:
            continue
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                if pair_clashes(first, second, ftype, plain_type(ftype, model, path)):
                    return Clash((first, second))
        ftype = plain_type(ftype, model, path)
        if ftype in SCALAR and len(group) > 2:
            values = [leaf_values(leaf, ftype) for leaf in group]
            total = meet_all(values)
            if total is not None and total.empty(ftype):
                return Clash(tuple(group))
    return None


def stored_field(model: Model | None, path: str) -> Field | None:
    """The field when it is known and stored in its own column: a non-stored field is searched
    through a path or a method (a related field through a one2many reads several records),
    so nothing is concluded on it."""
    field = model.fields.get(path) if model is not None else None
    if field is None or not field.store or field.related or field.company_dependent:
        return None
    return field


def field_type(model: Model | None, path: str) -> str | None:
    """The type of a stored field (None when unknown or not stored)."""
    field = stored_field(model, path)
    return None if field is None else field.type


def plain_type(ftype: str | None, model: Model | None, path: str) -> str | None:
    """The type values are compared in: not for translated fields, whose `=` reads a
    language."""
    field = stored_field(model, path)
    if field is None or field.translate:
        return None
    return ftype


def pair_clashes(first: Leaf, second: Leaf, ftype: str, plain: str | None) -> bool:
    """Two leaves on one stored field of type `ftype` (`plain`: its type when values compare
    plainly) that cannot both hold."""
    if negation_pair(first, second) or negation_pair(second, first):
        return True
    if covered(first, second, ftype) or covered(second, first, ftype):
        return True
    if plain is None or plain not in SCALAR:
        return False
    values = meet(leaf_values(first, plain), leaf_values(second, plain))
    return values is not None and values.empty(plain)


def negation_pair(first: Leaf, second: Leaf) -> bool:
    """A leaf and its negation on the same value: for any field and any value, known or not."""
    return NEGATION.get(first.op) == second.op and same_value(first.value, second.value)


def same_value(a: object, b: object) -> bool:
    if isinstance(a, Const) and isinstance(b, Const):
        return type(a.value) is type(b.value) and a.value == b.value
    if isinstance(a, ListOf) and isinstance(b, ListOf):
        return len(a.items) == len(b.items) and all(map(same_value, a.items, b.items))
    return isinstance(a, Context) and a == b


def covered(positive: Leaf, negative: Leaf, ftype: str) -> bool:
    """`= v` or `in S` against `!= v` or `not in T` with S ⊆ T: whatever the field type
    (a many2many `in S` means some related record is in S, `not in T` none is)."""
    wanted = constants(positive, ("=", "in"), ftype)
    refused = constants(negative, ("!=", "not in"), ftype)
    if not wanted or refused is None:
        return False
    return all(any(same_value(w, r) for r in refused) for w in wanted)


def constants(leaf: Leaf, ops: tuple[str, ...], ftype: str) -> tuple[Const, ...] | None:
    """The leaf's constants when its operator is one of `ops`; none when one is falsy (False,
    0 and '' mean or admit NULL differently by operator and field type) or a string on a
    relational field (a name search)."""
    if leaf.op not in ops:
        return None
    items = leaf.value.items if isinstance(leaf.value, ListOf) else (leaf.value,)
    found: list[Const] = []
    for item in items:
        if not isinstance(item, Const) or not item.value:  # False, None, 0, '': NULL nuances
            return None
        if ftype in RELATIONAL and not isinstance(item.value, int):
            return None
        found.append(item)
    return tuple(found)


# ---------------------------------------------------------------------------
# The values a leaf admits, on a typed scalar field


@dataclass(frozen=True)
class Bound:
    value: Key
    strict: bool


@dataclass(frozen=True)
class Values:
    """The values a leaf admits: NULL or not, a finite set or anything, minus some values,
    within bounds. The default admits everything (a leaf we cannot reason about)."""

    null: bool = True
    only: frozenset[Key] | None = None
    excluded: frozenset[Key] = frozenset()
    low: Bound | None = None
    high: Bound | None = None

    def empty(self, ftype: str | None) -> bool:
        """Provably no value, NULL included."""
        if self.null:
            return False
        if self.only is not None:
            return not any(v not in self.excluded and self.within(v) for v in self.only)
        if self.low is None or self.high is None:
            return False
        return interval_empty(self.low, self.high, self.excluded, ftype in DISCRETE)

    def within(self, value: Key) -> bool:
        try:
            above = self.low is None or _gt(value, self.low)
            below = self.high is None or _gt(self.high.value, Bound(value, self.high.strict))
        except TypeError:
            return True
        return above and below


def _gt(value: Key, bound: Bound) -> bool:
    """`value` beyond `bound` from below (> when strict, >= otherwise)."""
    return value > bound.value if bound.strict else value >= bound.value  # type: ignore[operator]


EVERYTHING = Values()


def interval_empty(low: Bound, high: Bound, excluded: frozenset[Key], discrete: bool) -> bool:
    """No value between two bounds; on a discrete type, integers or days are counted."""
    a, b = low.value, high.value
    try:
        if a > b:  # type: ignore[operator]
            return True
        if a == b:
            return low.strict or high.strict or a in excluded
    except TypeError:
        return False
    if not discrete:
        return False
    first, last = _ordinal(a) + low.strict, _ordinal(b) - high.strict
    if first > last:
        return True
    if last - first + 1 > len(excluded):
        return False
    kept = [o for o in range(first, last + 1) if _from_ordinal(o, a) not in excluded]
    return not kept


def _ordinal(value: Key) -> int:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.toordinal()
    if isinstance(value, int):
        return value
    raise TypeError("not discrete")


def _from_ordinal(ordinal: int, like: Key) -> Key:
    return date.fromordinal(ordinal) if isinstance(like, date) else ordinal


def meet(a: Values | None, b: Values | None) -> Values | None:
    """What both admit (None: their values cannot be compared)."""
    if a is None or b is None:
        return None
    only = a.only if b.only is None else b.only if a.only is None else a.only & b.only
    try:
        low = max_bound(a.low, b.low, lower=True)
        high = max_bound(a.high, b.high, lower=False)
    except TypeError:
        return None
    return Values(a.null and b.null, only, a.excluded | b.excluded, low, high)


def meet_all(values: list[Values | None]) -> Values | None:
    total: Values | None = EVERYTHING
    for value in values:
        total = meet(total, value)
    return total


def max_bound(a: Bound | None, b: Bound | None, lower: bool) -> Bound | None:
    """The tighter of two lower (or upper) bounds."""
    if a is None or b is None:
        return a or b
    if a.value == b.value:
        return Bound(a.value, a.strict or b.strict)
    tighter = a.value > b.value if lower else a.value < b.value  # type: ignore[operator]
    return a if tighter else b


def leaf_values(leaf: Leaf, ftype: str) -> Values | None:
    """The values a leaf admits on a field of type `ftype` (EVERYTHING when unknown)."""
    op, value = leaf.op, leaf.value
    if op == "=?":
        if not isinstance(value, Const) or not value.value:
            return EVERYTHING
        op = "="
    if ftype == "boolean":
        return boolean_values(op, value)
    if ftype in ZERO:
        return coalesced_values(op, value, ftype)
    if op in ("=", "!=") and isinstance(value, Const):
        if value.value is False or value.value is None:  # IS NULL / IS NOT NULL
            return Values(null=True, only=frozenset()) if op == "=" else Values(null=False)
        k = key(value.value, ftype)
        if k is None or not value.value:  # `= ''` also admits NULL on a selection
            return EVERYTHING
        return (
            Values(null=False, only=frozenset({k}))
            if op == "="
            else Values(excluded=frozenset({k}))
        )
    if op in ("in", "not in") and isinstance(value, ListOf):
        return list_values(op, value, ftype)
    if op in ("<", "<=", ">", ">=") and isinstance(value, Const) and ftype in ORDERED:
        k = key(value.value, ftype)
        if k is None or isinstance(k, bool):
            return EVERYTHING
        bound = Bound(k, op in ("<", ">"))
        return Values(null=False, low=bound) if op[0] == ">" else Values(null=False, high=bound)
    return EVERYTHING


def coalesced_values(op: str, value: object, ftype: str) -> Values:
    """On numbers and strings, what a leaf admits of `coalesce(field, 0 or '')`: the
    compiler (as Odoo) makes NULL equal to 0 or '' for every operator."""
    if isinstance(value, ListOf):
        value = ListOf(tuple(zeroed(item, ftype) for item in value.items))
    elif isinstance(value, Const):
        value = zeroed(value, ftype)
    if op in ("in", "not in") and isinstance(value, ListOf):
        found = list_values(op, value, ftype)
        return replace(found, null=False)
    if not isinstance(value, Const):
        return EVERYTHING
    k = key(value.value, ftype)
    if k is None:
        return EVERYTHING
    if op == "=":
        return Values(null=False, only=frozenset({k}))
    if op == "!=":
        return Values(null=False, excluded=frozenset({k}))
    if op in ("<", "<=", ">", ">=") and ftype in ORDERED:
        bound = Bound(k, op in ("<", ">"))
        return Values(null=False, low=bound) if op[0] == ">" else Values(null=False, high=bound)
    return EVERYTHING


def zeroed(value: Value, ftype: str) -> Value:
    """False and None as the zero of the field's type."""
    if isinstance(value, Const) and (value.value is False or value.value is None):
        return Const(ZERO[ftype])
    return value


def list_values(op: str, value: ListOf, ftype: str) -> Values:
    keys: set[Key] = set()
    null = False
    for item in value.items:
        if not isinstance(item, Const):
            return EVERYTHING
        if item.value is False or item.value is None:
            null = True
            continue
        k = key(item.value, ftype)
        if k is None:
            return EVERYTHING
        keys.add(k)
    if op == "in":
        return Values(null=null, only=frozenset(keys))
    return Values(null=not null, excluded=frozenset(keys))


def boolean_values(op: str, value: object) -> Values:
    """On a boolean field `= False` also matches NULL (Odoo), `= True` only true."""
    if op not in ("=", "!=") or not isinstance(value, Const) or not isinstance(value.value, bool):
        return EVERYTHING
    truth = value.value if op == "=" else not value.value
    if truth:
        return Values(null=False, only=frozenset({True}))
    return Values(null=True, only=frozenset({False}))


def key(value: object, ftype: str) -> Key | None:
    """A constant as a value of the field's type, or None when its meaning is not plain."""
    if isinstance(value, bool) or value is None:
        return None
    if ftype in ("integer", "many2one"):
        return value if isinstance(value, int) else None
    if ftype in ("float", "monetary"):
        return float(value) if isinstance(value, int | float) else None
    if ftype in ("char", "text", "html", "selection"):
        return value if isinstance(value, str) else None
    if not isinstance(value, str):
        return None
    try:
        if ftype == "date":
            return date.fromisoformat(value) if len(value) == 10 else None
        if ftype == "datetime":  # a date alone is padded by Odoo depending on the operator
            return datetime.fromisoformat(value) if len(value) > 10 else None
    except ValueError:
        return None
    return None
