"""Parse Odoo domains (`ir.rule.domain_force` text) into a small typed tree, without eval.

The text is Python source evaluated by Odoo with `safe_eval` in a context of
`user`, `company_ids`, `company_id` and `time`. We read it with `ast` and accept
a whitelist: literals, lists and tuples, `+` on lists, `user.<path>` chains,
`company_ids`, `company_id`, `time.strftime(...)`, `user.has_group(...)` and
conditional expressions. The values that depend on who is asking stay symbolic
(`Context` nodes) so that the compiled SQL reads them at query time.

Then the domain's prefix notation is turned into a tree and negations are pushed
down exactly as `odoo.osv.expression` does (`_anyfy_leaves`, `_tree_not`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
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


Value = Const | ListOf | Context | Concat | HasGroup | Strftime | IfElse

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


Node = Leaf | And | Or | Not | Bool
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
        items = self.domain_items(node)
        return build_tree(items, self.odoo_major)

    def domain_items(self, node: ast.expr) -> list[str | Leaf | Bool]:
        if isinstance(node, ast.List | ast.Tuple):
            return [self.domain_item(element) for element in node.elts]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.domain_items(node.left) + self.domain_items(node.right)
        raise self.fail(node, "a domain must be a list of terms")

    def domain_item(self, node: ast.expr) -> str | Leaf | Bool:
        if isinstance(node, ast.Constant) and node.value in ("&", "|", "!"):
            return str(node.value)
        if isinstance(node, ast.Tuple | ast.List) and len(node.elts) == 3:
            left, op, right = node.elts
            if not (isinstance(op, ast.Constant) and isinstance(op.value, str)):
                raise self.fail(op, "the operator of a term must be a string literal")
            operator = "!=" if op.value == "<>" else op.value.lower()
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
            return Leaf(left.value, operator, self.value(right))
        raise self.fail(node, "expected '&', '|', '!' or a (field, operator, value) term")

    def constant_leaf(self, node: ast.expr, left: int, op: str, right: ast.expr) -> Bool:
        value = self.value(right)
        if op != "=" or not (isinstance(value, Const) and value.value in (0, 1)):
            raise self.fail(node, "only (1, '=', 1) and (0, '=', 1) may compare constants")
        return Bool(left == value.value)

    # -- value level -------------------------------------------------------
    def value(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str | int | float | bool) or node.value is None:
                return Const(node.value)
            raise self.fail(node, "unsupported literal")
        if isinstance(node, ast.List | ast.Tuple):
            return ListOf(tuple(self.value(element) for element in node.elts))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.value(node.operand)
            if isinstance(inner, Const) and isinstance(inner.value, int | float):
                return Const(-inner.value)
            raise self.fail(node, "unary minus applies to numbers only")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return Concat(self.value(node.left), self.value(node.right))
        if isinstance(node, ast.IfExp):
            return IfElse(self.value(node.test), self.value(node.body), self.value(node.orelse))
        if isinstance(node, ast.Name):
            if node.id in ("company_ids", "company_id"):
                return Context(node.id)
            if node.id in ("True", "False", "None"):
                return Const({"True": True, "False": False, "None": None}[node.id])
            if self.placeholders and node.id in CONTEXT_PLACEHOLDERS:
                return CONTEXT_PLACEHOLDERS[node.id]
            if self.placeholders and node.id in DATE_PLACEHOLDERS:
                return Context("date", (node.id,))
            raise self.fail(node, f"name {node.id!r} is not in the rule evaluation context")
        if isinstance(node, ast.Attribute):
            return Context("user", self.user_path(node))
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"unsupported expression {type(node).__name__}")

    def user_path(self, node: ast.expr) -> tuple[str, ...]:
        names: list[str] = []
        current = node
        while isinstance(current, ast.Attribute):
            if current.attr.startswith("_"):
                raise self.fail(current, "private and dunder attributes are not allowed")
            names.append(current.attr)
            current = current.value
        if not (isinstance(current, ast.Name) and current.id == "user"):
            raise self.fail(node, "only attribute chains on `user` are allowed")
        return tuple(reversed(names))

    def call(self, node: ast.Call) -> Value:
        func = node.func
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
        raise self.fail(node, "call outside the whitelist (user.has_group, time.strftime)")


# ---------------------------------------------------------------------------
# Prefix notation → tree, with Odoo's normalisation


def build_tree(items: list[str | Leaf | Bool], odoo_major: int = 18) -> Node:
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
        elif isinstance(item, Leaf | Bool):
            stack.append(anyfy(item) if isinstance(item, Leaf) else item)
    result = stack.pop()
    while stack:  # implicit '&' between remaining terms
        result = conjoin(result, stack.pop())
    return result


def _pop(stack: list[Node]) -> Node:
    if not stack:
        raise CompileError("malformed domain: an operator is missing its operands")
    return stack.pop()


def anyfy(leaf: Leaf) -> Node:
    """`('a.b', op, v)` → `('a', 'any', [('b', op, v)])`, recursively (`_anyfy_leaves`)."""
    head, dot, rest = leaf.path.partition(".")
    if dot:
        return Leaf(head, "any", anyfy(Leaf(rest, leaf.op, leaf.value)))
    if leaf.op in ("any", "not any") and not isinstance(leaf.value, Bool | And | Or | Not | Leaf):
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
    if node.op == "=?" and odoo_major == 17:
        return Not(node)
    if node.op == "=?":
        if isinstance(node.value, Const) and not node.value.value:
            return FALSE
        return Leaf(node.path, "!=", node.value)
    if node.op in NEGATION:
        return Leaf(node.path, NEGATION[node.op], node.value)
    return Not(node)
