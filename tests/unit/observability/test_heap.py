"""Settling the garbage collector: what is alive is frozen, the thresholds raised."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest

from shoal.observability.heap import THRESHOLDS, settle_heap

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_settle_heap_freezes_what_is_alive_and_still_collects_new_cycles() -> None:
    kept: list[list[int]] = [[] for _ in range(1_000)]
    frozen = settle_heap()
    assert frozen >= len(kept)
    assert gc.get_threshold() == THRESHOLDS
    walked = {id(o) for o in gc.get_objects()}  # what a collection walks
    assert not any(id(o) in walked for o in kept)  # the frozen lists are out of its sight

    class Cycle:
        other: object = None

    first, second = Cycle(), Cycle()
    first.other, second.other = second, first
    del first, second
    assert gc.collect() >= 2  # a cycle made after settling is still found
