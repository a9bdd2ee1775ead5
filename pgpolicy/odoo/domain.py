"""Parse Odoo domains (`ir.rule.domain_force` text) into a small typed tree, without eval.

The text is Python source evaluated by Odoo with `safe_eval` in a context of
`user`, `company_ids`, `company_id` and `time` (`ir.rule._eval_context`; the website
module adds `website`). We read it with `ast` and accept a whitelist: literals, lists
and tuples, `+` on lists, `user.<path>` chains (with `.mapped('path')` and the list
comprehension `[r.id for r in user.<path>]`), `company_ids`, `company_id`,
`time.strftime(...)`, `user.has_group(...)`, `not`, `and`, `or` and conditional
expressions, both around a whole domain and inside a value. The values that depend on
who is asking stay symbolic (`Context` nodes) so that the compiled SQL reads them when
the statement is planned; a conditional on such a value becomes a `Cond` node whose
branches are both compiled (the test is folded with the rest of the context).

Then the domain's prefix notation is turned into a tree and negations are pushed
down exactly as `odoo.osv.expression` does (`_anyfy_leaves`, `_tree_not`).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pgpolicy.errors import CompileError

# ---------------------------------------------------------------------------
# Values: what stands on the right of a leaf

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Const:
    """A literal: a scalar, or a list/tuple of values (kept as a tuple)."""

    value: Scalar


@dataclass(frozen=True)
class ListOf:
    """A list or tuple literal, possibly holding context values."""

    items: tuple[Value, ...]


@dataclass(frozen=True)
class Context:
    """A value known only at query time.

    `name` is one of: `user` (then `path` is the attribute chain after `user.`,
    e.g. ("partner_id", "id")), `company_ids`, `company_id`, or `date` (then `path`
    is a date placeholder of a profile domain, e.g. ("__month_start__",)).
    """

    name: str
    path: tuple[str, ...] = ()
    mapped: bool = False  # `.mapped('<path>')` last: a list, even of a non-relational field


@dataclass(frozen=True)
class Concat:
    """`a + b` on lists (e.g. `company_ids + [False]`)."""

    left: Value
    right: Value


@dataclass(frozen=True)
class HasGroup:
    """`user.has_group('module.xml_id')`: a boolean known at query time."""

    xml_id: str


@dataclass(frozen=True)
class Strftime:
    """`time.strftime(fmt)`: the current UTC time formatted, known at query time."""

    fmt: str


@dataclass(frozen=True)
class IfElse:
    """`a if test else b`, where the test is itself a value."""

    test: Value
    then: Value
    other: Value


@dataclass(frozen=True)
class Negated:
    """`not a`: a boolean."""

    operand: Value


@dataclass(frozen=True)
class Missing:
    """`a is False or a is None`: the test of `=?` (`BaseModel._condition_to_sql`)."""

    operand: Value


Value = Const | ListOf | Context | Concat | HasGroup | Strftime | IfElse | Negated | Missing

# ---------------------------------------------------------------------------
# Domain trees

TERM_OPERATORS = (
    "=",
    "!=",
    "<=",
    "<",
    ">",
    ">=",
    "=?",
    "=like",
    "=ilike",
    "like",
    "not like",
    "ilike",
    "not ilike",
    "in",
    "not in",
    "child_of",
    "parent_of",
    "any",
    "not any",
)
NEGATION = {
    "<": ">=",
    ">": "<=",
    "<=": ">",
    ">=": "<",
    "=": "!=",
    "!=": "=",
    "in": "not in",
    "not in": "in",
    "like": "not like",
    "not like": "like",
    "ilike": "not ilike",
    "not ilike": "ilike",
    "any": "not any",
    "not any": "any",
}
NEGATIVE_OPERATORS = ("!=", "not like", "not ilike", "not in")


@dataclass(frozen=True)
class Leaf:
    """`(field_path, operator, value)`.

    `value` is a `Value`, or a `Node` for any/not any; the compiler also puts
    its own resolved operands (subqueries) here when it rewrites a leaf.
    """

    path: str
    op: str
    value: Any
    # the path leaf ('a.b', op, v) an `any` leaf was made from (`is_false` reads it)
    origin: Leaf | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """Kept only above leaves whose operator has no negation (=like, child_of, ...)."""

    child: Node


@dataclass(frozen=True)
class Bool:
    """TRUE_LEAF `(1, '=', 1)` / FALSE_LEAF `(0, '=', 1)`."""

    value: bool


@dataclass(frozen=True)
class Cond:
    """`then if test else other` where the test is a value known at query time only.

    Odoo evaluates the test first and normalizes the domain it selects; both branches
    are kept here, and the compiler picks one when the statement is planned."""

    test: Value
    then: Node
    other: Node


@dataclass(frozen=True)
class Exists:
    """Whether some record of `model` matches `domain`: a condition on no row in
    particular, which some of Odoo's name searches decide in Python (res.users by login).
    Made by the compiler only, never parsed."""

    model: str
    domain: Node
    negated: bool = False


Node = Leaf | And | Or | Not | Bool | Cond | Exists
TRUE = Bool(True)
FALSE = Bool(False)

# ---------------------------------------------------------------------------
# Parsing Python source

_USER_METHODS = {"has_group"}

# Names a profile domain may use besides Odoo's rule context (docs/profiles.md).
CONTEXT_PLACEHOLDERS: dict[str, Context] = {
    "__uid__": Context("user", ("id",)),
    "__cid__": Context("company_id"),
    "__company_ids__": Context("company_ids"),
}
DATE_PLACEHOLDERS = (
    "__today__",
    "__yesterday__",
    "__tomorrow__",
    "__week_start__",
    "__week_end__",
    "__month_start__",
    "__month_end__",
    "__quarter_start__",
    "__quarter_end__",
    "__year_start__",
    "__year_end__",
    "__last_7_days__",
    "__last_30_days__",
    "__last_90_days__",
    "__last_365_days__",
)


def parse_rule_domain(text: str | None, placeholders: bool = False, odoo_major: int = 18) -> Node:
    """Parse `domain_force` source into a normalized tree (`[]`/empty → TRUE).

    With `placeholders` (profile domains), `__uid__`, `__today__`, ... are accepted too.
    `odoo_major` is the Odoo version whose normalisation applies (`negate`).
    """
    source = (text or "").strip()
    if not source:
        return TRUE
    if "\x00" in source:  # Python refuses to parse it; SQL could not hold it either
        line = source.count("\n", 0, source.index("\x00")) + 1
        raise CompileError(
            "a domain may not hold a NUL character", position=f"line {line}", token="\x00"
        )
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise CompileError(
            f"syntax error: {exc.msg}", position=f"line {exc.lineno}, column {exc.offset}"
        ) from exc
    return _Reader(source, placeholders, odoo_major).domain(tree.body)


@dataclass
class _Reader:
    source: str
    placeholders: bool = False
    odoo_major: int = 18

    def fail(self, node: ast.AST, reason: str) -> CompileError:
        segment = ast.get_source_segment(self.source, node) or type(node).__name__
        line, col = getattr(node, "lineno", 0), getattr(node, "col_offset", 0) + 1
        return CompileError(reason, position=f"line {line}, column {col}", token=segment)

    # -- domain level ------------------------------------------------------
    def domain(self, node: ast.expr) -> Node:
        found = conditional_domain(node)
        if found is not None:
            test, then, other = found
            return cond(self.value(test), self.domain(then), self.domain(other))
        return build_tree(self.domain_items(node), self.odoo_major)

    def domain_items(self, node: ast.expr) -> list[str | Node]:
        if isinstance(node, ast.List | ast.Tuple):
            return [self.domain_item(element) for element in node.elts]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.domain_items(node.left) + self.domain_items(node.right)
        raise self.fail(node, "a domain must be a list of terms")

    def domain_item(self, node: ast.expr) -> str | Node:
        if isinstance(node, ast.Constant) and node.value in ("&", "|", "!"):
            return str(node.value)
        if isinstance(node, ast.Tuple | ast.List) and len(node.elts) == 3:
            left, op, right = node.elts
            if not (isinstance(op, ast.Constant) and isinstance(op.value, str)):
                raise self.fail(op, "the operator of a term must be a string literal")
            operator = "!=" if op.value == "<>" else op.value.lower()
            if operator == "==" and self.odoo_major >= 19:
                operator = "="  # deprecated alias (odoo/orm/domains.py:1266-1271)
            if operator not in TERM_OPERATORS:
                raise self.fail(op, f"unknown operator {op.value!r}")
            if (
                isinstance(left, ast.Constant)
                and isinstance(left.value, int)
                and not isinstance(left.value, bool)
                and left.value in (0, 1)
            ):
                return self.constant_leaf(node, left.value, operator, right)
            if not (isinstance(left, ast.Constant) and isinstance(left.value, str) and left.value):
                raise self.fail(left, "the field of a term must be a non-empty string literal")
            if operator in ("any", "not any"):
                return Leaf(left.value, operator, self.domain(right))
            return hoist(Leaf(left.value, operator, self.value(right)))
        raise self.fail(node, "expected '&', '|', '!' or a (field, operator, value) term")

    def constant_leaf(self, node: ast.expr, left: int, op: str, right: ast.expr) -> Bool:
        value = self.value(right)
        if op != "=" or not (isinstance(value, Const) and value.value in (0, 1)):
            raise self.fail(node, "only (1, '=', 1) and (0, '=', 1) may compare constants")
        return Bool(left == value.value)

    # -- value level -------------------------------------------------------
    def value(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, float) and not math.isfinite(node.value):
                raise self.fail(node, "a number must be finite (SQL has no such constant)")
            if isinstance(node.value, str) and "\x00" in node.value:
                raise self.fail(node, "a string may not hold a NUL character")
            if isinstance(node.value, str | int | float | bool) or node.value is None:
                return Const(node.value)
            raise self.fail(node, "unsupported literal")
        if isinstance(node, ast.List | ast.Tuple):
            return ListOf(tuple(self.value(element) for element in node.elts))
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.IfExp):
            return if_else(self.value(node.test), self.value(node.body), self.value(node.orelse))
        if isinstance(node, ast.BoolOp):
            return self.bool_op(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Attribute):
            return Context("user", self.user_path(node))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.ListComp):
            return self.list_comprehension(node)
        raise self.fail(node, f"unsupported expression {type(node).__name__}")

    def unary(self, node: ast.UnaryOp) -> Value:
        inner = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return Const(not inner.value) if isinstance(inner, Const) else Negated(inner)
        if isinstance(node.op, ast.USub | ast.UAdd):
            if isinstance(inner, Const) and _number(inner.value):
                assert isinstance(inner.value, int | float)
                return Const(-inner.value if isinstance(node.op, ast.USub) else inner.value)
            raise self.fail(node, "unary minus applies to numbers only")
        raise self.fail(node, f"unsupported operator {type(node.op).__name__}")

    def binary(self, node: ast.BinOp) -> Value:
        """`+` on lists (kept symbolic) and arithmetic on constants (folded, as Python would)."""
        left, right = self.value(node.left), self.value(node.right)
        if isinstance(left, Const) and isinstance(right, Const):
            return self.fold(node, left.value, right.value)
        if isinstance(node.op, ast.Add) and all(_list_like(v) for v in (left, right)):
            return Concat(left, right)
        raise self.fail(node, "arithmetic is supported on constants and `+` on lists only")

    def fold(self, node: ast.BinOp, left: Scalar, right: Scalar) -> Const:
        numbers = _number(left) and _number(right)
        assert not numbers or (isinstance(left, int | float) and isinstance(right, int | float))
        if isinstance(node.op, ast.Add) and (
            numbers or (isinstance(left, str) and isinstance(right, str))
        ):
            return Const(left + right)  # type: ignore[operator]
        if numbers and isinstance(node.op, ast.Sub | ast.Mult):
            op = node.op
            a, b = left, right
            assert isinstance(a, int | float) and isinstance(b, int | float)
            return Const(a - b if isinstance(op, ast.Sub) else a * b)
        raise self.fail(node, "arithmetic is supported on numbers (+, -, *) and `+` on strings")

    def bool_op(self, node: ast.BoolOp) -> Value:
        """`a or b` is `a if a else b`, `a and b` is `b if a else a`: Python's values."""
        values = [self.value(v) for v in node.values]
        result = values[-1]
        for value in reversed(values[:-1]):
            if isinstance(node.op, ast.Or):
                result = if_else(value, value, result)
            else:
                result = if_else(value, result, value)
        return result

    def name(self, node: ast.Name) -> Value:
        if node.id in ("company_ids", "company_id"):
            return Context(node.id)
        if node.id in ("True", "False", "None"):
            return Const({"True": True, "False": False, "None": None}[node.id])
        if self.placeholders and node.id in CONTEXT_PLACEHOLDERS:
            return CONTEXT_PLACEHOLDERS[node.id]
        if self.placeholders and node.id in DATE_PLACEHOLDERS:
            return Context("date", (node.id,))
        if node.id == "website":
            raise self.fail(node, WEBSITE_REASON)
        if node.id in SAFE_EVAL_BUILTINS:
            raise self.fail(node, f"the builtin {node.id}() is not supported")
        raise self.fail(
            node,
            f"name {node.id!r} is not in the rule evaluation context (Odoo evaluates "
            "domain_force with user, time, company_ids and company_id only)",
        )

    def user_path(self, node: ast.expr) -> tuple[str, ...]:
        """The attribute chain after `user`, `.mapped('a.b')` read as `.a.b`."""
        if isinstance(node, ast.Name) and node.id == "user":
            return ()
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise self.fail(node, "private and dunder attributes are not allowed")
            return (*self.user_path(node.value), node.attr)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "mapped"
        ):
            if not (
                not node.keywords
                and len(node.args) == 1
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                raise self.fail(node, "mapped() takes a dotted field path")
            names = tuple(node.args[0].value.split("."))
            if not all(names) or any(n.startswith("_") for n in names):
                raise self.fail(node, "mapped() takes a dotted field path")
            return (*self.user_path(node.func.value), *names)
        if isinstance(node, ast.Name) and node.id not in ("company_ids", "company_id", "time"):
            self.name(node)  # raises: why that name is not known here
        raise self.fail(node, "only attribute chains on `user` are allowed")

    def list_comprehension(self, node: ast.ListComp) -> Value:
        """`[r.id for r in user.<path>]`: the ids of that recordset (`user.<path>.ids`)."""
        if len(node.generators) == 1:
            generator = node.generators[0]
            target = generator.target
            if (
                not generator.ifs
                and not generator.is_async
                and isinstance(target, ast.Name)
                and isinstance(node.elt, ast.Attribute)
                and node.elt.attr == "id"
                and isinstance(node.elt.value, ast.Name)
                and node.elt.value.id == target.id
            ):
                return Context("user", (*self.user_path(generator.iter), "ids"))
        raise self.fail(node, "only [r.id for r in user.<path>] is supported")

    def call(self, node: ast.Call) -> Value:
        func = node.func
        root: ast.expr = func
        while isinstance(root, ast.Attribute | ast.Call):
            root = root.value if isinstance(root, ast.Attribute) else root.func
        if isinstance(root, ast.Name) and root.id not in ("user", "time"):
            self.name(root)  # raises: why that name cannot be called here
        if isinstance(func, ast.Attribute) and func.attr == "mapped":
            return Context("user", self.user_path(node), mapped=True)
        if node.keywords or len(node.args) != 1:
            raise self.fail(node, "unsupported call")
        arg = node.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise self.fail(arg, "the argument must be a string literal")
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id == "user" and func.attr in _USER_METHODS:
                return HasGroup(arg.value)
            if func.value.id == "time" and func.attr == "strftime":
                return Strftime(arg.value)
        raise self.fail(node, "call outside the whitelist (user.has_group, time.strftime, mapped)")


# `odoo.tools.safe_eval._BUILTINS`: names Odoo knows in every evaluation
SAFE_EVAL_BUILTINS = frozenset(
    (
        "str",
        "unicode",
        "bytes",
        "bool",
        "int",
        "float",
        "enumerate",
        "dict",
        "list",
        "tuple",
        "map",
        "abs",
        "min",
        "max",
        "sum",
        "reduce",
        "filter",
        "sorted",
        "round",
        "len",
        "repr",
        "set",
        "all",
        "any",
        "ord",
        "chr",
        "divmod",
        "isinstance",
        "range",
        "xrange",
        "zip",
    )
)

WEBSITE_REASON = (
    "`website` (the request's website, in the website module's rule context) is not known "
    "to the database"
)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _list_like(value: Value) -> bool:
    """Whether `+` on this value is list concatenation (not arithmetic on an id)."""
    if isinstance(value, Context):
        return value.name == "company_ids" or value.mapped or (value.path[-1:] == ("ids",))
    if isinstance(value, IfElse):
        return _list_like(value.then) and _list_like(value.other)
    return isinstance(value, ListOf | Concat)


def conditional_domain(node: ast.expr) -> tuple[ast.expr, ast.expr, ast.expr] | None:
    """The first conditional expression in a domain's structure (the domain itself, an operand
    of `+` between domains, or one of its terms): its test, and the domain with it replaced
    by each branch."""
    if isinstance(node, ast.IfExp):
        return node.test, node.body, node.orelse
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        for side in ("left", "right"):
            found = conditional_domain(getattr(node, side))
            if found is not None:
                test, then, other = found
                return (
                    test,
                    ast.copy_location(ast.BinOp(**{**_fields(node), side: then}), node),
                    ast.copy_location(ast.BinOp(**{**_fields(node), side: other}), node),
                )
    if isinstance(node, ast.List | ast.Tuple):
        for index, element in enumerate(node.elts):
            if isinstance(element, ast.IfExp):
                branches = []
                for branch in (element.body, element.orelse):
                    elements = [*node.elts[:index], branch, *node.elts[index + 1 :]]
                    branch_list = ast.List(elts=elements, ctx=ast.Load())
                    branches.append(ast.copy_location(branch_list, node))
                return element.test, branches[0], branches[1]
    return None


def _fields(node: ast.BinOp) -> dict[str, Any]:
    return {"left": node.left, "op": node.op, "right": node.right}


def if_else(test: Value, then: Value, other: Value) -> Value:
    """`then if test else other`, decided now when the test is a constant."""
    if isinstance(test, Const):
        return then if test.value else other
    return then if then == other else IfElse(test, then, other)


def cond(test: Value, then: Node, other: Node) -> Node:
    """A domain chosen by a test: decided now when the test is a constant."""
    if isinstance(test, Const):
        return then if test.value else other
    if isinstance(test, Negated):
        return cond(test.operand, other, then)
    return then if then == other else Cond(test, then, other)


def hoist(leaf: Leaf) -> Node:
    """A term whose value holds a conditional, as a conditional between two terms.

    Odoo evaluates the value before it reads the domain: `('f', op, a if t else b)` is the
    term `('f', op, a)` when t holds and `('f', op, b)` otherwise."""
    found = _first_conditional(leaf.value)
    if found is None:
        return anyfy(leaf)
    then = assume(_substitute(leaf.value, found, found.then), found.test, True)
    other = assume(_substitute(leaf.value, found, found.other), found.test, False)
    return cond(
        found.test,
        hoist(Leaf(leaf.path, leaf.op, then)),
        hoist(Leaf(leaf.path, leaf.op, other)),
    )


def assume(value: Value, test: Value, truth: bool) -> Value:
    """`value` where `test` is known to be `truth`: the same test decided, and the test's own
    value where its truth tells it (a group test; an id that is False; a list that is []),
    so that a branch Odoo never evaluates is not compiled with values it cannot hold
    (`has_group(...) and company_id or ...`)."""
    if value == test:
        if isinstance(test, HasGroup | Negated | Missing):
            return Const(truth)
        if not truth and isinstance(test, Context):
            return ListOf(()) if _list_like(test) else Const(False)
        return value
    if isinstance(value, IfElse):
        if value.test == test:
            return assume(value.then if truth else value.other, test, truth)
        return if_else(
            assume(value.test, test, truth),
            assume(value.then, test, truth),
            assume(value.other, test, truth),
        )
    if isinstance(value, Negated):
        inner = assume(value.operand, test, truth)
        return Const(not inner.value) if isinstance(inner, Const) else Negated(inner)
    if isinstance(value, ListOf):
        return ListOf(tuple(assume(item, test, truth) for item in value.items))
    if isinstance(value, Concat):
        return Concat(assume(value.left, test, truth), assume(value.right, test, truth))
    return value


def _first_conditional(value: Value) -> IfElse | None:
    if isinstance(value, IfElse):
        return value
    parts: tuple[Value, ...] = ()
    if isinstance(value, ListOf):
        parts = value.items
    elif isinstance(value, Concat):
        parts = (value.left, value.right)
    for part in parts:
        found = _first_conditional(part)
        if found is not None:
            return found
    return None


def _substitute(value: Value, old: IfElse, new: Value) -> Value:
    if value is old:
        return new
    if isinstance(value, ListOf):
        return ListOf(tuple(_substitute(item, old, new) for item in value.items))
    if isinstance(value, Concat):
        return Concat(_substitute(value.left, old, new), _substitute(value.right, old, new))
    return value


# ---------------------------------------------------------------------------
# Prefix notation → tree, with Odoo's normalisation


def build_tree(items: Sequence[str | Node], odoo_major: int = 18) -> Node:
    """Odoo's prefix domain (implicit '&' between terms) as a tree, negations pushed down."""
    if not items:
        return TRUE
    stack: list[Node] = []
    for item in reversed(items):
        if item == "!":
            stack.append(negate(_pop(stack), odoo_major))
        elif item in ("&", "|"):
            first, second = _pop(stack), _pop(stack)
            stack.append(conjoin(first, second) if item == "&" else disjoin(first, second))
        elif not isinstance(item, str):
            stack.append(anyfy(item) if isinstance(item, Leaf) else item)
    result = stack.pop()
    while stack:  # implicit '&' between remaining terms
        result = conjoin(result, stack.pop())
    return result


def is_false(node: Node) -> bool:
    """Odoo's shortcut before searching (`expression.is_false`, odoo/osv/expression.py:234,
    used by `BaseModel._search`, odoo/models.py:5732): a domain false by its constants and
    `in []` leaves alone matches nothing, and its other leaves are never looked at (not even
    their fields)."""
    return _truth(node) == -1


def _truth(node: Node) -> int:
    """Three-valued: -1 false, 0 unknown, +1 true (negations are already pushed down)."""
    if isinstance(node, Bool):
        return 1 if node.value else -1
    if isinstance(node, And):
        return min(_truth(child) for child in node.children)
    if isinstance(node, Or):
        return max(_truth(child) for child in node.children)
    if isinstance(node, Not):
        return -_truth(node.child)
    if isinstance(node, Leaf):
        raw = node.origin or node  # Odoo looks at the domain before paths become `any`
        if raw.op in ("in", "not in") and _empty(raw.value):
            return -1 if raw.op == "in" else 1
    return 0


def _empty(value: Any) -> bool:
    if isinstance(value, Const):
        return not value.value
    return isinstance(value, ListOf) and not value.items


def _pop(stack: list[Node]) -> Node:
    if not stack:
        raise CompileError("malformed domain: an operator is missing its operands")
    return stack.pop()


def anyfy(leaf: Leaf) -> Node:
    """`('a.b', op, v)` → `('a', 'any', [('b', op, v)])`, recursively (`_anyfy_leaves`)."""
    head, dot, rest = leaf.path.partition(".")
    if dot:
        return Leaf(head, "any", anyfy(Leaf(rest, leaf.op, leaf.value)), origin=leaf)
    if leaf.op in ("any", "not any") and not isinstance(
        leaf.value, Bool | And | Or | Not | Leaf | Cond
    ):
        raise CompileError(f"{leaf.op} needs a domain", token=leaf.path)
    return leaf


def conjoin(*nodes: Node) -> Node:
    """AND with Odoo's unit/absorbing elements."""
    children: list[Node] = []
    for node in nodes:
        if node == FALSE:
            return FALSE
        if node == TRUE:
            continue
        children.extend(node.children if isinstance(node, And) else (node,))
    if not children:
        return TRUE
    return children[0] if len(children) == 1 else And(tuple(children))


def disjoin(*nodes: Node) -> Node:
    """OR with Odoo's unit/absorbing elements."""
    children: list[Node] = []
    for node in nodes:
        if node == TRUE:
            return TRUE
        if node == FALSE:
            continue
        children.extend(node.children if isinstance(node, Or) else (node,))
    if not children:
        return FALSE
    return children[0] if len(children) == 1 else Or(tuple(children))


def negate(node: Node, odoo_major: int = 18) -> Node:
    """Push a negation down as `_tree_not` does.

    Odoo 18 rewrites `=?` before negating it; Odoo 17 keeps `NOT (=?)` (docs/semantics.md,
    "Odoo versions")."""
    if isinstance(node, Bool):
        return Bool(not node.value)
    if isinstance(node, And):
        return disjoin(*(negate(child, odoo_major) for child in node.children))
    if isinstance(node, Or):
        return conjoin(*(negate(child, odoo_major) for child in node.children))
    if isinstance(node, Not):
        return node.child
    if isinstance(node, Cond):
        return cond(node.test, negate(node.then, odoo_major), negate(node.other, odoo_major))
    if isinstance(node, Exists):
        return Exists(node.model, node.domain, not node.negated)
    if node.op == "=?" and odoo_major == 17:
        return Not(node)
    if node.op in ("<", "<=", ">", ">=") and odoo_major >= 19:
        # 19.0 negates an inequality after optimizing it (`DomainNot._optimize_step`,
        # odoo/orm/domains.py:557-558, `_negate` :853-866): the compiler decides
        return Not(node)
    if node.op == "=?":
        # `_tree_not`: FALSE when the value is falsy, else `!=` (decided when planned
        # for a value known at query time)
        if isinstance(node.value, Const):
            return Leaf(node.path, "!=", node.value) if node.value.value else FALSE
        return cond(node.value, Leaf(node.path, "!=", node.value), FALSE)
    if node.op in NEGATION:
        origin = negate(node.origin) if node.origin is not None else None
        return Leaf(
            node.path,
            NEGATION[node.op],
            node.value,
            origin=origin if isinstance(origin, Leaf) else None,
        )
    return Not(node)
