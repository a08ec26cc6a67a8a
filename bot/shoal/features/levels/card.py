"""The rank card: a member's level, rank and progress drawn as a PNG, with Pillow only.

Owns the card's look (a 934x282 card: round avatar in an accent ring, the name, ``RANK #n``
and ``LEVEL n``, a rounded progress bar with ``1.2K / 2.5K XP``) and its encoding.
:func:`render_rank_card` is pure and CPU-bound (tens of milliseconds): it runs in the kit's
image pool (:class:`shoal.kit.images.ImagePool`), never on the event loop, so it and
:class:`RankCard` are top-level and picklable. Does not own the wording rules
(:mod:`shoal.features.levels.card_text`), fetching the avatar, caching, or timeouts.

The font is Pillow's bundled scalable one (``ImageFont.load_default(size=...)``), so no font
file ships with the bot; it covers ASCII and a few symbols, and other characters are drawn
unaccented or as ``?`` rather than as boxes.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import warnings
from typing import TYPE_CHECKING, Final

from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

from shoal.features.levels.card_text import (
    compact_number,
    drawable_text,
    initial_of,
    progress_fraction,
    truncate_to_width,
    xp_text,
)

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

__all__ = ["CARD_SIZE", "DEFAULT_ACCENT", "RankCard", "render_rank_card", "warm_up_rank_cards"]

CARD_SIZE: Final = (934, 282)
DEFAULT_ACCENT: Final = 0x5865F2  # Discord blurple, for members without a coloured role
#: Round edges are drawn this many times larger and scaled down: Pillow's shapes have no
#: anti-aliasing of their own, and 3x is where edges stop looking stepped.
_SUPERSAMPLE: Final = 3
#: An avatar larger than this is not decoded (Discord's are at most 4096 px square).
_MAX_AVATAR_PIXELS: Final = 4096 * 4096
#: Enough colours for a photo avatar beside flat shapes; a palette PNG is about a third of
#: the RGBA one.
_PALETTE_COLOURS: Final = 256

_CARD_RADIUS: Final = 24
_PANEL_INSET: Final = 16
_AVATAR_CENTRE: Final = (141, 141)
_AVATAR_RADIUS: Final = 84
_RING_RADIUS: Final = 94
_RING_GAP: Final = 5
_TEXT_LEFT: Final = 270
_TEXT_RIGHT: Final = 884
_BAR_TOP: Final = 184
_BAR_HEIGHT: Final = 40
_TOP_BASELINE: Final = 92
_NAME_BASELINE: Final = 166
_TOTAL_BASELINE: Final = 256
_GAP: Final = 18

_BACKGROUND: Final = (43, 45, 49, 255)
_PANEL: Final = (30, 31, 34, 255)
_TRACK: Final = (72, 75, 78, 255)
_WHITE: Final = (255, 255, 255, 255)
_GREY: Final = (185, 187, 190, 255)
_DEFAULT_AVATAR: Final = (92, 95, 102, 255)

_LABEL_SIZE: Final = 26
_VALUE_SIZE: Final = 58
_NAME_SIZE: Final = 40
_SMALL_SIZE: Final = 22
_INITIAL_SIZE: Final = 96


@dataclasses.dataclass(frozen=True, slots=True)
class RankCard:
    """What one rank card shows (plain data: it is pickled to the image pool)."""

    display_name: str
    """The member's name as shown in the guild; any Unicode, any length."""
    avatar_png: bytes | None
    """The avatar image (PNG, or any format Pillow reads), or None for the default one."""
    level: int
    """The member's level."""
    rank: int
    """Their place on the guild's leaderboard, from 1."""
    xp_into_level: int
    """XP earned since reaching ``level``."""
    xp_for_next_level: int
    """XP from ``level`` to the next one (the bar is full at this)."""
    total_xp: int
    """All XP earned in the guild."""
    accent_rgb: int = DEFAULT_ACCENT
    """The ring, bar and level colour, as ``0xRRGGBB``."""


def render_rank_card(card: RankCard) -> bytes:
    """Return ``card`` drawn as a PNG (256 colours: about 8 KB, 20 KB with a photo avatar).

    Never raises for odd input: an unreadable avatar gets the default one, a name the font
    cannot draw gets ``?`` for what it lacks, a long name ends in an ellipsis.
    """
    accent = _rgba(card.accent_rgb)
    image = _draw_shapes(card, accent)
    _paste_avatar(image, card)
    _draw_text(ImageDraw.Draw(image), card, accent)
    return _encode(image)


def warm_up_rank_cards() -> None:
    """Render one sample card, so that a worker's first real card is as quick as the rest.

    For :attr:`shoal.kit.images.ImagePoolSettings.warm_ups`: the fonts, masks and shared
    background are loaded once per process, which makes a first card about 5x slower.
    """
    render_rank_card(
        RankCard("Warm-up", None, level=1, rank=1, xp_into_level=1, xp_for_next_level=2, total_xp=1)
    )


def _rgba(rgb: int) -> tuple[int, int, int, int]:
    return ((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF, 255)


def _draw_shapes(card: RankCard, accent: tuple[int, int, int, int]) -> Image.Image:
    """Return the card with its panel, ring, bar track and the bar's fill drawn."""
    image = _background(accent).copy()
    fraction = progress_fraction(card.xp_into_level, card.xp_for_next_level)
    if fraction > 0:
        # Never narrower than the bar is tall, so a sliver of progress is a round pill.
        width = max(round((_TEXT_RIGHT - _TEXT_LEFT) * fraction), _BAR_HEIGHT)
        mask = _rounded_mask(width, _BAR_HEIGHT, _BAR_HEIGHT // 2)
        image.paste(
            accent, (_TEXT_LEFT, _BAR_TOP, _TEXT_LEFT + width, _BAR_TOP + _BAR_HEIGHT), mask
        )
    return image


@functools.lru_cache(maxsize=32)
def _background(accent: tuple[int, int, int, int]) -> Image.Image:
    """Return what every card in ``accent`` shares: card, panel, ring and bar track."""
    width, height = CARD_SIZE
    image = Image.new("RGBA", CARD_SIZE, (0, 0, 0, 0))
    image.paste(_BACKGROUND, (0, 0, width, height), _rounded_mask(width, height, _CARD_RADIUS))
    inner = (width - 2 * _PANEL_INSET, height - 2 * _PANEL_INSET)
    panel_mask = _rounded_mask(*inner, _CARD_RADIUS - _PANEL_INSET // 2)
    image.paste(
        _PANEL,
        (_PANEL_INSET, _PANEL_INSET, width - _PANEL_INSET, height - _PANEL_INSET),
        panel_mask,
    )
    image.paste(accent, _circle(_RING_RADIUS), _disc_mask(2 * _RING_RADIUS))
    gap = _RING_RADIUS - _RING_GAP
    image.paste(_PANEL, _circle(gap), _disc_mask(2 * gap))
    bar_width = _TEXT_RIGHT - _TEXT_LEFT
    track = (_TEXT_LEFT, _BAR_TOP, _TEXT_RIGHT, _BAR_TOP + _BAR_HEIGHT)
    image.paste(_TRACK, track, _rounded_mask(bar_width, _BAR_HEIGHT, _BAR_HEIGHT // 2))
    return image


def _circle(radius: int) -> tuple[int, int, int, int]:
    """Return the box of a circle around the avatar's centre."""
    x, y = _AVATAR_CENTRE
    return (x - radius, y - radius, x + radius, y + radius)


@functools.lru_cache(maxsize=64)
def _rounded_mask(width: int, height: int, radius: int) -> Image.Image:
    """Return a rounded-rectangle mask with smooth corners (flat edges need no smoothing)."""
    mask = Image.new("L", (width, height), 255)
    corner = _disc_mask(2 * radius)
    for x, y, crop in (
        (0, 0, (0, 0, radius, radius)),
        (width - radius, 0, (radius, 0, 2 * radius, radius)),
        (0, height - radius, (0, radius, radius, 2 * radius)),
        (width - radius, height - radius, (radius, radius, 2 * radius, 2 * radius)),
    ):
        mask.paste(corner.crop(crop), (x, y))
    return mask


@functools.lru_cache(maxsize=16)
def _disc_mask(diameter: int) -> Image.Image:
    """Return a smooth disc mask, drawn supersampled and scaled down."""
    s = _SUPERSAMPLE
    mask = Image.new("L", (diameter * s, diameter * s), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, diameter * s - 1, diameter * s - 1), 255)
    return mask.reduce(s)


def _paste_avatar(image: Image.Image, card: RankCard) -> None:
    diameter = 2 * _AVATAR_RADIUS
    avatar = _decoded_avatar(card.avatar_png, diameter) or _default_avatar(
        card.display_name, diameter
    )
    avatar.putalpha(ImageChops.multiply(avatar.getchannel("A"), _disc_mask(diameter)))
    left, top, _, _ = _circle(_AVATAR_RADIUS)
    image.alpha_composite(avatar, (left, top))


def _decoded_avatar(data: bytes | None, diameter: int) -> Image.Image | None:
    """Return the avatar scaled to a ``diameter`` square, or None when it cannot be read."""
    if not data:
        return None
    try:
        with warnings.catch_warnings():
            # A decompression-bomb warning is a refusal here, not noise.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as source:
                if source.width * source.height > _MAX_AVATAR_PIXELS:
                    return None
                frame = source.convert("RGBA")  # the first frame of an animated avatar
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        # Whatever the bytes are, the card still renders: a corrupt avatar is not an error.
        return None
    return ImageOps.fit(frame, (diameter, diameter), Image.Resampling.LANCZOS)


def _default_avatar(name: str, diameter: int) -> Image.Image:
    """Draw the local default avatar: a grey disc with the name's initial."""
    avatar = Image.new("RGBA", (diameter, diameter), _DEFAULT_AVATAR)
    draw = ImageDraw.Draw(avatar)
    centre = diameter / 2
    draw.text((centre, centre), initial_of(name, _has_glyph), _WHITE, _font(_INITIAL_SIZE), "mm")
    return avatar


def _draw_text(
    draw: ImageDraw.ImageDraw, card: RankCard, accent: tuple[int, int, int, int]
) -> None:
    right = _draw_stat(draw, _TEXT_RIGHT, "LEVEL", str(card.level), accent)
    _draw_stat(draw, right - 2 * _GAP, "RANK", f"#{card.rank}", _WHITE)
    progress = xp_text(card.xp_into_level, card.xp_for_next_level)
    small = _font(_LABEL_SIZE)
    draw.text((_TEXT_RIGHT, _NAME_BASELINE), progress, _GREY, small, "rs")
    name_font = _font(_NAME_SIZE)
    room = _TEXT_RIGHT - _TEXT_LEFT - small.getlength(progress) - 2 * _GAP
    name = truncate_to_width(
        drawable_text(card.display_name, _has_glyph), room, name_font.getlength
    )
    draw.text((_TEXT_LEFT, _NAME_BASELINE), name, _WHITE, name_font, "ls")
    total = f"Total {compact_number(card.total_xp)} XP"
    draw.text((_TEXT_LEFT, _TOTAL_BASELINE), total, _GREY, _font(_SMALL_SIZE), "ls")


def _draw_stat(
    draw: ImageDraw.ImageDraw, right: float, label: str, value: str, colour: tuple[int, ...]
) -> float:
    """Draw ``LABEL value`` ending at ``right``; return where it starts."""
    value_font = _font(_VALUE_SIZE)
    draw.text((right, _TOP_BASELINE), value, colour, value_font, "rs")
    label_right = right - value_font.getlength(value) - _GAP / 2
    draw.text((label_right, _TOP_BASELINE), label, colour, _font(_LABEL_SIZE), "rs")
    return label_right - _font(_LABEL_SIZE).getlength(label)


@functools.cache
def _font(size: int) -> FreeTypeFont:
    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType
        msg = "rank cards need Pillow with FreeType (ImageFont.load_default(size=...))"
        raise TypeError(msg)
    return font


@functools.cache
def _missing_glyph_mask() -> tuple[tuple[int, int], bytes]:
    """Return how the font draws a character it lacks (its .notdef box)."""
    mask = _font(_NAME_SIZE).getmask("\U000f0000")  # a private-use point no font covers
    return mask.size, bytes(mask)


@functools.lru_cache(maxsize=4096)
def _has_glyph(char: str) -> bool:
    """Return whether the font draws ``char`` as itself rather than as a .notdef box."""
    mask = _font(_NAME_SIZE).getmask(char)
    return (mask.size, bytes(mask)) != _missing_glyph_mask()


def _encode(image: Image.Image) -> bytes:
    palette = image.quantize(_PALETTE_COLOURS, Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    # Not optimize=True: it costs 20 ms more for 4 % fewer bytes on a palette image.
    palette.save(out, "PNG")
    return out.getvalue()
