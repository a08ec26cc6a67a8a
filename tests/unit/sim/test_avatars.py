"""Generated avatars: which users have one, their hashes, and the images drawn for them."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shoal_sim.discord import avatars

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_avatar_hash_is_the_same_when_seed_and_user_are_the_same() -> None:
    first = avatars.avatar_hash(1, 123, 1.0)
    assert first is not None
    assert first == avatars.avatar_hash(1, 123, 1.0)
    assert len(first) == 32
    assert int(first, 16) >= 0  # hex digits, as Discord's hashes
    assert first != avatars.avatar_hash(2, 123, 1.0)
    assert first != avatars.avatar_hash(1, 124, 1.0)


def test_avatar_hash_gives_the_fraction_an_avatar_when_generating_many_users() -> None:
    users = range(10_000)
    assert all(avatars.avatar_hash(7, u, 0.0) is None for u in users[:200])
    assert all(avatars.avatar_hash(7, u, 1.0) is not None for u in users[:200])
    with_avatar = sum(avatars.avatar_hash(7, u, 0.8) is not None for u in users)
    assert 7_700 < with_avatar < 8_300


@pytest.mark.parametrize(
    ("size", "is_valid"),
    [(16, True), (128, True), (4096, True), (8, False), (100, False), (8192, False), (0, False)],
)
def test_is_valid_size_accepts_powers_of_two_when_between_16_and_4096(
    size: int, *, is_valid: bool
) -> None:
    assert avatars.is_valid_size(size) is is_valid


def test_render_avatar_draws_a_png_of_the_size_when_asked() -> None:
    key = "0" * 31 + "1"
    data = avatars.render_avatar(key, 64)
    assert data.startswith(_PNG_SIGNATURE)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (64, 64)
    assert avatars.render_avatar(key, 64) == data
    assert avatars.render_avatar("f" * 32, 64) != data


def test_render_avatar_is_mirrored_when_drawn() -> None:
    with Image.open(io.BytesIO(avatars.render_avatar("ab" * 16, 70))) as image:
        rgb = image.convert("RGB")
        width = rgb.width
        for y in range(0, width, 10):
            for x in range(0, width // 2, 10):
                assert rgb.getpixel((x, y)) == rgb.getpixel((width - 1 - x, y))


def test_render_default_avatar_draws_each_colour_when_indexes_differ() -> None:
    centres = set()
    for index in range(avatars.DEFAULT_AVATAR_COUNT):
        data = avatars.render_default_avatar(index, 32)
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (32, 32)
            centres.add(image.convert("RGBA").getpixel((16, 16)))
    assert len(centres) == avatars.DEFAULT_AVATAR_COUNT


def test_render_avatar_encodes_webp_when_asked() -> None:
    data = avatars.render_avatar("cd" * 16, 32, "WEBP")
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WEBP"
