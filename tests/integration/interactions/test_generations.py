"""Two generations with different shard counts receive every interaction; one answers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final

from shoal.features.core import core_module
from shoal_sim.discord.server import running_simulator
from tests.integration.interactions.answers import answer_of, inject_command
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.control.control_api import ControlApi
from tests.integration.sim.gateway.waiting import eventually

if TYPE_CHECKING:
    import aiohttp
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

_PER_GUILD: Final = 3  # within the default per-user limit of /shard (5 per 10 s)
#: Both generations identify shard 0 (bucket 0), one right after the other: a window far
#: shorter than that gap keeps the second from an op 9 and hikari's back-off.
_IDENTIFY_WINDOW_S: Final = 0.001


async def test_every_interaction_is_answered_once_when_two_generations_receive_it(
    http: aiohttp.ClientSession,
    redis_client: Redis,
    keys: RedisKeys,
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    async with (
        running_simulator(command_world(identify_window_s=_IDENTIFY_WINDOW_S)) as sim,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module],
            shard_count=1,
            generation=1,
        ) as old,
        running_worker(
            sim,
            redis_client,
            keys,
            postgres=postgres_pool,
            features=[core_module],
            shard_ids=(0, 1),
            shard_count=2,
            generation=2,
        ) as new,
    ):
        control = ControlApi(http, sim)
        guild_ids = sorted(sim.world.guilds) * _PER_GUILD
        injected = await asyncio.gather(
            *(inject_command(control, guild_id, "shard", sessions=2) for guild_id in guild_ids)
        )
        answers = [await answer_of(control, interaction_id) for interaction_id in injected]
        total = len(injected)

        def skipped() -> float:
            return sum(w.commands_counted("shard", "claimed_elsewhere") for w in (old, new))

        await eventually(lambda: skipped() == total, "the losing generation to skip each one")
        stats = sim.stats
    assert stats.invalid_sessions == 0
    assert stats.interactions_injected == total
    assert stats.interactions_answered == total
    assert stats.interactions_double_acknowledged == 0
    assert all(answer["acknowledge_attempts"] == 1 for answer in answers)
    answered = sum(w.commands_counted("shard", "ok") for w in (old, new))
    assert answered == total
    for guild_id, answer in zip(guild_ids, answers, strict=True):
        content = answer["original"]["content"]
        expected = (
            "on shard 0 of 1, served by pod worker-g1 (generation 1)."
            if "generation 1" in content
            else f"on shard {(guild_id >> 22) % 2} of 2, served by pod worker-g2 (generation 2)."
        )
        assert content.endswith(expected), content
