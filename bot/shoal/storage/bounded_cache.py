"""A bounded in-process cache: entries expire after a TTL, the least recently used go first.

Owns the data structure only, with time passed in (``now_s``, seconds on any monotonic
clock), so its rules are tested without waiting. Does not own what is cached, nor when to
invalidate (see `shoal.storage.guild_settings_caching`). Not thread-safe; one event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["TtlLruCache"]

K = TypeVar("K")
V = TypeVar("V")


class TtlLruCache(Generic[K, V]):
    """At most ``max_entries`` values, each kept for ``ttl_s`` after it was stored."""

    __slots__ = ("_entries", "_max_entries", "_ttl_s")

    def __init__(self, *, ttl_s: float, max_entries: int) -> None:
        """Bound the cache in time (``ttl_s`` seconds) and size (``max_entries``)."""
        if ttl_s <= 0 or max_entries < 1:
            raise ValueError("ttl_s must be positive and max_entries at least 1")
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()  # oldest use first

    def __len__(self) -> int:
        """Return how many entries are held (expired ones included until touched or evicted)."""
        return len(self._entries)

    def get(self, key: K, *, now_s: float) -> V | None:
        """Return the value under ``key`` unless absent or expired; a hit makes it most recent."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at_s, value = entry
        if now_s >= expires_at_s:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V, *, now_s: float) -> None:
        """Store ``value`` for ``ttl_s`` from ``now_s``, evicting the least recently used."""
        self._entries[key] = (now_s + self._ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        """Forget ``key`` (nothing happens when it is absent)."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
