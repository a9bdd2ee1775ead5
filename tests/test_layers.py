"""The package's import graph: stages import only the stages before them, and nothing imports
in a cycle. Read from the source with `ast` (every import, at module level or in a function),
so the check holds for code paths no test happens to run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pgpolicy"

# Lowest first. A module may import modules of its own layer or of a lower one.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("pgpolicy", "pgpolicy.errors", "pgpolicy.resources", "pgpolicy.db"),
    ("pgpolicy.odoo",),
    ("pgpolicy.compiler",),
    ("pgpolicy.profiles",),
    ("pgpolicy.deploy",),
    ("pgpolicy.alembic_plugin", "pgpolicy.migrations", "pgpolicy.audit"),
    ("pgpolicy.demo",),
    ("pgpolicy.cli", "pgpolicy.__main__"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under `if TYPE_CHECKING:` (imports for annotations only)."""
    nodes: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return nodes


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The package's modules `path` imports (a `from x import y` of a submodule counts as y)."""
    found: set[str] = set()
    for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "pgpolicy")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "pgpolicy":
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            matches = module == prefix or (prefix != "pgpolicy" and module.startswith(prefix + "."))
            if matches and len(prefix) > best:
                best, rank = len(prefix), index
    return rank


def graph() -> dict[str, set[str]]:
    found = modules()
    return {m: imports_of(p, set(found)) - {m} for m, p in found.items()}


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules() if layer_of(m) < 0] == []


def test_no_stage_imports_a_later_one() -> None:
    upward = sorted(
        f"{m} (layer {layer_of(m)}) imports {d} (layer {layer_of(d)})"
        for m, deps in graph().items()
        for d in deps
        if layer_of(d) > layer_of(m)
    )
    assert upward == []


def test_no_import_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_the_check_sees_a_violation() -> None:
    """The graph really is read: known edges of the code base are there."""
    edges = graph()
    assert "pgpolicy.compiler.predicate" in edges["pgpolicy.compiler.rules"]
    assert "pgpolicy.deploy.ddl" in edges["pgpolicy.deploy.apply"]
    assert layer_of("pgpolicy.cli.deploy") > layer_of("pgpolicy.deploy.apply")
    assert "pgpolicy.compiler.spec" not in edges["pgpolicy"]  # type-only imports do not count


def test_the_public_names_load_from_the_package() -> None:
    import pgpolicy
    from pgpolicy.compiler.predicate import compile_domain

    assert sorted(pgpolicy.__all__) == sorted(["__version__", *pgpolicy._PUBLIC])
    assert pgpolicy.compile_domain is compile_domain
    assert all(getattr(pgpolicy, name) is not None for name in pgpolicy.__all__)
