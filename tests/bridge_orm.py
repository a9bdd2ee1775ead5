"""Stands for Odoo's ORM in the bridge tests: statements issued from this file are the ORM's."""

from __future__ import annotations

from typing import Any


def orm_execute(cursor: Any, query: str, params: Any = None) -> Any:
    """Execute `query` as the ORM would, after its own access check."""
    return cursor.execute(query, params)
