"""Rate limits and authentication of the simulated REST API, as Discord applies them."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.sim.rest.api import Api, new_interaction
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator

_MESSAGES = "/channels/{channel_id}/messages"
_CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"


async def test_rest_sends_rate_limit_headers_when_a_bot_calls(api: Api) -> None:
    reply = await api.call("GET", "/users/@me", expect=200)
    assert reply.headers["X-RateLimit-Limit"] == "50"
    assert reply.headers["X-RateLimit-Remaining"] == "49"
    assert float(reply.headers["X-RateLimit-Reset-After"]) > 0
    assert float(reply.headers["X-RateLimit-Reset"]) > 1_700_000_000
    assert len(reply.headers["X-RateLimit-Bucket"]) == 32


async def test_rest_refuses_with_429_when_a_route_bucket_is_empty(
    api: Api,
    sim: Simulator,
    guild: Guild,
) -> None:
    busy = {"channel_id": generated_channel_id(guild, 1)}
    calm = {"channel_id": generated_channel_id(guild, 2)}
    sent = [
        await api.call("POST", _MESSAGES, path=busy, json={"content": f"{i}"}, expect=200)
        for i in range(5)
    ]
    refused = await api.call("POST", _MESSAGES, path=busy, json={"content": "six"}, expect=429)
    elsewhere = await api.call("POST", _MESSAGES, path=calm, json={"content": "ok"}, expect=200)
    assert [r.headers["X-RateLimit-Remaining"] for r in sent] == ["4", "3", "2", "1", "0"]
    assert refused.body["message"] == "You are being rate limited."
    assert refused.body["global"] is False
    assert 0 < refused.body["retry_after"] <= 5
    assert refused.headers["X-RateLimit-Scope"] == "user"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) >= refused.body["retry_after"]
    assert refused.headers["X-RateLimit-Bucket"] == sent[0].headers["X-RateLimit-Bucket"]
    assert elsewhere.headers["X-RateLimit-Bucket"] == sent[0].headers["X-RateLimit-Bucket"]
    assert sim.stats.rest_429s == {"POST /channels/{channel_id}/messages user": 1}
    assert sim.stats.rest_statuses["POST /channels/{channel_id}/messages 429"] == 1
    assert sim.stats.invalid_requests == 1
    assert len(sim.world.messages[int(busy["channel_id"])]) == 5


async def test_rest_refuses_with_global_429_when_a_token_exceeds_50_per_second(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(SimSettings(guilds=2)) as sim:
        api = Api(http, sim, spec=load_spec())
        guild = next(sim.world.guilds_of(next(iter(sim.world.applications.values()))))
        interaction = new_interaction(
            sim,
            guild_id=guild.id,
            channel_id=generated_channel_id(guild, 1),
            user_id=generated_member_id(guild, 1),
        )
        burst = await asyncio.gather(*(api.call("GET", "/users/@me") for _ in range(50)))
        refused = await api.call("GET", "/gateway/bot", expect=429)
        exempt = await api.call(
            "POST",
            _CALLBACK,
            json={"type": 4, "data": {"content": "ok"}},
            path={"interaction_id": interaction.id, "interaction_token": interaction.token},
            expect=204,
        )
        followup = await api.call(
            "POST",
            "/webhooks/{webhook_id}/{webhook_token}",
            path={"webhook_id": interaction.application_id, "webhook_token": interaction.token},
            json={"content": "more"},
            expect=204,
        )
    assert [r.status for r in burst] == [200] * 50
    assert refused.body["global"] is True
    assert 0 < refused.body["retry_after"] <= 1
    assert refused.headers["X-RateLimit-Global"] == "true"
    assert refused.headers["X-RateLimit-Scope"] == "global"
    assert refused.headers["Retry-After"] == "1"
    assert exempt.status == followup.status == 204
    assert sim.stats.rest_429s == {"GET /gateway/bot global": 1}


async def test_rest_refuses_with_401_when_the_token_is_missing_or_wrong(
    api: Api,
    http: aiohttp.ClientSession,
    sim: Simulator,
) -> None:
    wrong = Api(http, sim, spec=load_spec(), token="d3Jvbmc.token.here")  # noqa: S106 - a wrong token
    bad = await wrong.call("GET", "/users/@me", expect=401)
    missing = await api.call("GET", "/users/@me", is_authorised=False, expect=401)
    bearer = await api.call(
        "GET",
        "/users/@me",
        is_authorised=False,
        expect=401,
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert bad.body == missing.body == bearer.body == {"message": "401: Unauthorized", "code": 0}
    assert "X-RateLimit-Bucket" not in bad.headers
    assert sim.stats.invalid_requests == 3
    assert sim.stats.rest_statuses["GET /users/@me 401"] == 3


async def test_rest_refuses_with_401_when_the_token_was_reset(api: Api, sim: Simulator) -> None:
    app = next(iter(sim.world.applications.values()))
    sim.world.reset_token(app)
    await api.call("GET", "/users/@me", expect=401)
    api.token = app.token
    await api.call("GET", "/users/@me", expect=200)
