"""Registry loading: what the bridge learns about a database before anyone may use it.

Odoo hands a registry to other threads through `Registry(db)`, which takes the class's
registry lock; `Registry.new` loads under the same lock and releases it when it returns.
What the bridge reads about the database after loading (who an anonymous visitor stands
for) must be known before a request waiting for the registry gets it: an anonymous
environment built before then claims nobody, its statements carry no context and read
nothing (fail closed), and Odoo may cache what it read (17.0 caches the website it found
for a request: none, and every page fails until restart). So the bridge reads it while
still holding the lock (an RLock: `new` takes it again inside).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any


def loading_registry(
    original: Callable[..., Any],
    system: Callable[[], AbstractContextManager[Any]],
    loaded: Callable[[Any], None],
) -> Callable[..., Any]:
    """`Registry.new` wrapped: load as the system principal, then `loaded(registry)`,
    both under the registry lock (`cls._lock`, the lock `Registry(db)` takes)."""

    def wrapped(cls: Any, *args: Any, **kwargs: Any) -> Any:
        with system(), cls._lock:
            registry = original(cls, *args, **kwargs)
            loaded(registry)
        return registry

    return wrapped
