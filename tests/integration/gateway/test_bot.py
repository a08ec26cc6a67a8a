"""The worker's bot and shards in-process against the simulator and a real Redis.

Covers the private hikari seams the gateway relies on (see ``shoal.gateway.shard``):
restoring ``_session_id``/``_seq``/``_resume_gateway_url`` (a RESUME, no IDENTIFY),
``_connect`` gating every IDENTIFY (also after op 9 and after a stale session), the
resumable close through ``_ws.send_close``, ``_start_one_shard`` starting every local
shard, a cancelled start leaving no shard running, and the event manager seam that
counts guilds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, Final

import hikari
import pytest

from shoal.config import worker_settings
from shoal.gateway.bot import ShardWorkerBot
from shoal.gateway.identifying import IdentifyGate, RedisIdentifyGate
from shoal.gateway.sessions import RedisSessionStore, StoredSession
from shoal.observability.shard_status import ShardStatus
from shoal_sim.discord import events
from shoal_sim.discord.server import running_simulator
from tests.integration.gateway.worker_env import worker_env
from tests.integration.sim.gateway.waiting import eventually
from tests.integration.sim.gateway.worlds import app_of, guilds_on_shard, small_world, user_message

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator

_WINDOW_S: Final = 0.2
_SHARDS: Final = 2


class _RecordingGate:
    """An identify gate that remembers which shards asked, and can hold some back forever."""

    def __init__(self, gate: IdentifyGate, *, held: frozenset[int] = frozenset()) -> None:
        self._gate = gate
        self._held = held
        self.asked: list[int] = []
        self.cancelled: list[int] = []

    async def wait_turn(self, shard_id: int) -> None:
        self.asked.append(shard_id)
        if shard_id in self._held:
            try:
                await asyncio.get_running_loop().create_future()
            except asyncio.CancelledError:
                self.cancelled.append(shard_id)
                raise
        await self._gate.wait_turn(shard_id)

    async def identifying(self, shard_id: int) -> None:
        await self._gate.identifying(shard_id)

    async def identified(self, shard_id: int) -> None:
        await self._gate.identified(shard_id)


class _Harness:
    """Builds bots of one fleet (two shards, one pod) on the simulator and Redis."""

    def __init__(self, sim: Simulator, redis: Redis, keys: RedisKeys, redis_url: str) -> None:
        self.sim = sim
        self.sessions = RedisSessionStore(redis, keys)
        self.gate = _RecordingGate(
            RedisIdentifyGate(redis, keys, max_concurrency=2, window_s=_WINDOW_S)
        )
        env = worker_env(
            sim,
            redis_url=redis_url,
            bot_name=keys.namespace,
            total_shards=_SHARDS,
            shards_per_pod=_SHARDS,
            identify_window_s=_WINDOW_S,
        )
        self.settings = worker_settings(env)
        self.bots: list[ShardWorkerBot] = []

    def bot(self, *, gate: _RecordingGate | None = None) -> ShardWorkerBot:
        chosen = gate or self.gate
        bot = ShardWorkerBot(self.settings, sessions=self.sessions, gate_for=lambda _: chosen)
        self.bots.append(bot)
        return bot

    def emit_message(self, shard_id: int) -> int:
        guild = self.sim.world.guild(min(guilds_on_shard(self.sim, shard_id, _SHARDS)))
        assert guild is not None
        channel_id, author_id = user_message(guild)
        message, _ = events.emit_user_message(
            self.sim, channel_id=channel_id, author_id=author_id, content="hi", guild_id=guild.id
        )
        return message.id

    async def close(self) -> None:
        for bot in self.bots:
            if bot.is_alive:
                await bot.close_for_restart()


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Calls of the loop's exception handler (hikari reports payloads it cannot parse there)."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    try:
        yield errors
    finally:
        loop.set_exception_handler(previous)
    assert not errors, [str(context.get("message")) for context in errors]


@pytest.fixture
async def harness(
    redis_client: Redis, bot_keys: RedisKeys, redis_url: str, loop_errors: list[dict[str, Any]]
) -> AsyncIterator[_Harness]:
    del loop_errors  # checked at teardown
    settings = small_world(max_concurrency=2, identify_window_s=_WINDOW_S)
    async with running_simulator(settings) as sim:
        built = _Harness(sim, redis_client, bot_keys, redis_url)
        try:
            yield built
        finally:
            await built.close()


def _is_ready(bot: ShardWorkerBot) -> bool:
    return all(state is ShardStatus.READY for state in bot.shard_states().values())


async def test_bot_resumes_stored_sessions_when_a_new_worker_takes_the_shards(
    harness: _Harness, caplog: pytest.LogCaptureFixture
) -> None:
    first = harness.bot()
    await first.start_worker()
    with caplog.at_level(logging.INFO, logger="hikari.gateway"):
        await first.close_for_restart()
    assert not [r.message for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r.message for r in caplog.records if "backing off" in r.message]
    missed = harness.emit_message(1)
    second = harness.bot()
    received: list[int] = []

    async def on_message(event: hikari.GuildMessageCreateEvent) -> None:
        received.append(event.message_id)

    second.subscribe(hikari.GuildMessageCreateEvent, on_message)
    await second.start_worker()
    await eventually(lambda: missed in received, "the missed message replayed")
    stats = harness.sim.stats
    assert dict(stats.client_close_codes) == {3000: 2}  # never 1000/1001
    assert (stats.identifies, stats.resumes, stats.invalid_sessions) == (2, 2, 0)
    assert [(s.identifies, s.resumes) for s in second.snapshots()] == [(0, 1), (0, 1)]
    assert sorted(harness.gate.asked) == [0, 1]  # the first bot's identifies only


async def test_bot_identifies_through_the_gate_when_discord_invalidates_a_session(
    harness: _Harness,
) -> None:
    bot = harness.bot()
    await bot.start_worker()
    sessions = harness.sim.gateway.sessions.of_shard(app_of(harness.sim).id, 1, _SHARDS)
    harness.sim.gateway.force(sessions, "invalidate")  # op 9 d:false: hikari clears _seq
    await eventually(lambda: harness.sim.stats.identifies == 3, "a second IDENTIFY of shard 1")
    await eventually(lambda: _is_ready(bot), "shard 1 READY again")
    assert sorted(harness.gate.asked) == [0, 1, 1]
    assert [s.identifies for s in bot.snapshots()] == [1, 2]


async def test_bot_falls_back_to_a_gated_identify_when_the_stored_session_is_stale(
    harness: _Harness,
) -> None:
    stale = StoredSession(
        "gone", 5, harness.sim.gateway.ws_url.replace("/gateway", "/gateway-resume")
    )
    await harness.sessions.save(_SHARDS, {0: stale})
    bot = harness.bot()
    await bot.start_worker()
    assert harness.gate.asked == [1, 0]  # shard 0 only after its RESUME was refused
    assert harness.sim.stats.identifies == 2
    assert [(s.identifies, s.resumes) for s in bot.snapshots()] == [(1, 1), (1, 0)]


async def test_bot_starts_a_shard_again_when_discord_closes_with_a_code_hikari_gives_up_on(
    harness: _Harness,
) -> None:
    bot = harness.bot()
    await bot.start_worker()
    supervising = asyncio.create_task(bot.supervise())
    sessions = harness.sim.gateway.sessions.of_shard(app_of(harness.sim).id, 0, _SHARDS)
    harness.sim.gateway.force(sessions, "close", code=4001)  # hikari: cannot reconnect
    await eventually(lambda: harness.sim.stats.resumes == 1, "shard 0 resumed")
    await eventually(lambda: _is_ready(bot), "shard 0 READY again")
    assert not supervising.done()
    supervising.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await supervising
    assert harness.sim.stats.identifies == 2
    assert bot.snapshots()[0].resumes == 1


async def test_bot_supervise_returns_the_fatal_close_when_discord_closes_with_4011(
    harness: _Harness,
) -> None:
    bot = harness.bot()
    await bot.start_worker()
    await bot.flush_sessions()
    sessions = harness.sim.gateway.sessions.of_shard(app_of(harness.sim).id, 1, _SHARDS)
    harness.sim.gateway.force(sessions, "close", code=4011)
    async with asyncio.timeout(10):
        fatal = await bot.supervise()
    assert fatal is not None
    assert (fatal.code, fatal.shard_id) == (4011, 1)
    assert await harness.sessions.load(1, _SHARDS) is None
    assert await harness.sessions.load(0, _SHARDS) is not None


async def test_bot_counts_guilds_when_guilds_become_available_join_and_leave(
    harness: _Harness,
) -> None:
    bot = harness.bot()
    await bot.start_worker()
    expected = [len(guilds_on_shard(harness.sim, s, _SHARDS)) for s in range(_SHARDS)]
    await eventually(
        lambda: [s.guild_count for s in bot.snapshots()] == expected, "READY's guild counts"
    )
    app = app_of(harness.sim)
    joined = [harness.sim.world.add_guild(app) for _ in range(4)]
    for guild in joined:
        events.emit_guild_joined(harness.sim, guild)
    events.emit_guild_left(harness.sim, joined[0])
    harness.sim.world.remove_guild(joined[0].id)
    expected = [len(guilds_on_shard(harness.sim, s, _SHARDS)) for s in range(_SHARDS)]
    await eventually(
        lambda: [s.guild_count for s in bot.snapshots()] == expected, "joins and leaves"
    )
    assert sum(s.dispatches.get("GUILD_CREATE", 0) for s in bot.snapshots()) == 12 + 4


async def test_bot_leaves_no_shard_running_when_its_start_is_cancelled(
    harness: _Harness,
) -> None:
    gate = _RecordingGate(harness.gate, held=frozenset({1}))
    bot = harness.bot(gate=gate)
    starting = asyncio.create_task(bot.start_worker())
    await eventually(lambda: bot.shard_states()[0] is ShardStatus.READY, "shard 0 READY")
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    assert gate.cancelled == [1]  # shard 1's keep-alive task was stopped, not orphaned
    await bot.close_for_restart()
    await eventually(
        lambda: (
            not any(
                s.connection for s in harness.sim.gateway.sessions.of_app(app_of(harness.sim).id)
            )
        ),
        "no connection left",
    )
    assert dict(harness.sim.stats.client_close_codes) == {3000: 1}
    assert await harness.sessions.load(0, _SHARDS) is not None


async def test_bot_ends_and_forgets_its_sessions_when_closed_for_good(harness: _Harness) -> None:
    bot = harness.bot()
    await bot.start_worker()
    await bot.flush_sessions()
    assert await harness.sessions.load(0, _SHARDS) is not None
    await bot.close_for_good()
    assert dict(harness.sim.stats.client_close_codes) == {1001: 2}
    assert [await harness.sessions.load(s, _SHARDS) for s in range(_SHARDS)] == [None, None]
