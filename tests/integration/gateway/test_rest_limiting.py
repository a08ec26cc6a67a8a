"""The fleet-wide REST global limit: several hikari REST clients share one Redis window."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import hikari
import pytest
import redis.asyncio as redis_asyncio
from hikari.impl import buckets

from shoal.gateway.rest_limiting import (
    RedisGlobalLimiter,
    SharedGlobalBucketManager,
    is_global_exempt,
)
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from shoal_sim.discord.world import generated_channel_id

if TYPE_CHECKING:
    from shoal_sim.discord.server import Simulator

_PODS = 3
_REQUESTS_PER_POD = 40  # 120 in all: far over Discord's 50 per second if unpaced


def _global_429s(sim: Simulator) -> int:
    return sum(n for route, n in sim.stats.rest_429s.items() if "global" in route)


async def _burst(sim: Simulator, managers: list[buckets.RESTBucketManager]) -> None:
    """Each "pod" fetches its own channels at once; per-route buckets never fill."""
    guilds = sorted(sim.world.guilds)
    apps = []
    for manager in managers:
        app = hikari.RESTApp(url=sim.rest_url)
        app._bucket_manager = manager  # noqa: SLF001 - the seam this limiter relies on
        await app.start()
        apps.append(app)
    try:

        async def pod(index: int, app: hikari.RESTApp) -> None:
            async with app.acquire(DEFAULT_TOKEN, hikari.TokenType.BOT) as client:
                ids = guilds[index * _REQUESTS_PER_POD : (index + 1) * _REQUESTS_PER_POD]
                channels = [generated_channel_id(sim.world.guilds[g], 1) for g in ids]
                await asyncio.gather(*(client.fetch_channel(c) for c in channels))

        await asyncio.gather(*(pod(i, app) for i, app in enumerate(apps)))
    finally:
        for app in apps:
            await app.close()


async def test_shared_limiter_prevents_global_429s_when_several_pods_burst_at_once(
    redis_url: str, redis_key_prefix: str
) -> None:
    key = f"{redis_key_prefix}rest:global"
    clients = [redis_asyncio.from_url(redis_url) for _ in range(_PODS)]  # one pool per pod
    managers: list[buckets.RESTBucketManager] = [
        SharedGlobalBucketManager(RedisGlobalLimiter(client, key)) for client in clients
    ]
    try:
        async with running_simulator(SimSettings(guilds=_PODS * _REQUESTS_PER_POD)) as sim:
            started = asyncio.get_running_loop().time()
            await _burst(sim, managers)
            elapsed_s = asyncio.get_running_loop().time() - started
    finally:
        for client in clients:
            await client.aclose()
    assert _global_429s(sim) == 0
    assert sim.stats.rest_requests["GET /channels/{channel_id}"] == _PODS * _REQUESTS_PER_POD
    assert elapsed_s >= 2 * 1.1 * 0.9  # 120 requests at 50 per 1.1 s need over two windows


async def test_unshared_buckets_hit_global_429s_when_several_pods_burst_at_once() -> None:
    """The control: hikari alone paces each pod, so the fleet exceeds the global limit."""
    managers = [buckets.RESTBucketManager(300.0) for _ in range(_PODS)]
    async with running_simulator(SimSettings(guilds=_PODS * _REQUESTS_PER_POD)) as sim:
        await _burst(sim, managers)
    assert _global_429s(sim) > 0


async def test_limiter_never_admits_more_than_the_limit_within_a_window(
    redis_client: redis_asyncio.Redis, redis_key_prefix: str
) -> None:
    limiter = RedisGlobalLimiter(redis_client, f"{redis_key_prefix}w", limit=5, window_s=0.3)
    loop = asyncio.get_running_loop()
    taken: list[float] = []

    async def take() -> None:
        await limiter.take()
        taken.append(loop.time())

    await asyncio.gather(*(take() for _ in range(12)))
    taken.sort()
    for index in range(len(taken) - 5):
        assert taken[index + 5] - taken[index] >= 0.3 * 0.9


@pytest.mark.parametrize(
    ("template", "is_exempt"),
    [
        ("/interactions/{interaction}/{token}/callback", True),
        ("/webhooks/{webhook}/{token}", True),
        ("/channels/{channel}/messages", False),
        ("/guilds/{guild}/members/{user}", False),
    ],
)
def test_is_global_exempt_matches_discord_when_given_a_route(
    template: str, *, is_exempt: bool
) -> None:
    assert is_global_exempt(template) is is_exempt


def test_limiter_rejects_settings_when_they_cannot_limit(redis_client: redis_asyncio.Redis) -> None:
    with pytest.raises(ValueError, match="limit"):
        RedisGlobalLimiter(redis_client, "k", limit=0)
