"""`/_sim/info`, `/_sim/sessions`, `/_sim/stats` and its reset, REST counters by route."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal_sim.discord import intents
from shoal_sim.discord.settings import DEFAULT_TOKEN
from shoal_sim.discord.snowflakes import bot_id_from_token
from shoal_sim.discord.world import generated_channel_id
from tests.integration.sim.control.conftest import GUILDS
from tests.integration.sim.rest.gateway_listening import listening

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.control.control_api import ControlApi
    from tests.integration.sim.rest.api import Api

_MESSAGES = "/channels/{channel_id}/messages"
_MESSAGES_ROUTE = "POST /channels/{channel_id}/messages"


async def test_info_describes_the_simulator_when_asked(control: ControlApi, sim: Simulator) -> None:
    info = await control.call("GET", "/info", expect=200)
    assert info["rest_url"] == sim.rest_url
    assert info["gateway_url"] == sim.gateway.ws_url
    assert info["applications"] == [
        {
            "id": str(bot_id_from_token(DEFAULT_TOKEN)),
            "token": DEFAULT_TOKEN,
            "guilds": GUILDS,
            "session_start_remaining": 1000,
            "max_concurrency": 16,
        }
    ]
    assert info["settings"]["guilds"] == GUILDS
    assert "tokens" not in info["settings"]


async def test_sessions_lists_live_sessions_when_a_bot_is_connected(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    assert await control.call("GET", "/sessions", expect=200) == []
    async with listening(http, sim, intents=intents.GUILDS):
        sessions = await control.call("GET", "/sessions", expect=200)
    assert len(sessions) == 1
    assert sessions[0]["shard"] == [0, 1]
    assert sessions[0]["intents"] == intents.GUILDS
    assert sessions[0]["is_connected"] is True
    assert sessions[0]["application_id"] == str(bot_id_from_token(DEFAULT_TOKEN))
    assert sessions[0]["seq"] == 1 + GUILDS  # READY and one GUILD_CREATE per guild


async def test_stats_count_gateway_traffic_when_a_session_identifies(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    async with listening(http, sim, intents=intents.GUILDS | intents.GUILD_MESSAGES) as listener:
        await control.call("POST", "/messages", json={"guild_id": str(guild.id)}, expect=201)
        await listener.next_event("MESSAGE_CREATE")
        stats = await control.call("GET", "/stats", expect=200)
    assert stats["sessions_by_shard"] == {"0/1": 1}
    assert stats["connections"] == 1
    assert stats["identifies"] == 1
    assert stats["identifies_by_shard"] == {"0/1": 1}
    assert stats["messages_injected"] == 1
    assert stats["dispatches_by_type"] == {"READY": 1, "GUILD_CREATE": GUILDS, "MESSAGE_CREATE": 1}
    assert stats["dispatches"] == 2 + GUILDS


async def test_stats_count_rest_requests_and_429s_by_route_when_the_bot_calls_rest(
    control: ControlApi, api: Api, guild: Guild
) -> None:
    path = {"channel_id": generated_channel_id(guild, 1)}
    for index in range(5):
        await api.call("POST", _MESSAGES, path=path, json={"content": f"{index}"}, expect=200)
    await api.call("POST", _MESSAGES, path=path, json={"content": "one too many"}, expect=429)
    await api.call("GET", "/users/@me", expect=200)
    rest = (await control.call("GET", "/stats", expect=200))["rest"]
    assert rest["requests"] == {_MESSAGES_ROUTE: 6, "GET /users/@me": 1}
    assert rest["statuses"] == {
        f"{_MESSAGES_ROUTE} 200": 5,
        f"{_MESSAGES_ROUTE} 429": 1,
        "GET /users/@me 200": 1,
    }
    assert rest["rate_limited"] == {f"{_MESSAGES_ROUTE} user": 1}
    assert rest["invalid_requests"] == 1


async def test_stats_start_from_zero_when_reset(
    control: ControlApi, api: Api, guild: Guild
) -> None:
    await control.call("POST", "/messages", json={"guild_id": str(guild.id)}, expect=201)
    await api.call("GET", "/users/@me", expect=200)
    assert await control.call("POST", "/stats/reset", expect=200) == {"ok": True}
    stats = await control.call("GET", "/stats", expect=200)
    assert stats["messages_injected"] == 0
    assert stats["rest"]["requests"] == {}
    assert stats["interactions"]["injected"] == 0
    assert stats["interactions"]["latency_ms"] == {
        "count": 0.0,
        "p50": None,
        "p90": None,
        "p99": None,
        "max": None,
    }
