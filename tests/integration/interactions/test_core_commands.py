"""``/ping`` and ``/shard`` answered through real hikari, arc and Redis on the simulator."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shoal.features.core import core_module
from shoal_sim.discord.server import running_simulator
from tests.integration.interactions.answers import EPHEMERAL, answer_of, inject_command
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    import aiohttp
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys


async def test_ping_answers_with_gateway_and_rest_latency_when_invoked(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim, redis_client, keys, postgres=postgres_pool, features=[core_module]
        ) as worker,
    ):
        control = ControlApi(http, sim)
        interaction_id = await inject_command(control, min(sim.world.guilds), "ping")
        answer = await answer_of(control, interaction_id)
    assert answer["response_type"] == 4
    assert answer["acknowledge_attempts"] == 1
    content = answer["original"]["content"]
    assert re.fullmatch(
        r"Pong! Gateway heartbeat: (\d+ ms|n/a), REST round trip: \d+ ms\.", content
    ), content
    assert not answer["response"]["data"].get("flags", 0) & EPHEMERAL
    assert worker.commands_counted("ping", "ok") == 1


async def test_shard_answers_with_the_guild_shard_pod_and_generation_when_invoked(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with (
        running_simulator(command_world()) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module],
            shard_ids=(0, 1, 2),
            shard_count=3,
            generation=4,
        ),
    ):
        control = ControlApi(http, sim)
        guild_id = max(sim.world.guilds)
        interaction_id = await inject_command(control, guild_id, "shard")
        answer = await answer_of(control, interaction_id)
    expected_shard = (guild_id >> 22) % 3
    assert answer["original"]["content"] == (
        f"This server is on shard {expected_shard} of 3, served by pod worker-g4 (generation 4)."
    )
