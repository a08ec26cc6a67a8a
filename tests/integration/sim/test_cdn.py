"""The simulated CDN: user avatars and default avatars, served as Discord's CDN serves them."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Final

import aiohttp
import hikari
import pytest
from PIL import Image

from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from shoal_sim.discord.world import generated_member_id

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from shoal_sim.discord.entities import User
    from shoal_sim.discord.server import Simulator

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_SETTINGS: Final = SimSettings(guilds=2, members_per_guild=40, avatar_fraction=0.5)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for one test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator where about half the generated users have an avatar."""
    async with running_simulator(_SETTINGS) as simulator:
        yield simulator


def _users(sim: Simulator) -> list[User]:
    guild = sim.world.guilds[min(sim.world.guilds)]
    found = [sim.world.user(generated_member_id(guild, i)) for i in range(40)]
    return [u for u in found if u is not None]


def _with_avatar(sim: Simulator) -> User:
    return next(u for u in _users(sim) if u.avatar is not None)


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, bytes]:
    async with http.get(url) as response:
        return response.status, response.content_type, await response.read()


def _size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


async def test_avatar_is_a_png_of_the_asked_size_when_the_hash_is_the_users(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    user = _with_avatar(sim)
    url = f"{sim.cdn_url}/avatars/{user.id}/{user.avatar}.png"
    status, content_type, default = await _get(http, url)
    _, _, small = await _get(http, f"{url}?size=32")
    _, _, large = await _get(http, f"{url}?size=1024")
    assert (status, content_type) == (200, "image/png")
    assert default.startswith(_PNG_SIGNATURE)
    assert _size_of(default) == (128, 128)
    assert _size_of(small) == (32, 32)
    assert _size_of(large) == (1024, 1024)


async def test_avatar_bytes_are_the_same_when_served_twice_or_by_another_simulator(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    user = _with_avatar(sim)
    path = f"/avatars/{user.id}/{user.avatar}.png?size=64"
    _, _, first = await _get(http, sim.cdn_url + path)
    _, _, again = await _get(http, sim.cdn_url + path)
    async with running_simulator(_SETTINGS) as twin:
        twin_user = twin.world.user(user.id)
        _, _, other = await _get(http, twin.cdn_url + path)
    assert twin_user is not None
    assert twin_user.avatar == user.avatar
    assert first == again == other


async def test_avatar_answers_404_when_the_hash_or_user_is_unknown(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    user = _with_avatar(sim)
    without = next(u for u in _users(sim) if u.avatar is None)
    urls = [
        f"{sim.cdn_url}/avatars/{user.id}/{'0' * 32}.png",
        f"{sim.cdn_url}/avatars/{without.id}/{user.avatar}.png",
        f"{sim.cdn_url}/avatars/424242/{user.avatar}.png",
        f"{sim.cdn_url}/avatars/{user.id}/{user.avatar}.gif",
        f"{sim.cdn_url}/avatars/{user.id}/{user.avatar}",
    ]
    for url in urls:
        status, _, _ = await _get(http, url)
        assert status == 404, url


@pytest.mark.parametrize("size", ["100", "8", "8192", "big"])
async def test_avatar_answers_400_when_the_size_is_not_a_power_of_two_in_range(
    http: aiohttp.ClientSession, sim: Simulator, size: str
) -> None:
    user = _with_avatar(sim)
    status, _, _ = await _get(
        http, f"{sim.cdn_url}/avatars/{user.id}/{user.avatar}.png?size={size}"
    )
    assert status == 400


async def test_avatar_is_webp_when_the_extension_asks_for_it(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    user = _with_avatar(sim)
    status, content_type, data = await _get(
        http, f"{sim.cdn_url}/avatars/{user.id}/{user.avatar}.webp?size=16"
    )
    assert (status, content_type) == (200, "image/webp")
    assert data[8:12] == b"WEBP"


async def test_default_avatars_are_six_distinct_pngs_when_indexes_0_to_5_are_asked(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    images = []
    for index in range(6):
        status, content_type, data = await _get(
            http, f"{sim.cdn_url}/embed/avatars/{index}.png?size=16"
        )
        assert (status, content_type) == (200, "image/png")
        assert _size_of(data) == (16, 16)
        images.append(data)
    assert len(set(images)) == 6
    _, _, default_size = await _get(http, f"{sim.cdn_url}/embed/avatars/0.png")
    assert _size_of(default_size) == (128, 128)
    for missing in ("6.png", "-1.png", "x.png"):
        status, _, _ = await _get(http, f"{sim.cdn_url}/embed/avatars/{missing}")
        assert status == 404, missing


async def test_user_payloads_carry_the_avatar_the_cdn_serves_when_fetched_over_rest(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    user = _with_avatar(sim)
    app = hikari.RESTApp(url=sim.rest_url)
    await app.start()
    try:
        async with app.acquire(DEFAULT_TOKEN, hikari.TokenType.BOT) as rest:
            fetched = await rest.fetch_user(user.id)
    finally:
        await app.close()
    assert fetched.avatar_hash == user.avatar
    status, _, _ = await _get(
        http, f"{sim.cdn_url}/avatars/{fetched.id}/{fetched.avatar_hash}.png?size=64"
    )
    assert status == 200
