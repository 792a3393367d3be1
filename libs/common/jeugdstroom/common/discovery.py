"""One module per member: a package whose modules are found, not listed (the event types of ``contracts.kinds``, the
monitor's indicator modules, the simulator's stories), so adding a member adds a module and edits no list."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from types import ModuleType


def submodules(package: str, path: Iterable[str]) -> tuple[ModuleType, ...]:
    """Every module of the package ``package`` (its ``__name__``; ``path``: its ``__path__``), imported, in name
    order; modules whose name starts with ``_`` are left out."""
    names = sorted(m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_"))
    return tuple(importlib.import_module(f"{package}.{name}") for name in names)
