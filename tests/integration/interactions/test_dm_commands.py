"""``/shard`` used in a DM, answered through real hikari, arc and Redis on the simulator.

A DM interaction carries ``user`` instead of ``member``; hikari deserialises it as a full
user object, so the simulator must send one even for users it never generated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal.features.core import core_module
from shoal_sim.discord.server import running_simulator
from tests.integration.interactions.answers import answer_of
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    import aiohttp
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

#: A user the simulated world never generated (no guild member has this id).
_STRANGER_ID = 4242


async def test_shard_answers_for_direct_messages_when_invoked_in_a_dm(
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
            shard_ids=(0, 1),
            shard_count=2,
        ),
    ):
        control = ControlApi(http, sim)
        body = {"type": "command", "user_id": str(_STRANGER_ID), "name": "shard"}
        injected = await control.call("POST", "/interactions", json=body, expect=201)
        answer = await answer_of(control, injected["id"])
    assert injected["sessions_reached"] == 1  # DMs go to shard 0 only
    assert answer["guild_id"] is None
    assert answer["original"]["content"] == (
        "Direct messages are on shard 0 of 2, served by pod worker-g0 (generation 0)."
    )
