"""The cyclic garbage collector, paused around work that keeps many objects alive and makes no cycles.

A registry batch keeps tens of thousands of objects (facts, episodes, changes) alive until it ends, and a rebuild's
snapshot read and fold keep an object or more per entity; every automatic collection walked them all again (≈ 20 %
of the registry's CPU, ``python -m bench.registry_cpu``; 30 % of the rebuild's read at 180,000 records). Their
objects are freed by reference counting; cyclic garbage made meanwhile (by any task of the process) is collected
after the pause.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off within the block, then one young-generation pass. A pause inside a pause (or while someone
    else has it off) leaves it as it is."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)
