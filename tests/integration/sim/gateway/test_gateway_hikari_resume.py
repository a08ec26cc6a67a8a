"""Real hikari against the simulator's RESUME: drops, op 7 and op 9 as Discord sends them.

A resumed session must replay every dispatch missed while disconnected, exactly once and
in order, and cost no session start; an invalidated one must IDENTIFY again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import hikari
import pytest

from shoal_sim.discord import events
from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.server import running_simulator
from tests.integration.sim.gateway.hikari_bots import gateway_bot, running_bot
from tests.integration.sim.gateway.raw_client import open_session
from tests.integration.sim.gateway.waiting import eventually
from tests.integration.sim.gateway.worlds import app_of, guilds_on_shard, small_world, user_message

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp

    from shoal_sim.discord.gateway.sessions import Session
    from shoal_sim.discord.server import Simulator

_INTENTS = hikari.Intents.GUILDS | hikari.Intents.GUILD_MESSAGES | hikari.Intents.MESSAGE_CONTENT
#: The shard that loses its connection; shard 0 of the same bot keeps running beside it.
_SHARD = 1


class _Watched:
    """A two-shard bot and what it received."""

    def __init__(self, sim: Simulator, bot: hikari.GatewayBot) -> None:
        self.sim = sim
        self.bot = bot
        self.contents: list[str] = []
        self.ready_shards: list[int] = []

    def session(self) -> Session:
        (session,) = self.sim.gateway.sessions.of_shard(app_of(self.sim).id, _SHARD, 2)
        return session

    def send(self, *contents: str) -> None:
        """Post messages from a user into a guild of the watched shard."""
        guild = self.sim.world.guild(min(guilds_on_shard(self.sim, _SHARD, 2)))
        assert guild is not None
        channel_id, author_id = user_message(guild)
        for content in contents:
            events.emit_user_message(
                self.sim,
                channel_id=channel_id,
                author_id=author_id,
                content=content,
                guild_id=guild.id,
            )


@pytest.fixture
async def watched(loop_errors: list[dict[str, Any]]) -> AsyncIterator[_Watched]:
    settings = small_world(max_concurrency=2, privileged_intents=intent_bits.MESSAGE_CONTENT)
    async with running_simulator(settings) as sim:
        bot = gateway_bot(sim, intents=_INTENTS)
        state = _Watched(sim, bot)

        async def on_message(event: hikari.GuildMessageCreateEvent) -> None:
            assert event.shard.id == _SHARD
            state.contents.append(event.content or "")

        async def on_ready(event: hikari.ShardReadyEvent) -> None:
            state.ready_shards.append(event.shard.id)

        bot.subscribe(hikari.GuildMessageCreateEvent, on_message)
        bot.subscribe(hikari.ShardReadyEvent, on_ready)
        async with running_bot(bot, shard_ids=[0, _SHARD], shard_count=2):
            yield state
    assert not loop_errors


async def _is_disconnected(watched: _Watched) -> None:
    session = watched.session()
    await eventually(lambda: session.connection is None, "the session to lose its connection")


async def _receives_exactly_once(watched: _Watched, missed: list[str]) -> None:
    """The missed messages arrive in order; a later one follows them and nothing repeats."""
    await eventually(lambda: len(watched.contents) >= len(missed), "the missed messages")
    watched.send("after")
    await eventually(lambda: "after" in watched.contents, "the message sent after resuming")
    assert watched.contents == [*missed, "after"]


async def test_hikari_resumes_and_gets_missed_messages_once_when_the_connection_drops(
    watched: _Watched,
) -> None:
    stats = watched.sim.stats
    assert stats.identifies == 2
    assert watched.sim.gateway.force([watched.session()], "drop") == 1
    await _is_disconnected(watched)
    missed = [f"missed {n}" for n in range(5)]
    watched.send(*missed)

    await _receives_exactly_once(watched, missed)
    assert stats.resumes == 1
    assert stats.identifies == 2
    assert watched.ready_shards == [0, _SHARD]


@pytest.mark.parametrize("action", ["reconnect", "invalidate-resumable"])
async def test_hikari_resumes_when_told_to_reconnect_or_its_session_stays_resumable(
    watched: _Watched, action: str
) -> None:
    stats = watched.sim.stats
    assert watched.sim.gateway.force([watched.session()], action) == 1
    await _is_disconnected(watched)
    missed = ["one", "two", "three"]
    watched.send(*missed)

    await _receives_exactly_once(watched, missed)
    assert stats.resumes == 1
    assert stats.identifies == 2
    assert stats.client_close_codes[3000] == 1  # hikari's resumable close code


async def test_hikari_identifies_again_when_its_session_is_invalidated(
    watched: _Watched,
) -> None:
    stats = watched.sim.stats
    old = watched.session()
    assert watched.sim.gateway.force([old], "invalidate") == 1
    watched.send("lost with the session")

    await eventually(lambda: watched.ready_shards.count(_SHARD) == 2, "a second READY")
    assert stats.identifies == 3
    assert stats.resumes == 0
    assert watched.session() is not old
    watched.send("after")
    await eventually(lambda: "after" in watched.contents, "a message on the new session")
    assert watched.contents == ["after"]


async def test_hikari_identifies_again_when_its_bucket_was_busy(
    loop_errors: list[dict[str, Any]], http: aiohttp.ClientSession
) -> None:
    async with running_simulator(small_world(identify_window_s=0.5)) as sim:
        # Another process of the bot has just identified in bucket 0 (max_concurrency 1).
        await open_session(http, sim, shard=(0, 2))
        bot = gateway_bot(sim, intents=hikari.Intents.GUILDS)
        async with running_bot(bot, shard_ids=[1], shard_count=2):
            stats = sim.stats
            assert stats.invalid_sessions == 1
            assert dict(stats.identifies_by_shard) == {"0/2": 1, "1/2": 2}
    assert not loop_errors
