"""Where the runtime SQL and the runtime's alembic environment live.

In a wheel they are package data (`pgpolicy/_sql`, `pgpolicy/_alembic`); in a
source checkout (editable install) they are the top-level `sql/` and `alembic/`.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for path in candidates:
        if path.is_dir():
            return path
    raise FileNotFoundError(f"none of {', '.join(map(str, candidates))} exists")


def sql_dir() -> Path:
    """The directory holding the runtime's SQL files."""
    return _first_existing(_PACKAGE / "_sql", _PACKAGE.parent / "sql")


def alembic_dir() -> Path:
    """The runtime's own alembic environment (script location)."""
    return _first_existing(_PACKAGE / "_alembic", _PACKAGE.parent / "alembic")
