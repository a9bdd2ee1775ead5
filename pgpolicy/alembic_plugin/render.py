"""Operations rendered as the `op.<name>(...)` calls of a revision file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pgpolicy.alembic_plugin.operations import (
    FUNCTION_RETURNS,
    OPERATIONS,
    CreatePolicyOp,
    CreateSearchFunctionOp,
    CreateSearchSchemaOp,
    CreateSudoFunctionOp,
    CreateSudoSchemaOp,
    DisableRlsOp,
    DropPolicyOp,
    DropSearchFunctionOp,
    DropSearchSchemaOp,
    DropSudoFunctionOp,
    DropSudoSchemaOp,
    EnableRlsOp,
    ForceRlsOp,
    NoForceRlsOp,
    Policy,
    PolicyOperation,
    ReplacePolicyOp,
    SetViewInvokerOp,
)

IMPORT_LINE = (
    "from pgpolicy.alembic_plugin import Policy  # noqa: F401  (registers op.create_policy & co)"
)
# Operations are registered on alembic's `Operations` at run time, which its `op` stub
# cannot know: a revision file tells mypy so, and is type-checked otherwise.
MYPY_LINE = '# mypy: disable-error-code="attr-defined"'


def py(value: Any) -> str:
    """A Python literal for plain data; SQL text is quoted so that it reads as written."""
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(py(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + "".join(py(v) + ", " for v in value).rstrip(" ") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    raise TypeError(f"cannot render {value!r} as a Python literal")


def py_str(text: str) -> str:
    """`text` in the first Python quotes that hold it unescaped (SQL has both kinds)."""
    if "\\" in text or not text.isprintable():
        return repr(text)
    for quote in ('"', "'", '"""', "'''"):
        if quote not in text and not text.endswith(quote[0]):
            return f"{quote}{text}{quote}"
    return repr(text)


def call(function: str, args: Sequence[str], kwargs: Sequence[tuple[str, str]]) -> str:
    """`function(arg, ..., key=value, ...)`, one argument per line."""
    lines = [f"    {a}," for a in args] + [f"    {k}={v}," for k, v in kwargs]
    return "\n".join([f"{function}(", *lines, ")"])


def policy_kwargs(policy: Policy) -> list[tuple[str, str]]:
    kwargs = [
        ("command", py(policy.command)),
        ("permissive", py(policy.permissive)),
        ("roles", py(tuple(policy.roles))),
        ("using", py(policy.using)),
        ("check", py(policy.check)),
    ]
    if policy.provenance is not None:
        kwargs.append(("provenance", py(policy.provenance)))
    if policy.comment is not None:
        kwargs.append(("comment", py(policy.comment)))
    return kwargs


def policy_literal(policy: Policy) -> str:
    return call("Policy", [], policy_kwargs(policy)).replace("\n", "\n    ")


def render(operation: PolicyOperation) -> str:
    """The operation as the `op.<name>(...)` call a revision file makes."""
    text = _render(operation)
    if operation.reason and operation.reason != "new":
        text = f"# {operation.reason}\n{text}"
    return text


def _render(o: PolicyOperation) -> str:
    if isinstance(o, CreatePolicyOp):
        return call("op.create_policy", [py(o.table), py(o.name)], policy_kwargs(o.policy))
    if isinstance(o, DropPolicyOp):
        return f"op.drop_policy({py(o.table)}, {py(o.name)})"
    if isinstance(o, ReplacePolicyOp):
        kwargs = [("old", policy_literal(o.old)), ("new", policy_literal(o.new))]
        return call("op.replace_policy", [py(o.table), py(o.name)], kwargs)
    if isinstance(o, EnableRlsOp):
        return f"op.enable_rls({py(o.table)}{', force=True' if o.force else ''})"
    if isinstance(o, DisableRlsOp):
        return f"op.disable_rls({py(o.table)}{', force=True' if o.force else ''})"
    if isinstance(o, ForceRlsOp):
        return f"op.force_rls({py(o.table)})"
    if isinstance(o, NoForceRlsOp):
        return f"op.no_force_rls({py(o.table)})"
    if isinstance(o, SetViewInvokerOp):
        return f"op.set_view_invoker({py(o.view)}{'' if o.invoker else ', invoker=False'})"
    if isinstance(o, CreateSudoSchemaOp):
        return f"op.create_sudo_schema(roles={py(list(o.roles))})"
    if isinstance(o, DropSudoSchemaOp):
        return "op.drop_sudo_schema()"
    if isinstance(o, CreateSudoFunctionOp):
        kwargs = [("body", py(o.body)), ("roles", py(list(o.roles)))]
        if o.replaces is not None:
            kwargs.append(("replaces", py(o.replaces)))
        if o.returns != FUNCTION_RETURNS:
            kwargs.append(("returns", py(o.returns)))
        return call("op.create_sudo_function", [py(o.name)], kwargs)
    if isinstance(o, DropSudoFunctionOp):
        return f"op.drop_sudo_function({py(o.name)})"
    if isinstance(o, CreateSearchSchemaOp):
        return f"op.create_search_schema(roles={py(list(o.roles))})"
    if isinstance(o, DropSearchSchemaOp):
        return "op.drop_search_schema()"
    if isinstance(o, CreateSearchFunctionOp):
        kwargs = [("body", py(o.body)), ("comment", py(o.comment)), ("roles", py(list(o.roles)))]
        if o.replaces is not None:
            kwargs += [("replaces", py(o.replaces)), ("replaces_comment", py(o.replaces_comment))]
        return call("op.create_search_function", [py(o.name)], kwargs)
    if isinstance(o, DropSearchFunctionOp):
        return f"op.drop_search_function({py(o.name)})"
    raise TypeError(f"no renderer for {type(o).__name__}")


def render_body(operations: Sequence[PolicyOperation]) -> list[str]:
    """Lines of an `upgrade()`/`downgrade()` body: one call per operation, grouped by table."""
    lines: list[str] = []
    group: str | None = None
    for operation in operations:
        table = getattr(operation, "table", None) or "generated functions"
        if table != group:
            group = table
            if lines:
                lines.append("")
            lines.append(f"# ---- {table}")
        lines.extend(render(operation).split("\n"))
    return lines


def register_renderers() -> None:
    from alembic.autogenerate import renderers

    def rendered(autogen_context: Any, operation: PolicyOperation) -> str:
        autogen_context.imports.update((MYPY_LINE, IMPORT_LINE))
        return render(operation)

    for op_class in OPERATIONS:
        renderers.dispatch_for(op_class, replace=True)(rendered)
