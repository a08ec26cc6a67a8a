"""The TTL and LRU bounded cache, on time passed in (no waiting)."""

from __future__ import annotations

import pytest

from shoal.storage.bounded_cache import TtlLruCache


def test_cache_returns_value_when_read_before_its_ttl() -> None:
    cache: TtlLruCache[int, str] = TtlLruCache(ttl_s=10.0, max_entries=4)
    cache.put(1, "one", now_s=100.0)

    assert cache.get(1, now_s=109.9) == "one"


def test_cache_forgets_value_when_read_at_or_after_its_ttl() -> None:
    cache: TtlLruCache[int, str] = TtlLruCache(ttl_s=10.0, max_entries=4)
    cache.put(1, "one", now_s=100.0)

    assert cache.get(1, now_s=110.0) is None
    assert len(cache) == 0


def test_cache_restarts_ttl_when_value_is_stored_again() -> None:
    cache: TtlLruCache[int, str] = TtlLruCache(ttl_s=10.0, max_entries=4)
    cache.put(1, "old", now_s=100.0)
    cache.put(1, "new", now_s=105.0)

    assert cache.get(1, now_s=114.0) == "new"


def test_cache_evicts_least_recently_used_when_full() -> None:
    cache: TtlLruCache[int, str] = TtlLruCache(ttl_s=10.0, max_entries=2)
    cache.put(1, "one", now_s=0.0)
    cache.put(2, "two", now_s=0.0)
    assert cache.get(1, now_s=1.0) == "one"  # 1 is now more recent than 2

    cache.put(3, "three", now_s=2.0)

    assert cache.get(2, now_s=2.0) is None
    assert cache.get(1, now_s=2.0) == "one"
    assert cache.get(3, now_s=2.0) == "three"
    assert len(cache) == 2


def test_cache_forgets_entries_when_discarded_or_cleared() -> None:
    cache: TtlLruCache[int, str] = TtlLruCache(ttl_s=10.0, max_entries=4)
    cache.put(1, "one", now_s=0.0)
    cache.put(2, "two", now_s=0.0)

    cache.discard(1)
    cache.discard(99)  # absent: no error
    assert cache.get(1, now_s=0.0) is None
    assert cache.get(2, now_s=0.0) == "two"

    cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize(("ttl_s", "max_entries"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_cache_refuses_construction_when_bounds_are_not_positive(
    ttl_s: float, max_entries: int
) -> None:
    with pytest.raises(ValueError, match="ttl_s must be positive"):
        TtlLruCache[int, str](ttl_s=ttl_s, max_entries=max_entries)
