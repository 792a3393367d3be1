"""The cyclic garbage collector paused around a registry batch or a rebuild's read and fold (``collector.paused``): it
is back on afterwards, also when the block fails, and a pause inside a pause leaves it to the outer one."""

from __future__ import annotations

import gc

import pytest

from jeugdstroom.common.collector import paused as collector_paused


def test_paused_inside_and_back_on_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: the outer pause decides
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_on_after_a_failed_batch() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("rolled back")
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
