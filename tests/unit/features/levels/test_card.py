"""The rank card renderer: a small PNG of the right size, whatever the name and avatar."""

from __future__ import annotations

import dataclasses
import io
import pickle
import random

import pytest
from PIL import Image, ImageChops

from shoal.features.levels.card import (
    CARD_SIZE,
    RankCard,
    render_rank_card,
    warm_up_rank_cards,
)

_CARD = RankCard(
    display_name="Alice",
    avatar_png=None,
    level=12,
    rank=3,
    xp_into_level=1_234,
    xp_for_next_level=2_500,
    total_xp=45_678,
    accent_rgb=0xE67E22,
)
_BAR_MIDDLE_Y = 204
_BAR_LEFT, _BAR_RIGHT = 270, 884
#: On the accent ring around the avatar (centre (141, 141), ring radii 89..94).
_RING_POINT = (141, 141 - 91)
#: Right of any name: where the XP label is drawn.
_XP_LABEL_BOX = (700, 130, 884, 172)


def _png(*, width: int = 128, height: int = 128, seed: int = 1) -> bytes:
    """A noisy RGB image (the worst case for PNG size), as PNG bytes."""
    noise = random.Random(seed).randbytes(width * height * 3)  # noqa: S311 -- repeatable noise
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), noise).save(out, "PNG")
    return out.getvalue()


def _decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.convert("RGBA")


def _pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    pixel = image.getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel


def _close(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def test_render_rank_card_makes_a_small_palette_png_of_the_card_size_when_given_a_photo() -> None:
    data = render_rank_card(dataclasses.replace(_CARD, avatar_png=_png()))
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size, image.mode) == ("PNG", CARD_SIZE, "P")
    assert len(data) < 40_000, len(data)


def test_render_rank_card_gives_the_same_bytes_when_the_card_is_the_same() -> None:
    assert render_rank_card(_CARD) == render_rank_card(dataclasses.replace(_CARD))


@pytest.mark.parametrize(
    "changes",
    [
        {"display_name": "Bob"},
        {"level": 13},
        {"rank": 4},
        {"xp_into_level": 2_000},
        {"xp_for_next_level": 9_000},
        {"total_xp": 99_999},
        {"accent_rgb": 0x1ABC9C},
        {"avatar_png": _png()},
    ],
)
def test_render_rank_card_draws_a_different_image_when_any_field_changes(
    changes: dict[str, object],
) -> None:
    changed = dataclasses.replace(_CARD, **changes)  # type: ignore[arg-type]
    assert (
        _decoded(render_rank_card(changed)).tobytes() != _decoded(render_rank_card(_CARD)).tobytes()
    )


@pytest.mark.parametrize(
    "avatar",
    [
        b"",
        b"not an image at all",
        _png()[:200],  # a PNG cut short
        b"\x89PNG\r\n\x1a\n" + bytes(64),  # a PNG signature and garbage
    ],
)
def test_render_rank_card_draws_the_default_avatar_when_the_avatar_is_corrupt(
    avatar: bytes,
) -> None:
    assert render_rank_card(dataclasses.replace(_CARD, avatar_png=avatar)) == render_rank_card(
        _CARD
    )


def test_render_rank_card_draws_the_default_avatar_when_the_avatar_is_too_large() -> None:
    huge = io.BytesIO()
    Image.new("1", (5_000, 5_000)).save(huge, "PNG")  # 25 Mpx that compress to a few KB
    card = dataclasses.replace(_CARD, avatar_png=huge.getvalue())
    assert render_rank_card(card) == render_rank_card(_CARD)


def test_render_rank_card_draws_an_animated_or_odd_sized_avatar_when_it_is_readable() -> None:
    gif = io.BytesIO()
    frames = [Image.new("RGB", (300, 90), colour) for colour in ("red", "blue")]
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    data = render_rank_card(dataclasses.replace(_CARD, avatar_png=gif.getvalue()))
    image = _decoded(data)
    assert _close(_pixel(image, (141, 141)), (255, 0, 0))  # the first frame, centred


def test_render_rank_card_keeps_a_300_character_name_off_the_xp_label() -> None:
    long_name = dataclasses.replace(_CARD, display_name="W" * 300)
    image = _decoded(render_rank_card(long_name))
    short = _decoded(render_rank_card(dataclasses.replace(_CARD, display_name="W")))
    assert image.size == CARD_SIZE
    # Equal but for the palette's rounding: no stroke of a W reaches the label.
    difference = ImageChops.difference(image.crop(_XP_LABEL_BOX), short.crop(_XP_LABEL_BOX))
    assert max(difference.tobytes()) <= 8


@pytest.mark.parametrize(
    "name",
    [
        "李小龍",
        "🐉🔥 dragon",
        "مرحبا",
        "Zoë\u0301\u0301\u0301",
        "a\u200d\u200b\u202eb",
        "line\nbreak\x00",
        "",
        "\U0010fffd" * 300,
    ],
)
def test_render_rank_card_renders_when_the_name_is_any_unicode(name: str) -> None:
    image = _decoded(render_rank_card(dataclasses.replace(_CARD, display_name=name)))
    assert image.size == CARD_SIZE


def test_render_rank_card_draws_the_ring_and_bar_in_the_accent_when_half_way() -> None:
    card = dataclasses.replace(_CARD, xp_into_level=500, xp_for_next_level=1_000)
    image = _decoded(render_rank_card(card))
    accent = (0xE6, 0x7E, 0x22)
    quarter = _BAR_LEFT + (_BAR_RIGHT - _BAR_LEFT) // 4
    three_quarters = _BAR_LEFT + 3 * (_BAR_RIGHT - _BAR_LEFT) // 4
    assert _close(_pixel(image, _RING_POINT), accent)
    assert _close(_pixel(image, (quarter, _BAR_MIDDLE_Y)), accent)
    assert not _close(_pixel(image, (three_quarters, _BAR_MIDDLE_Y)), accent)


def test_render_rank_card_leaves_the_corners_transparent_when_rounded() -> None:
    image = _decoded(render_rank_card(_CARD))
    assert _pixel(image, (0, 0))[3] == 0
    assert _pixel(image, (CARD_SIZE[0] // 2, CARD_SIZE[1] // 2))[3] == 255


def test_rank_card_and_renderer_pickle_when_sent_to_a_worker_process() -> None:
    card = dataclasses.replace(_CARD, avatar_png=_png())
    assert pickle.loads(pickle.dumps(card)) == card  # noqa: S301 -- our own bytes
    assert pickle.loads(pickle.dumps(render_rank_card)) is render_rank_card  # noqa: S301


def test_warm_up_rank_cards_renders_without_error_when_a_worker_starts() -> None:
    warm_up_rank_cards()
