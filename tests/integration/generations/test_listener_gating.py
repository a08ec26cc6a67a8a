"""A module listener runs only while its worker's generation is the active one.

A real bot on the simulator, Shoal's arc client with a module listening to guild
messages, and the :class:`ActiveGeneration` watcher reading the operator's key in the
test's Redis.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

import hikari

from shoal.interactions.generations import ActiveGeneration, watching_active_generation
from shoal.interactions.modules import Listener, Module
from shoal_sim.discord import events
from shoal_sim.discord.server import running_simulator
from tests.integration.interactions.workers import command_world, running_worker
from tests.integration.sim.gateway.waiting import eventually
from tests.integration.sim.gateway.worlds import user_message

if TYPE_CHECKING:
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator

_GENERATION: Final = 1
_FLIP_BOUND_S: Final = 2.0  # the watcher refreshes every second


class _CountingView:
    """The watcher's view, counting how often the gate consulted it."""

    def __init__(self, watcher: ActiveGeneration) -> None:
        self._watcher = watcher
        self.consulted = 0

    @property
    def is_active(self) -> bool:
        self.consulted += 1
        return self._watcher.is_active

    @property
    def answers_unclaimed(self) -> bool:
        self.consulted += 1
        return self._watcher.answers_unclaimed


def _emit_message(sim: Simulator) -> int:
    guild = sim.world.guild(min(sim.world.guilds))
    assert guild is not None
    channel_id, author_id = user_message(guild)
    message, reached = events.emit_user_message(
        sim, channel_id=channel_id, author_id=author_id, content="hi", guild_id=guild.id
    )
    assert reached == 1
    return message.id


async def test_listener_runs_only_after_the_key_flips_when_its_generation_was_passive(
    redis_client: Redis, bot_keys: RedisKeys, postgres_pool: asyncpg.Pool[asyncpg.Record]
) -> None:
    seen: list[int] = []

    async def on_message(event: hikari.GuildMessageCreateEvent) -> None:
        seen.append(int(event.message_id))

    module = Module(name="logs", listeners=(Listener(hikari.GuildMessageCreateEvent, on_message),))
    await redis_client.set(bot_keys.active_generation(), 0)
    async with (
        watching_active_generation(redis_client, bot_keys, generation=_GENERATION) as watcher,
        running_simulator(command_world()) as sim,
    ):
        view = _CountingView(watcher)
        async with running_worker(
            sim,
            redis_client,
            bot_keys,
            postgres=postgres_pool,
            modules=[module],
            generation=_GENERATION,
            generation_view=view,
            intents=hikari.Intents.GUILD_MESSAGES,
        ):
            assert not watcher.is_active
            _emit_message(sim)
            await eventually(lambda: view.consulted == 1, "the gate to judge the first message")
            assert seen == []

            await redis_client.set(bot_keys.active_generation(), _GENERATION)
            flipped_at = time.monotonic()
            await eventually(
                lambda: watcher.is_active, "the watcher to see the flip", timeout_s=_FLIP_BOUND_S
            )
            assert time.monotonic() - flipped_at <= _FLIP_BOUND_S
            second = _emit_message(sim)
            await eventually(lambda: seen == [second], "the listener to run on the next one")
