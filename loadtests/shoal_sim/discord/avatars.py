"""Avatars: which users have one (a deterministic hash) and the images the CDN serves.

Pure, apart from Pillow: :func:`avatar_hash` decides from the seed and the user id
whether a generated user has an avatar and what its hash is; :func:`render_avatar` and
:func:`render_default_avatar` draw deterministic images (an identicon, a coloured disc)
at a requested size. Serving them over HTTP is :mod:`shoal_sim.discord.cdn`'s.
"""

from __future__ import annotations

import functools
import hashlib
import io
from typing import Final

from PIL import Image, ImageDraw

__all__ = [
    "DEFAULT_AVATAR_COUNT",
    "DEFAULT_SIZE",
    "FORMATS",
    "avatar_hash",
    "is_valid_size",
    "render_avatar",
    "render_default_avatar",
]

DEFAULT_SIZE: Final = 128
"""Pixels per side when ``?size=`` is absent (Discord's CDN default)."""
DEFAULT_AVATAR_COUNT: Final = 6
"""Discord's default avatars: ``/embed/avatars/0.png`` to ``5.png``."""
FORMATS: Final = {"png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp")}
"""File extensions the CDN serves: Pillow format and content type."""
_MIN_SIZE: Final = 16
_MAX_SIZE: Final = 4096
_GRID: Final = 5
"""Identicon cells per side (mirrored left to right), inside a one-cell margin."""
_CACHED_IMAGES: Final = 256
#: Discord's default avatar colours (blurple, grey, green, yellow, red, pink).
_DEFAULT_COLOURS: Final = (
    (0x58, 0x65, 0xF2),
    (0x75, 0x7E, 0x8A),
    (0x3B, 0xA5, 0x5C),
    (0xFA, 0xA6, 0x1A),
    (0xED, 0x42, 0x45),
    (0xEB, 0x45, 0x9F),
)
_BACKGROUND: Final = (0xF0, 0xF0, 0xF0)


def avatar_hash(seed: int, user_id: int, fraction: float) -> str | None:
    """Return a generated user's avatar hash, or None for the ``1 - fraction`` without one.

    The same seed and user id always give the same answer (32 hex digits, as Discord's).
    """
    digest = hashlib.blake2b(f"{seed}:{user_id}".encode(), digest_size=16).digest()
    if int.from_bytes(digest[:4], "big") >= fraction * (1 << 32):
        return None
    return digest.hex()


def is_valid_size(size: int) -> bool:
    """Return whether ``size`` is one Discord's CDN serves: a power of two, 16 to 4096."""
    return _MIN_SIZE <= size <= _MAX_SIZE and size & (size - 1) == 0


@functools.lru_cache(maxsize=_CACHED_IMAGES)
def render_avatar(key: str, size: int, file_format: str = "PNG") -> bytes:
    """Return the identicon of ``key`` (an avatar hash) as ``size`` x ``size`` image bytes.

    Cached: the same avatar at the same size is drawn once.
    """
    digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
    colour = (digest[0], digest[1], digest[2])
    cells = _GRID + 2
    small = Image.new("RGB", (cells, cells), _BACKGROUND)
    pixels = small.load()
    assert pixels is not None  # noqa: S101 - load() on a new image always succeeds
    bits = int.from_bytes(digest[3:], "big")
    half = (_GRID + 1) // 2
    for row in range(_GRID):
        for column in range(half):
            if bits >> (row * half + column) & 1:
                pixels[1 + column, 1 + row] = colour
                pixels[_GRID - column, 1 + row] = colour
    image = small.resize((size, size), Image.Resampling.NEAREST)
    return _encode(image, file_format)


@functools.lru_cache(maxsize=_CACHED_IMAGES)
def render_default_avatar(index: int, size: int, file_format: str = "PNG") -> bytes:
    """Return default avatar ``index`` (0 to 5): a disc of Discord's colour for it."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((0, 0, size - 1, size - 1), fill=_DEFAULT_COLOURS[index])
    return _encode(image, file_format)


def _encode(image: Image.Image, file_format: str) -> bytes:
    out = io.BytesIO()
    # Level 1: flat images compress almost as well, and a 4096 px one encodes 10x faster.
    image.save(out, format=file_format, compress_level=1)
    return out.getvalue()
