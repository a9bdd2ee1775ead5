"""Alembic glue: policy changes as migration operations, and autogenerate that sees drift.

Importing this module registers the operations a revision file calls:

    op.create_policy(table, name, command, permissive, roles, using, check, provenance=...)
    op.drop_policy(table, name)
    op.replace_policy(table, name, old=Policy(...), new=Policy(...))
    op.enable_rls(table, force=False)      op.disable_rls(table, force=False)
    op.force_rls(table)                    op.no_force_rls(table)
    op.create_sudo_schema(roles)           op.drop_sudo_schema()
    op.create_sudo_function(name, body, roles, replaces=None)
    op.drop_sudo_function(name)

Each operation is data with a `reverse()`, carrying what is needed to undo it
(a dropped policy carries its definition and its comment), and runs exactly
the statements `pgpolicy.ddl` composes: online through the connection's
driver, offline (`alembic upgrade --sql`) written out verbatim. Going through
SQLAlchemy's `text()` would read `:name` in a policy as a bind parameter and
double every `%`.

`setup(plugin)` is the `alembic.plugins` entry point: a comparator that
diffs the policy set compiled from the database's own Odoo rules against the
deployed one (`pgpolicy.plan.diff`: provenance hash and PostgreSQL's rendering
hash, so PostgreSQL re-deparsing an expression is never a difference) and
emits these operations, so `alembic revision --autogenerate` writes them and
`alembic check` fails on drift. `register_comparator()` is the classic,
pre-1.18 registration for environments that do not list plugins.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def setup(plugin: Any) -> None:
    """Entry point of the `alembic.plugins` group (alembic >= 1.18): the policy comparator.

    Enable it in env.py: `context.configure(..., autogenerate_plugins=["pgpolicy"])`.
    """
    plugin.add_autogenerate_comparator(_plugin_comparator, "autogenerate")


def _plugin_comparator(autogen_context: Any, upgrade_ops: Any) -> None:
    compare_policies(autogen_context, upgrade_ops)


# `setup` is defined before alembic is imported: importing this module first imports
# alembic, whose plugin discovery loads this very module and calls `setup` at once.
import psycopg  # noqa: E402
from alembic.operations import MigrateOperation, Operations  # noqa: E402
from alembic.util import CommandError  # noqa: E402
from psycopg import sql  # noqa: E402

from pgpolicy import ddl  # noqa: E402
from pgpolicy.apply import plan_for  # noqa: E402
from pgpolicy.catalog import Deployed, DeployedPolicy, read_deployed  # noqa: E402
from pgpolicy.compile import SUDO_SCHEMA, SudoFunction  # noqa: E402
from pgpolicy.errors import PgPolicyError  # noqa: E402
from pgpolicy.introspect import read_catalog  # noqa: E402
from pgpolicy.plan import Plan, roles_of  # noqa: E402
from pgpolicy.policy import PolicySet, PolicySpec, Provenance, build_policy_set  # noqa: E402
from pgpolicy.profile_store import read_profiles  # noqa: E402

IMPORT_LINE = (
    "from pgpolicy.migrations import Policy  # noqa: F401  (registers op.create_policy & co)"
)
# Operations are registered on alembic's `Operations` at run time, which its `op` stub
# cannot know: a revision file tells mypy so, and is type-checked otherwise.
MYPY_LINE = '# mypy: disable-error-code="attr-defined"'
ROLES_OPTION = "pgpolicy_app_roles"  # alembic.ini [alembic] option, comma separated
ROLES_X_ARGUMENT = "app_role"  # alembic -x app_role=ROLE[,ROLE]
ROLES_ENV = "PGPOLICY_APP_ROLE"  # comma separated
DEEP_OPTION = "pgpolicy_deep_check"  # -x / alembic.ini: compare PostgreSQL's renderings too
DEEP_ENV = "PGPOLICY_DEEP_CHECK"
FUNCTION_RETURNS = "integer[]"  # what every generated sudo function returns (compile.Compiler)


# ---- what a policy is, as an operation carries it -------------------------------------------


@dataclass(frozen=True)
class Policy:
    """A policy's definition: enough to create it again, with its comment.

    A new policy carries its `provenance` (kind, mode, rule ids) and gets its
    comment from `ddl.stamp_policies`, which adds the hash of PostgreSQL's
    rendering; a policy put back as it was carries its `comment` verbatim.
    """

    command: str
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    check: str | None
    provenance: dict[str, Any] | None = None
    comment: str | None = None

    def spec(self, table: str, name: str) -> PolicySpec:
        """The policy as `pgpolicy.ddl` takes it (provenance only matters when stamping)."""
        return PolicySpec(
            table,
            name,
            self.command,
            self.permissive,
            tuple(self.roles),
            self.using,
            self.check,
            provenance_of(self.provenance or {"kind": "unknown"}),
        )


def provenance_fields(provenance: Provenance) -> dict[str, Any]:
    """What a revision file says of a policy's origin (hashes are computed when it runs)."""
    data: dict[str, Any] = {
        "kind": provenance.kind,
        "mode": provenance.mode,
        "rule_ids": list(provenance.rule_ids),
        "xml_ids": list(provenance.xml_ids),
    }
    if provenance.error:
        data["error"] = provenance.error
    return data


def provenance_of(data: dict[str, Any]) -> Provenance:
    return Provenance(
        str(data["kind"]),
        data.get("mode"),
        tuple(int(i) for i in data.get("rule_ids", ())),
        tuple(str(x) for x in data.get("xml_ids", ())),
        data.get("error"),
    )


def desired_policy(spec: PolicySpec) -> Policy:
    return Policy(
        spec.command,
        spec.permissive,
        tuple(spec.roles),
        spec.using,
        spec.check,
        provenance=provenance_fields(spec.provenance),
    )


def deployed_policy(policy: DeployedPolicy) -> Policy:
    """A deployed policy as read from the catalog, comment included, to put it back as it was.

    The comment is the JSON PostgreSQL wrote (`jsonb::text`, see `ddl.stamp_policies`);
    serialised again the way jsonb prints it, it is the same text.
    """
    comment = None
    if policy.provenance is not None:
        comment = json.dumps(policy.provenance, ensure_ascii=False)
    return Policy(
        policy.command,
        policy.permissive,
        tuple(policy.roles),
        policy.using,
        policy.check,
        comment=comment,
    )


# ---- the one statement only migrations need ---------------------------------------------------


def comment_policy(table: str, name: str, comment: str | None) -> sql.Composed:
    """Put a policy's comment back verbatim (a new policy is stamped by the server instead)."""
    return sql.SQL("COMMENT ON POLICY {name} ON {table} IS {comment}").format(
        name=sql.Identifier(name), table=ddl.table_id(table), comment=sql.Literal(comment)
    )


# ---- operations -----------------------------------------------------------------------------


class PolicyOperation(MigrateOperation):
    """An operation that runs a fixed list of pgpolicy DDL statements."""

    # Declared, not set: a value here would become a default of the dataclass fields.
    reason: str | None  # why the plan wants it; a comment in the revision file

    def statements(self) -> list[sql.Composable]:
        raise NotImplementedError

    def reverse(self) -> PolicyOperation:
        raise NotImplementedError


@Operations.register_operation("create_policy")
@dataclass
class CreatePolicyOp(PolicyOperation):
    """CREATE POLICY, then its comment: stamped with its provenance, or put back verbatim."""

    table: str
    name: str
    policy: Policy
    reason: str | None = None

    @classmethod
    def create_policy(
        cls,
        operations: Operations,
        table: str,
        name: str,
        command: str,
        permissive: bool,
        roles: Sequence[str],
        using: str | None = None,
        check: str | None = None,
        provenance: dict[str, Any] | None = None,
        comment: str | None = None,
    ) -> None:
        """Create a row-level security policy on `public.<table>`."""
        policy = Policy(command, permissive, tuple(roles), using, check, provenance, comment)
        operations.invoke(cls(table, name, policy))

    def statements(self) -> list[sql.Composable]:
        return [*ddl.create_policy_only(self.policy.spec(self.table, self.name)), *self.comment()]

    def comment(self) -> list[sql.Composable]:
        if self.policy.comment is not None:
            return [comment_policy(self.table, self.name, self.policy.comment)]
        if self.policy.provenance is not None:
            return [ddl.stamp_policies([self.policy.spec(self.table, self.name)])]
        return []

    def reverse(self) -> DropPolicyOp:
        return DropPolicyOp(self.table, self.name, self.policy)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("create_policy", self.table, self.name, self.reason)


@Operations.register_operation("drop_policy")
@dataclass
class DropPolicyOp(PolicyOperation):
    """DROP POLICY; carries the definition when it is to be reversible."""

    table: str
    name: str
    policy: Policy | None = None
    reason: str | None = None

    @classmethod
    def drop_policy(
        cls,
        operations: Operations,
        table: str,
        name: str,
        command: str | None = None,
        permissive: bool = True,
        roles: Sequence[str] = (),
        using: str | None = None,
        check: str | None = None,
        provenance: dict[str, Any] | None = None,
        comment: str | None = None,
    ) -> None:
        """Drop a policy of `public.<table>` (its definition, when given, makes it reversible)."""
        policy = None
        if command is not None:
            policy = Policy(command, permissive, tuple(roles), using, check, provenance, comment)
        operations.invoke(cls(table, name, policy))

    def statements(self) -> list[sql.Composable]:
        return [ddl.drop_policy(self.table, self.name)]

    def reverse(self) -> CreatePolicyOp:
        if self.policy is None:
            raise PgPolicyError(f"cannot reverse dropping {self.table}.{self.name}: no definition")
        return CreatePolicyOp(self.table, self.name, self.policy)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("drop_policy", self.table, self.name, self.reason)


@Operations.register_operation("replace_policy")
@dataclass
class ReplacePolicyOp(PolicyOperation):
    """Drop a policy and create it again with another definition, in place."""

    table: str
    name: str
    old: Policy
    new: Policy
    reason: str | None = None

    @classmethod
    def replace_policy(
        cls, operations: Operations, table: str, name: str, old: Policy, new: Policy
    ) -> None:
        """Replace policy `name` of `public.<table>` (`old` is what it was: for the reverse)."""
        operations.invoke(cls(table, name, old, new))

    def statements(self) -> list[sql.Composable]:
        create = CreatePolicyOp(self.table, self.name, self.new)
        return [ddl.drop_policy(self.table, self.name), *create.statements()]

    def reverse(self) -> ReplacePolicyOp:
        return ReplacePolicyOp(self.table, self.name, self.new, self.old)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("replace_policy", self.table, self.name, self.reason)


@Operations.register_operation("enable_rls")
@dataclass
class EnableRlsOp(PolicyOperation):
    """ENABLE ROW LEVEL SECURITY, and FORCE too when `force`."""

    table: str
    force: bool = False
    reason: str | None = None

    @classmethod
    def enable_rls(cls, operations: Operations, table: str, force: bool = False) -> None:
        """Enable row level security on `public.<table>` (and force it on its owner)."""
        operations.invoke(cls(table, force))

    def statements(self) -> list[sql.Composable]:
        return list(ddl.enable_rls(self.table, self.force))

    def reverse(self) -> DisableRlsOp:
        return DisableRlsOp(self.table, self.force)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("enable_rls", self.table, self.force, self.reason)


@Operations.register_operation("disable_rls")
@dataclass
class DisableRlsOp(PolicyOperation):
    """DISABLE ROW LEVEL SECURITY, and NO FORCE too when `force`."""

    table: str
    force: bool = False
    reason: str | None = None

    @classmethod
    def disable_rls(cls, operations: Operations, table: str, force: bool = False) -> None:
        """Disable row level security on `public.<table>` (and stop forcing it)."""
        operations.invoke(cls(table, force))

    def statements(self) -> list[sql.Composable]:
        no_force, disable = ddl.disable_rls(self.table)
        return [no_force, disable] if self.force else [disable]

    def reverse(self) -> EnableRlsOp:
        return EnableRlsOp(self.table, self.force)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("disable_rls", self.table, self.force, self.reason)


@Operations.register_operation("force_rls")
@dataclass
class ForceRlsOp(PolicyOperation):
    """FORCE ROW LEVEL SECURITY alone: on a table an app role owns, whose RLS is already on."""

    table: str
    reason: str | None = None

    @classmethod
    def force_rls(cls, operations: Operations, table: str) -> None:
        """Make row level security apply to the owner of `public.<table>` too."""
        operations.invoke(cls(table))

    def statements(self) -> list[sql.Composable]:
        return [ddl.enable_rls(self.table, True)[1]]

    def reverse(self) -> NoForceRlsOp:
        return NoForceRlsOp(self.table)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("force_rls", self.table, self.reason)


@Operations.register_operation("no_force_rls")
@dataclass
class NoForceRlsOp(PolicyOperation):
    """NO FORCE ROW LEVEL SECURITY alone."""

    table: str
    reason: str | None = None

    @classmethod
    def no_force_rls(cls, operations: Operations, table: str) -> None:
        """Let the owner of `public.<table>` bypass row level security again."""
        operations.invoke(cls(table))

    def statements(self) -> list[sql.Composable]:
        return [ddl.disable_rls(self.table)[0]]

    def reverse(self) -> ForceRlsOp:
        return ForceRlsOp(self.table)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("no_force_rls", self.table, self.reason)


@Operations.register_operation("create_sudo_schema")
@dataclass
class CreateSudoSchemaOp(PolicyOperation):
    """The schema of generated functions, usable by the app roles only."""

    roles: tuple[str, ...]
    reason: str | None = None

    @classmethod
    def create_sudo_schema(cls, operations: Operations, roles: Sequence[str]) -> None:
        """Create the schema of generated functions; the app roles may use it."""
        operations.invoke(cls(tuple(roles)))

    def statements(self) -> list[sql.Composable]:
        return list(ddl.sudo_schema(self.roles))

    def reverse(self) -> DropSudoSchemaOp:
        return DropSudoSchemaOp(self.roles)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("create_sudo_schema", SUDO_SCHEMA, self.reason)


@Operations.register_operation("drop_sudo_schema")
@dataclass
class DropSudoSchemaOp(PolicyOperation):
    """Drop the (empty) schema of generated functions."""

    roles: tuple[str, ...] = ()
    reason: str | None = None

    @classmethod
    def drop_sudo_schema(cls, operations: Operations, roles: Sequence[str] = ()) -> None:
        """Drop the schema of generated functions; it must be empty."""
        operations.invoke(cls(tuple(roles)))

    def statements(self) -> list[sql.Composable]:
        return [ddl.drop_sudo_schema()]

    def reverse(self) -> CreateSudoSchemaOp:
        return CreateSudoSchemaOp(self.roles)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("drop_sudo_schema", SUDO_SCHEMA, self.reason)


@Operations.register_operation("create_sudo_function")
@dataclass
class CreateSudoFunctionOp(PolicyOperation):
    """CREATE OR REPLACE one generated function (`replaces`: the body it had, if any)."""

    name: str
    body: str
    roles: tuple[str, ...]
    replaces: str | None = None
    returns: str = FUNCTION_RETURNS
    reason: str | None = None

    @classmethod
    def create_sudo_function(
        cls,
        operations: Operations,
        name: str,
        body: str,
        roles: Sequence[str],
        replaces: str | None = None,
        returns: str = FUNCTION_RETURNS,
    ) -> None:
        """Create (or replace) the generated function `pgpolicy_sudo.<name>()`."""
        operations.invoke(cls(name, body, tuple(roles), replaces, returns))

    def statements(self) -> list[sql.Composable]:
        function = SudoFunction(self.name, self.returns, self.body)
        return list(ddl.create_function(function, self.roles))

    def reverse(self) -> PolicyOperation:
        if self.replaces is not None:
            return CreateSudoFunctionOp(
                self.name, self.replaces, self.roles, self.body, self.returns
            )
        return DropSudoFunctionOp(self.name, self.body, self.roles, self.returns)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("create_sudo_function", self.name, self.reason)


@Operations.register_operation("drop_sudo_function")
@dataclass
class DropSudoFunctionOp(PolicyOperation):
    """DROP one generated function; carries its body when it is to be reversible."""

    name: str
    body: str | None = None
    roles: tuple[str, ...] = ()
    returns: str = FUNCTION_RETURNS
    reason: str | None = None

    @classmethod
    def drop_sudo_function(
        cls,
        operations: Operations,
        name: str,
        body: str | None = None,
        roles: Sequence[str] = (),
        returns: str = FUNCTION_RETURNS,
    ) -> None:
        """Drop the generated function `pgpolicy_sudo.<name>()`."""
        operations.invoke(cls(name, body, tuple(roles), returns))

    def statements(self) -> list[sql.Composable]:
        return [ddl.drop_function(self.name)]

    def reverse(self) -> CreateSudoFunctionOp:
        if self.body is None:
            raise PgPolicyError(f"cannot reverse dropping function {self.name}: no body")
        return CreateSudoFunctionOp(self.name, self.body, self.roles, returns=self.returns)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("drop_sudo_function", self.name, self.reason)


OPERATIONS: tuple[type[PolicyOperation], ...] = (
    CreatePolicyOp,
    DropPolicyOp,
    ReplacePolicyOp,
    EnableRlsOp,
    DisableRlsOp,
    ForceRlsOp,
    NoForceRlsOp,
    CreateSudoSchemaOp,
    DropSudoSchemaOp,
    CreateSudoFunctionOp,
    DropSudoFunctionOp,
)


def run_statements(operations: Operations, statements: Iterable[sql.Composable]) -> None:
    """Run DDL as composed, byte for byte: online through the driver, offline to the script."""
    impl = operations.get_context().impl
    for statement in statements:
        text = statement.as_string(None)
        if impl.as_sql:
            impl.static_output(text + impl.command_terminator)
        else:
            # no_parameters: the driver must not read `%` in the DDL as a placeholder
            operations.get_bind().exec_driver_sql(text, execution_options={"no_parameters": True})


def _implement(operations: Operations, operation: PolicyOperation) -> None:
    run_statements(operations, operation.statements())


for _op_class in OPERATIONS:
    Operations.implementation_for(_op_class)(_implement)


# ---- from a plan to operations --------------------------------------------------------------


def plan_operations(
    plan: Plan, deployed: Deployed, desired: PolicySet, roles: Sequence[str] = ()
) -> list[PolicyOperation]:
    """The plan as operations, grouped by table, in an order that runs.

    Generated functions first (policies call them), then each table's policy
    drops, creates and replaces and its RLS switches, then the functions no
    policy calls any more. Provenance comments are written by each create.
    `roles` (default: those of the desired policies) get the generated schema
    and functions.
    """
    roles = tuple(roles) or roles_of(desired)
    functions = {f.name: f for f in desired.functions}
    first: list[PolicyOperation] = []
    last: list[PolicyOperation] = []
    tables: dict[str, list[PolicyOperation]] = {}
    rls: dict[str, set[str]] = {}
    for change in plan.changes:
        action, table, name, reason = change.action, change.table or "", change.name, change.reason
        if action == "create_schema":
            first.append(CreateSudoSchemaOp(roles, reason=reason))
        elif action == "create_function":
            function = functions[name]
            old_body = deployed.functions.get(name)
            first.append(
                CreateSudoFunctionOp(
                    name, function.body, roles, old_body, function.returns, reason=reason
                )
            )
        elif action == "drop":
            old = deployed_policy(deployed.policies[(table, name)])
            tables.setdefault(table, []).append(DropPolicyOp(table, name, old, reason=reason))
        elif action == "create":
            assert change.policy is not None
            new = desired_policy(change.policy)
            tables.setdefault(table, []).append(CreatePolicyOp(table, name, new, reason=reason))
        elif action == "replace":
            assert change.policy is not None
            old = deployed_policy(deployed.policies[(table, name)])
            new = desired_policy(change.policy)
            operation = ReplacePolicyOp(table, name, old, new, reason=reason)
            tables.setdefault(table, []).append(operation)
        elif action in ("enable_rls", "force_rls"):
            tables.setdefault(table, [])
            rls.setdefault(table, set()).add(action)
        elif action == "disable_rls":  # no pgpolicy policy left on the table
            state = deployed.tables.get(table)
            forced = state is not None and state.rls_forced
            tables.setdefault(table, []).append(DisableRlsOp(table, forced, reason=reason))
        elif action == "drop_function":
            body = deployed.functions.get(name)
            last.append(DropSudoFunctionOp(name, body, roles, reason=reason))
        elif action == "drop_schema":
            last.append(DropSudoSchemaOp(roles, reason=reason))
        elif action != "comment":  # each create stamps its own policy
            raise PgPolicyError(f"no migration operation for plan action {action!r}")
    for table, switches in rls.items():
        if switches == {"enable_rls", "force_rls"}:
            tables[table].append(EnableRlsOp(table, True, reason="row level security is off"))
        elif "enable_rls" in switches:
            tables[table].append(EnableRlsOp(table, reason="row level security is off"))
        else:
            tables[table].append(ForceRlsOp(table, reason="an app role owns the table"))
    return [*first, *(op for table in sorted(tables) for op in tables[table]), *last]


def reverse_operations(operations: Sequence[PolicyOperation]) -> list[PolicyOperation]:
    """What undoes `operations`: each one's reverse, last first."""
    return [operation.reverse() for operation in reversed(operations)]


# ---- rendering as Python --------------------------------------------------------------------


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


def _register_renderers() -> None:
    from alembic.autogenerate import renderers

    def rendered(autogen_context: Any, operation: PolicyOperation) -> str:
        autogen_context.imports.update((MYPY_LINE, IMPORT_LINE))
        return render(operation)

    for op_class in OPERATIONS:
        renderers.dispatch_for(op_class, replace=True)(rendered)


# ---- autogenerate ---------------------------------------------------------------------------


def setting(migration_context: Any, x_argument: str, ini_option: str, env: str) -> str | None:
    """A pgpolicy setting: `alembic -x NAME=...`, else the `[alembic]` option, else the env var."""
    environment = getattr(migration_context, "environment_context", None)
    value: str | None = None
    if environment is not None:
        value = environment.get_x_argument(as_dictionary=True).get(x_argument)
        if not value and environment.config is not None:
            value = environment.config.get_main_option(ini_option)
    return value or os.environ.get(env) or None


def app_roles(migration_context: Any) -> tuple[str, ...]:
    """The app roles policies apply TO (comma separated, at least one).

    `alembic -x app_role=ROLE[,ROLE] ...`, else `pgpolicy_app_roles` in the
    `[alembic]` section of alembic.ini, else `PGPOLICY_APP_ROLE`.
    """
    raw = setting(migration_context, ROLES_X_ARGUMENT, ROLES_OPTION, ROLES_ENV) or ""
    roles = tuple(r.strip() for r in raw.split(",") if r.strip())
    if not roles:
        raise CommandError(
            f"pgpolicy: which app role do policies apply to? Pass -x {ROLES_X_ARGUMENT}=ROLE, "
            f"set {ROLES_OPTION} in the [alembic] section of alembic.ini, or set {ROLES_ENV}."
        )
    return roles


def deep_check(migration_context: Any) -> bool:
    """Whether to compare PostgreSQL's renderings too (`-x pgpolicy_deep_check=true`, ...)."""
    raw = setting(migration_context, DEEP_OPTION, DEEP_OPTION, DEEP_ENV) or ""
    return raw.strip().lower() in ("1", "true", "yes", "on")


def psycopg_connection(connection: Any) -> Any:
    """The psycopg connection under a SQLAlchemy one (reads share the migration's transaction)."""
    driver = getattr(getattr(connection, "connection", None), "driver_connection", None)
    if not isinstance(driver, psycopg.Connection):
        raise CommandError(
            "pgpolicy: autogenerate needs the psycopg driver: sqlalchemy.url = "
            "postgresql+psycopg://..."
        )
    return driver


def compare_policies(autogen_context: Any, upgrade_ops: Any) -> None:
    """Append to `upgrade_ops` what turns the deployed policies into the desired ones."""
    if getattr(autogen_context, "_pgpolicy_compared", False):
        return  # registered twice (plugin and classic): compare once
    autogen_context._pgpolicy_compared = True
    _register_renderers()
    roles = app_roles(autogen_context.migration_context)
    conn = psycopg_connection(autogen_context.connection)
    policy_set = build_policy_set(read_catalog(conn), roles, read_profiles(conn))
    deployed = read_deployed(conn)
    deep = deep_check(autogen_context.migration_context)
    plan = plan_for(conn, policy_set, roles, deep=deep, deployed=deployed)
    operations = plan_operations(plan, deployed, policy_set, roles)
    if operations:
        autogen_context.imports.update((MYPY_LINE, IMPORT_LINE))
    upgrade_ops.ops.extend(operations)


_classic: list[bool] = []


def register_comparator() -> None:
    """Register the comparator the classic way (`comparators.dispatch_for("schema")`).

    For environments that do not name plugins (and alembic < 1.18); harmless
    together with the plugin: the comparison runs once.
    """
    if _classic:
        return
    from alembic.autogenerate import comparators

    def compare_schema(autogen_context: Any, upgrade_ops: Any, schemas: Any) -> None:
        if None in schemas or "public" in schemas:
            compare_policies(autogen_context, upgrade_ops)

    comparators.dispatch_for("schema")(compare_schema)
    _classic.append(True)


# Loaded by alembic's own plugin discovery, before its renderers exist: registered later.
with contextlib.suppress(ImportError):
    _register_renderers()
