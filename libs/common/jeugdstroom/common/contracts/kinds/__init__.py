"""The event types that describe an entity: one module each, found here by discovery (see ``contracts.kind``).

``KINDS`` is every module's ``KIND`` in their declared ``order``. A module of this package without a ``KIND`` is an
error, as are two kinds with one order.
"""

from __future__ import annotations

from jeugdstroom.common.contracts.kind import Kind
from jeugdstroom.common.discovery import submodules


def _discover() -> tuple[Kind, ...]:
    kinds: list[Kind] = []
    for module in submodules(__name__, __path__):
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, Kind):
            raise RuntimeError(f"{module.__name__}: a module of contracts.kinds must export KIND = Kind(...)")
        if kind.name != module.__name__.rpartition(".")[2]:
            raise RuntimeError(f"{module.__name__}: KIND describes {kind.name!r}; the module must be named after it")
        kind.check()
        kinds.append(kind)
    kinds.sort(key=lambda k: k.order)
    orders = [k.order for k in kinds]
    if len(set(orders)) != len(orders):
        raise RuntimeError(f"contracts.kinds: two kinds share an order: {orders}")
    return tuple(kinds)


#: Every event type that describes an entity, in order.
KINDS: tuple[Kind, ...] = _discover()
#: Event type → its kind.
BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
