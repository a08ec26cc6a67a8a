"""GET /gateway/bot against the Discord simulator: the answer, a refused token, no server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import aiohttp
import pytest

from shoal_operator import discord_api
from shoal_operator.discord_api import DiscordApiError, GatewayInfo, fetch_gateway_info
from shoal_sim.discord.rest.gateway_routes import recommended_shards
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN
from tests.integration.sim.gateway.worlds import app_of, small_world

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from shoal_sim.discord.server import Simulator

#: Over 2000 guilds, so Discord recommends more than one shard (one per 1000).
_GUILDS: Final = 2001
_MAX_CONCURRENCY: Final = 16
_SESSION_STARTS: Final = 250
_RESET_S: Final = 3600.0
_UNKNOWN_TOKEN: Final = "MTIzNDU2Nzg5MA.unknown.bm90LWEtdG9rZW4"  # noqa: S105 - made up, refused


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    settings = small_world(
        guilds=_GUILDS,
        members_per_guild=0,
        channels_per_guild=1,
        roles_per_guild=0,
        max_concurrency=_MAX_CONCURRENCY,
        session_start_total=_SESSION_STARTS,
        session_start_reset_s=_RESET_S,
    )
    async with running_simulator(settings) as simulator:
        yield simulator


async def test_fetch_gateway_info_reads_the_simulators_answer_when_the_token_is_good(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    info = await fetch_gateway_info(http, api_base_url=sim.rest_url, token=DEFAULT_TOKEN)
    expected_shards = recommended_shards(len(app_of(sim).guild_ids))
    assert expected_shards == 3
    assert info.recommended_shards == expected_shards
    assert info.max_concurrency == _MAX_CONCURRENCY
    assert info.session_starts_total == _SESSION_STARTS
    assert info.session_starts_remaining == _SESSION_STARTS
    assert 0 < info.reset_after_s <= _RESET_S
    assert isinstance(info, GatewayInfo)


async def test_fetch_gateway_info_succeeds_when_the_base_url_ends_in_a_slash(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    info = await fetch_gateway_info(http, api_base_url=f"{sim.rest_url}/", token=DEFAULT_TOKEN)
    assert info.recommended_shards == 3


async def test_fetch_gateway_info_raises_401_when_the_token_is_refused(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    with pytest.raises(DiscordApiError, match="token") as caught:
        await fetch_gateway_info(http, api_base_url=sim.rest_url, token=_UNKNOWN_TOKEN)
    assert caught.value.status == 401
    assert _UNKNOWN_TOKEN not in str(caught.value)


async def test_fetch_gateway_info_raises_with_the_status_when_discord_answers_an_error(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    with pytest.raises(DiscordApiError, match="HTTP 404") as caught:
        await fetch_gateway_info(
            http, api_base_url=f"{sim.base_url}/api/v10/nowhere", token=DEFAULT_TOKEN
        )
    assert caught.value.status == 404


async def test_fetch_gateway_info_raises_without_status_when_nothing_listens(
    http: aiohttp.ClientSession, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}/api/v10"
    with pytest.raises(DiscordApiError, match="cannot reach") as caught:
        await fetch_gateway_info(http, api_base_url=url, token=DEFAULT_TOKEN)
    assert caught.value.status is None


async def test_fetch_gateway_info_raises_without_status_when_discord_never_answers(
    http: aiohttp.ClientSession, silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real limit is 15 s; a short one keeps the test fast, the path is the same.
    monkeypatch.setattr(discord_api, "_TIMEOUT", aiohttp.ClientTimeout(total=0.2))
    url = f"http://127.0.0.1:{silent_port}/api/v10"
    with pytest.raises(DiscordApiError, match="cannot reach") as caught:
        await fetch_gateway_info(http, api_base_url=url, token=DEFAULT_TOKEN)
    assert caught.value.status is None
