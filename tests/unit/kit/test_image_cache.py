"""The image cache: least recently used first out, within a byte budget."""

from __future__ import annotations

from shoal.kit.image_cache import ImageCache


def test_image_cache_drops_the_least_recently_used_when_over_its_bytes() -> None:
    cache = ImageCache(max_bytes=10)
    cache.put(("card", "a"), b"aaaa")
    cache.put(("card", "b"), b"bbbb")
    assert cache.get(("card", "a")) == b"aaaa"  # a is now more recent than b
    cache.put(("card", "c"), b"cccc")
    assert cache.get(("card", "b")) is None
    assert cache.get(("card", "a")) == b"aaaa"
    assert cache.get(("card", "c")) == b"cccc"
    assert (len(cache), cache.size_bytes) == (2, 8)


def test_image_cache_keeps_kinds_apart_when_keys_are_equal() -> None:
    cache = ImageCache(max_bytes=100)
    cache.put(("card", "1"), b"card")
    cache.put(("chart", "1"), b"chart")
    assert cache.get(("card", "1")) == b"card"
    assert cache.get(("chart", "1")) == b"chart"


def test_image_cache_replaces_and_recounts_when_a_key_is_put_again() -> None:
    cache = ImageCache(max_bytes=100)
    cache.put(("card", "a"), b"12345678")
    cache.put(("card", "a"), b"12")
    assert cache.get(("card", "a")) == b"12"
    assert (len(cache), cache.size_bytes) == (1, 2)


def test_image_cache_keeps_nothing_when_an_image_exceeds_the_budget() -> None:
    cache = ImageCache(max_bytes=4)
    cache.put(("card", "a"), b"1234")
    cache.put(("card", "b"), b"12345")
    assert cache.get(("card", "b")) is None
    assert cache.get(("card", "a")) == b"1234"
    cache.put(("card", "a"), b"123456")  # a too-large new version drops the old one too
    assert cache.get(("card", "a")) is None
    assert cache.size_bytes == 0


def test_image_cache_holds_nothing_when_its_budget_is_zero() -> None:
    cache = ImageCache(max_bytes=0)
    cache.put(("card", "a"), b"x")
    assert cache.get(("card", "a")) is None
    assert len(cache) == 0
