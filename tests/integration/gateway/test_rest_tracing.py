"""REST requests counted by route and status through hikari's private HTTP session seam."""

from __future__ import annotations

from typing import TYPE_CHECKING

import hikari
import pytest
from prometheus_client import CollectorRegistry

from shoal.gateway.rest_limiting import RedisGlobalLimiter, SharedGlobalBucketManager
from shoal.gateway.rest_tracing import instrument_rest, route_template
from shoal.observability.metrics import Metrics
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from shoal_sim.discord.world import generated_channel_id

if TYPE_CHECKING:
    import redis.asyncio as redis_asyncio


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/v10/channels/1234567890123/messages", "/channels/{id}/messages"),
        ("/api/v10/gateway/bot", "/gateway/bot"),
        (
            "/api/v10/webhooks/1000000000000000001/aW50ZXJhY3Rpb246"
            + "x" * 48
            + "/messages/@original",
            "/webhooks/{id}/{token}/messages/@original",
        ),
        ("/api/v10/users/@me", "/users/@me"),
    ],
)
def test_route_template_replaces_ids_and_tokens_when_given_a_path(path: str, template: str) -> None:
    assert route_template(path) == template


async def test_instrumented_bot_counts_rest_requests_when_hikari_starts_its_client(
    redis_client: redis_asyncio.Redis, redis_key_prefix: str
) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    async with running_simulator(SimSettings(guilds=4)) as sim:
        bot = hikari.GatewayBot(DEFAULT_TOKEN, rest_url=sim.rest_url, banner=None, logs=None)
        limiter = RedisGlobalLimiter(redis_client, f"{redis_key_prefix}rest")
        is_instrumented: list[bool] = []
        bot.rest._bucket_manager = SharedGlobalBucketManager(  # type: ignore[attr-defined] # noqa: SLF001
            limiter, on_start=lambda: is_instrumented.append(instrument_rest(bot.rest, metrics))
        )
        bot.rest.start()  # type: ignore[attr-defined] # what GatewayBot.start does first
        try:
            guild = sim.world.guild(min(sim.world.guilds))
            assert guild is not None
            await bot.rest.fetch_channel(generated_channel_id(guild, 1))
            await bot.rest.fetch_channel(generated_channel_id(guild, 1))
            await bot.rest.fetch_my_user()
        finally:
            await bot.rest.close()
    assert is_instrumented == [True]
    sample = registry.get_sample_value
    assert (
        sample("shoal_rest_requests_total", {"route": "GET /channels/{id}", "status": "200"}) == 2
    )
    assert sample("shoal_rest_requests_total", {"route": "GET /users/@me", "status": "200"}) == 1
