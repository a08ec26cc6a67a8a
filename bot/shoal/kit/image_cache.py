"""The image pool's cache: rendered PNGs by (kind, key), bounded by their total bytes.

Owns which images stay (least recently used first out) and the byte budget. Pure and
synchronous: :class:`shoal.kit.images.ImagePool` uses it from the event loop only, so it
needs no lock. Does not own what a key means (the feature that renders puts every input
that changes the picture in it).
"""

from __future__ import annotations

import collections

__all__ = ["CacheKey", "ImageCache"]

CacheKey = tuple[str, str]
"""(kind, key) of one image."""


class ImageCache:
    """Rendered images, least recently used first out, bounded by their total bytes."""

    __slots__ = ("_entries", "_max_bytes", "_size_bytes")

    def __init__(self, max_bytes: int) -> None:
        """Hold at most ``max_bytes`` of images (an image larger than that is not kept)."""
        self._entries: collections.OrderedDict[CacheKey, bytes] = collections.OrderedDict()
        self._max_bytes = max_bytes
        self._size_bytes = 0

    @property
    def size_bytes(self) -> int:
        """Total bytes of the images held."""
        return self._size_bytes

    def __len__(self) -> int:
        """Return how many images are held."""
        return len(self._entries)

    def get(self, key: CacheKey) -> bytes | None:
        """Return the image of ``key`` (now the most recently used), or None."""
        data = self._entries.get(key)
        if data is not None:
            self._entries.move_to_end(key)
        return data

    def put(self, key: CacheKey, data: bytes) -> None:
        """Keep ``data`` under ``key``, dropping the least recently used images to fit."""
        old = self._entries.pop(key, None)
        if old is not None:
            self._size_bytes -= len(old)
        if len(data) > self._max_bytes:
            return
        self._entries[key] = data
        self._size_bytes += len(data)
        while self._size_bytes > self._max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._size_bytes -= len(dropped)
