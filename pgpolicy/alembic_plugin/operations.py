"""Policy changes as alembic operations: data with a `reverse()`, run as `pgpolicy.deploy.ddl`
composes them.

Each operation carries what is needed to undo it (a dropped policy carries its definition
and its comment) and runs exactly the statements `pgpolicy.deploy.ddl` composes: online
through the connection's driver, offline (`alembic upgrade --sql`) written out verbatim.
Going through SQLAlchemy's `text()` would read `:name` in a policy as a bind parameter and
double every `%`.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from alembic.operations import MigrateOperation, Operations
from psycopg import sql

from pgpolicy.compiler.predicate import SUDO_SCHEMA, SudoFunction
from pgpolicy.compiler.search import SEARCH_SCHEMA
from pgpolicy.compiler.spec import PolicySet, PolicySpec, Provenance
from pgpolicy.db import PIN_SEARCH_PATH, RESTORE_SEARCH_PATH, SAVE_SEARCH_PATH
from pgpolicy.deploy import ddl
from pgpolicy.deploy.catalog import Deployed, DeployedPolicy
from pgpolicy.deploy.plan import Plan, roles_of
from pgpolicy.deploy.policy_set import ANALYST_GROUP
from pgpolicy.errors import PgPolicyError

FUNCTION_RETURNS = "integer[]"  # what generated sudo functions return but a few (compiler)


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


@Operations.register_operation("set_view_invoker")
@dataclass
class SetViewInvokerOp(PolicyOperation):
    """A view runs with the querying role's rights (`security_invoker`), or its owner's."""

    view: str
    invoker: bool = True
    reason: str | None = None

    @classmethod
    def set_view_invoker(cls, operations: Operations, view: str, invoker: bool = True) -> None:
        """Make `public.<view>` run with the invoker's rights and row level security
        (PostgreSQL 15+); `invoker=False` gives it its owner's rights back."""
        operations.invoke(cls(view, invoker))

    @property
    def table(self) -> str:
        return self.view

    def statements(self) -> list[sql.Composable]:
        return [ddl.view_invoker(self.view, self.invoker)]

    def reverse(self) -> SetViewInvokerOp:
        return SetViewInvokerOp(self.view, not self.invoker)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("set_view_invoker", self.view, self.invoker, self.reason)


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


@Operations.register_operation("create_search_schema")
@dataclass
class CreateSearchSchemaOp(PolicyOperation):
    """The schema of the name-search functions, usable by the app roles only."""

    roles: tuple[str, ...]
    reason: str | None = None

    @classmethod
    def create_search_schema(cls, operations: Operations, roles: Sequence[str]) -> None:
        """Create the schema of the name-search functions; the app roles may use it."""
        operations.invoke(cls(tuple(roles)))

    def statements(self) -> list[sql.Composable]:
        return list(ddl.search_schema(self.roles))

    def reverse(self) -> DropSearchSchemaOp:
        return DropSearchSchemaOp(self.roles)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("create_search_schema", SEARCH_SCHEMA, self.reason)


@Operations.register_operation("drop_search_schema")
@dataclass
class DropSearchSchemaOp(PolicyOperation):
    """Drop the (empty) schema of the name-search functions."""

    roles: tuple[str, ...] = ()
    reason: str | None = None

    @classmethod
    def drop_search_schema(cls, operations: Operations, roles: Sequence[str] = ()) -> None:
        """Drop the schema of the name-search functions; it must be empty."""
        operations.invoke(cls(tuple(roles)))

    def statements(self) -> list[sql.Composable]:
        return [ddl.drop_search_schema()]

    def reverse(self) -> CreateSearchSchemaOp:
        return CreateSearchSchemaOp(self.roles)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("drop_search_schema", SEARCH_SCHEMA, self.reason)


@Operations.register_operation("create_search_function")
@dataclass
class CreateSearchFunctionOp(PolicyOperation):
    """CREATE OR REPLACE one name-search function (`replaces`: the body it had, if any)."""

    name: str
    body: str
    comment: str
    roles: tuple[str, ...]
    replaces: str | None = None
    replaces_comment: str | None = None
    reason: str | None = None

    @classmethod
    def create_search_function(
        cls,
        operations: Operations,
        name: str,
        body: str,
        comment: str,
        roles: Sequence[str],
        replaces: str | None = None,
        replaces_comment: str | None = None,
    ) -> None:
        """Create (or replace) the name-search function `pgpolicy_search.<name>`."""
        operations.invoke(cls(name, body, comment, tuple(roles), replaces, replaces_comment))

    def statements(self) -> list[sql.Composable]:
        return list(ddl.search_function_from(self.name, self.body, self.comment, self.roles))

    def reverse(self) -> PolicyOperation:
        if self.replaces is not None:
            return CreateSearchFunctionOp(
                self.name, self.replaces, self.replaces_comment or "", self.roles, self.body,
                self.comment,
            )  # fmt: skip
        return DropSearchFunctionOp(self.name, self.body, self.comment, self.roles)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("create_search_function", self.name, self.reason)


@Operations.register_operation("drop_search_function")
@dataclass
class DropSearchFunctionOp(PolicyOperation):
    """DROP one name-search function; carries its body when it is to be reversible."""

    name: str
    body: str | None = None
    comment: str = ""
    roles: tuple[str, ...] = ()
    reason: str | None = None

    @classmethod
    def drop_search_function(
        cls,
        operations: Operations,
        name: str,
        body: str | None = None,
        comment: str = "",
        roles: Sequence[str] = (),
    ) -> None:
        """Drop the name-search function `pgpolicy_search.<name>`."""
        operations.invoke(cls(name, body, comment, tuple(roles)))

    def statements(self) -> list[sql.Composable]:
        return [ddl.drop_search_function(self.name)]

    def reverse(self) -> CreateSearchFunctionOp:
        if self.body is None:
            raise PgPolicyError(f"cannot reverse dropping search function {self.name}: no body")
        return CreateSearchFunctionOp(self.name, self.body, self.comment, self.roles)

    def to_diff_tuple(self) -> tuple[Any, ...]:
        return ("drop_search_function", self.name, self.reason)


OPERATIONS: tuple[type[PolicyOperation], ...] = (
    CreatePolicyOp,
    DropPolicyOp,
    ReplacePolicyOp,
    EnableRlsOp,
    DisableRlsOp,
    ForceRlsOp,
    NoForceRlsOp,
    SetViewInvokerOp,
    CreateSudoSchemaOp,
    DropSudoSchemaOp,
    CreateSudoFunctionOp,
    DropSudoFunctionOp,
    CreateSearchSchemaOp,
    DropSearchSchemaOp,
    CreateSearchFunctionOp,
    DropSearchFunctionOp,
)


# psql's own switch, written once at the top of the pgpolicy part of an offline script: psql
# runs on after an error unless told otherwise, and the rest of the script must not.
STOP_ON_ERROR = "\\set ON_ERROR_STOP on"
_TOLD_TO_STOP: weakref.WeakSet[Any] = weakref.WeakSet()  # the scripts that have it already


def pinned(statements: Iterable[sql.Composable]) -> list[str]:
    """`statements` as text, run with search_path pinned to pg_catalog, then put back.

    A DBA's alembic connection resolves names through its own search_path, where the app
    role may have put an operator that a policy expression would otherwise bind to; every
    name in the statements around is schema-qualified (`pgpolicy.db`)."""
    texts = [statement.as_string(None) for statement in statements]
    return [SAVE_SEARCH_PATH, PIN_SEARCH_PATH, *texts, RESTORE_SEARCH_PATH]


def run_statements(operations: Operations, statements: Iterable[sql.Composable]) -> None:
    """Run DDL as composed, byte for byte, with search_path pinned: online through the
    driver, offline to the script (psql told to stop at the first error)."""
    impl = operations.get_context().impl
    texts = pinned(statements)
    if impl.as_sql:
        if impl not in _TOLD_TO_STOP:
            impl.static_output(STOP_ON_ERROR)
            _TOLD_TO_STOP.add(impl)
        for text in texts:
            impl.static_output(text + impl.command_terminator)
        return
    # One round trip; no_parameters: the driver must not read `%` in the DDL as a placeholder.
    operations.get_bind().exec_driver_sql(
        ";\n".join(texts), execution_options={"no_parameters": True}
    )


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
            key = (table, name)
            old = deployed_policy(deployed.policies.get(key) or deployed.pending_policies[key])
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
        elif action == "view_invoker":
            tables.setdefault(table, []).append(SetViewInvokerOp(table, reason=reason))
        elif action == "drop_function":
            body = deployed.functions.get(name)
            returns = deployed.function_returns.get(name, FUNCTION_RETURNS)
            last.append(DropSudoFunctionOp(name, body, roles, returns, reason=reason))
        elif action == "drop_schema":
            last.append(DropSudoSchemaOp(roles, reason=reason))
        elif action.endswith(("_search_schema", "_search")):
            last.append(search_operation(change.action, name, reason, deployed, desired, roles))
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


def search_operation(
    action: str,
    name: str,
    reason: str,
    deployed: Deployed,
    desired: PolicySet,
    roles: Sequence[str],
) -> PolicyOperation:
    """The operation of a name-search change of the plan (`plan.search_changes`)."""
    callers = tuple(r for r in roles if r != ANALYST_GROUP)
    if action == "create_search_schema":
        return CreateSearchSchemaOp(callers, reason=reason)
    if action == "drop_search_schema":
        return DropSearchSchemaOp(callers, reason=reason)
    old_body = (deployed.searches or {}).get(name)
    old_comment = deployed.search_comments.get(name)
    if action == "drop_search":
        return DropSearchFunctionOp(name, old_body, old_comment or "", callers, reason=reason)
    function = next(f for f in desired.searches if f.name == name)
    return CreateSearchFunctionOp(
        name, function.body, function.comment, callers, old_body, old_comment, reason=reason
    )


def reverse_operations(operations: Sequence[PolicyOperation]) -> list[PolicyOperation]:
    """What undoes `operations`: each one's reverse, last first."""
    return [operation.reverse() for operation in reversed(operations)]
