"""What the rank card writes, as pure functions: compact numbers, names fitted to the card.

Owns the wording and the text fitting rules (compact XP counts, the progress fraction, a
display name made drawable and cut to a width with an ellipsis). Does not own fonts or
pixels: :mod:`shoal.features.levels.card` passes in what the font can draw
(``has_glyph``) and how wide a text is (``measure``), so these rules are tested without
Pillow.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ELLIPSIS",
    "MISSING_GLYPH",
    "compact_number",
    "drawable_text",
    "initial_of",
    "progress_fraction",
    "truncate_to_width",
    "xp_text",
]

ELLIPSIS: Final = "\N{HORIZONTAL ELLIPSIS}"
MISSING_GLYPH: Final = "?"
"""Drawn instead of a character the font lacks (a box would read as a rendering bug)."""

_THOUSAND: Final = 1_000
_SUFFIXES: Final = ("", "K", "M", "B", "T")
#: Three digits are precise enough: ``123K``, not ``123.4K`` (which crowds the bar label).
_NO_TENTHS_FROM: Final = 100
#: Categories dropped outright: format characters (zero-width joiners, direction marks)
#: and combining marks left over once a letter lost its accent.
_DROPPED_CATEGORIES: Final = frozenset({"Cf", "Mn", "Me", "Mc"})


def compact_number(value: int) -> str:
    """Return ``value`` the way rank cards show it: ``999``, ``1.2K``, ``12.3K``, ``4M``.

    Rounded down, so that a bar one XP short of full never reads ``2.5K / 2.5K``.
    """
    if value < 0:
        return f"-{compact_number(-value)}"
    tier = 0
    scale = 1
    while value >= scale * _THOUSAND and tier < len(_SUFFIXES) - 1:
        scale *= _THOUSAND
        tier += 1
    if tier == 0:
        return str(value)
    tenths = value * 10 // scale
    whole, tenth = divmod(tenths, 10)
    shown = f"{whole}" if tenth == 0 or whole >= _NO_TENTHS_FROM else f"{whole}.{tenth}"
    return f"{shown}{_SUFFIXES[tier]}"


def xp_text(xp_into_level: int, xp_for_next_level: int) -> str:
    """Return the XP label beside the bar, e.g. ``1.2K / 2.5K XP``."""
    return f"{compact_number(xp_into_level)} / {compact_number(xp_for_next_level)} XP"


def progress_fraction(xp_into_level: int, xp_for_next_level: int) -> float:
    """Return how full the bar is, in [0, 1] (full when the level needs no XP)."""
    if xp_for_next_level <= 0:
        return 1.0
    return min(max(xp_into_level / xp_for_next_level, 0.0), 1.0)


def drawable_text(text: str, has_glyph: Callable[[str], bool]) -> str:
    """Return ``text`` with only characters the font can draw, on one line.

    Whitespace and control characters become single spaces; format characters go; a
    character the font lacks is replaced by its unaccented letters when the font has
    those (``é`` -> ``e``), else by :data:`MISSING_GLYPH`. Never empty.
    """
    drawn_chars = (_drawable_char(char, has_glyph) for char in unicodedata.normalize("NFC", text))
    drawn = " ".join("".join(drawn_chars).split())
    return drawn or MISSING_GLYPH


def _drawable_char(char: str, has_glyph: Callable[[str], bool]) -> str:
    if char.isspace() or unicodedata.category(char) == "Cc":
        return " "
    if unicodedata.category(char) in _DROPPED_CATEGORIES:
        return ""
    if has_glyph(char):
        return char
    base = "".join(
        part
        for part in unicodedata.normalize("NFKD", char)
        if unicodedata.category(part) not in _DROPPED_CATEGORIES
    )
    if base and base != char and all(has_glyph(part) for part in base):
        return base
    return MISSING_GLYPH


def truncate_to_width(text: str, max_width: float, measure: Callable[[str], float]) -> str:
    """Return ``text``, or its longest prefix plus an ellipsis, that fits ``max_width``.

    ``measure`` is the drawn width of a text; a prefix is cut back to its last visible
    character before the ellipsis. Returns the ellipsis alone when nothing else fits.
    """
    if measure(text) <= max_width:
        return text
    low, high = 0, len(text)  # the longest fitting prefix length is in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if measure(_with_ellipsis(text[:middle])) <= max_width:
            low = middle
        else:
            high = middle
    return _with_ellipsis(text[:low])


def _with_ellipsis(prefix: str) -> str:
    return f"{prefix.rstrip()}{ELLIPSIS}"


def initial_of(name: str, has_glyph: Callable[[str], bool]) -> str:
    """Return the letter a default avatar shows: the name's first drawable letter or digit."""
    for char in drawable_text(name, has_glyph):
        if char.isalnum():
            return char.upper()
    return MISSING_GLYPH
