"""Real hikari events from the simulated gateway: transports, voice and guild growth.

Listeners deserialize every payload fully, and the ``loop_errors`` fixture fails a test
whose payload hikari could not parse.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import hikari
import pytest

from shoal_sim.discord import events
from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.world import generated_channel_id
from tests.integration.sim.gateway.hikari_bots import gateway_bot, running_bot
from tests.integration.sim.gateway.waiting import eventually
from tests.integration.sim.gateway.worlds import (
    VOICE_CHANNEL,
    app_of,
    guilds_on_shard,
    small_world,
    user_message,
)

if TYPE_CHECKING:
    import aiohttp

_GUILDS = hikari.Intents.GUILDS


@pytest.mark.parametrize(
    ("compression", "logged"),
    [
        (hikari.api.GatewayCompression.TRANSPORT_ZLIB_STREAM, "transport_zlib_stream"),
        (None, "None"),
    ],
    ids=["zlib-stream", "plain-json"],
)
async def test_hikari_gets_guilds_and_messages_when_the_transport_is_compressed_or_not(
    loop_errors: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    compression: hikari.api.GatewayCompression | None,
    logged: str,
) -> None:
    # GatewayBot never passes `compression` to its shards: the shard default decides.
    defaults = hikari.impl.GatewayShardImpl.__init__.__kwdefaults__
    assert defaults is not None
    monkeypatch.setitem(defaults, "compression", compression)
    caplog.set_level(logging.DEBUG, logger="hikari.gateway")
    settings = small_world(privileged_intents=intent_bits.MESSAGE_CONTENT)
    async with running_simulator(settings) as sim:
        bot = gateway_bot(
            sim, intents=_GUILDS | hikari.Intents.GUILD_MESSAGES | hikari.Intents.MESSAGE_CONTENT
        )
        available: list[int] = []
        contents: list[str] = []

        async def on_available(event: hikari.GuildAvailableEvent) -> None:
            available.append(event.guild_id)

        async def on_message(event: hikari.GuildMessageCreateEvent) -> None:
            contents.append(event.content or "")

        bot.subscribe(hikari.GuildAvailableEvent, on_available)
        bot.subscribe(hikari.GuildMessageCreateEvent, on_message)
        async with running_bot(bot):
            await eventually(lambda: len(available) == 12, "a GuildAvailableEvent per guild")
            guild = sim.world.guild(available[0])
            assert guild is not None
            channel_id, author_id = user_message(guild)
            events.emit_user_message(
                sim, channel_id=channel_id, author_id=author_id, content="hello", guild_id=guild.id
            )
            await eventually(lambda: contents == ["hello"], "the message")
    assert sorted(available) == sorted(app_of(sim).guild_ids)
    assert f"Using '{logged}' compression" in caplog.messages
    assert not loop_errors


async def test_hikari_joins_and_leaves_voice_on_the_owning_shard_when_updating_voice_state(
    loop_errors: list[dict[str, Any]],
) -> None:
    async with running_simulator(small_world(max_concurrency=2)) as sim:
        bot = gateway_bot(sim, intents=_GUILDS | hikari.Intents.GUILD_VOICE_STATES)
        states: list[hikari.VoiceStateUpdateEvent] = []
        servers: list[hikari.VoiceServerUpdateEvent] = []

        async def on_state(event: hikari.VoiceStateUpdateEvent) -> None:
            states.append(event)

        async def on_server(event: hikari.VoiceServerUpdateEvent) -> None:
            servers.append(event)

        bot.subscribe(hikari.VoiceStateUpdateEvent, on_state)
        bot.subscribe(hikari.VoiceServerUpdateEvent, on_server)
        async with running_bot(bot, shard_ids=[0, 1], shard_count=2):
            guild = sim.world.guild(min(guilds_on_shard(sim, 1, 2)))
            assert guild is not None
            channel_id = generated_channel_id(guild, VOICE_CHANNEL)
            await bot.update_voice_state(guild.id, channel_id, self_deaf=True)
            await eventually(lambda: len(states) == 1 and len(servers) == 1, "voice events")
            await bot.update_voice_state(guild.id, None)
            await eventually(lambda: len(states) == 2, "the voice state after leaving")
    bot_id = app_of(sim).bot_user_id
    joined, left = states
    (server,) = servers
    assert [e.shard.id for e in (joined, left, server)] == [1, 1, 1]
    assert (joined.state.user_id, joined.state.guild_id) == (bot_id, guild.id)
    assert joined.state.channel_id == channel_id
    assert joined.state.is_self_deafened
    assert joined.state.session_id
    assert (left.state.user_id, left.state.channel_id) == (bot_id, None)
    assert left.state.session_id == joined.state.session_id
    assert server.guild_id == guild.id
    assert server.token
    assert server.raw_endpoint
    assert not loop_errors


async def test_hikari_fires_join_and_leave_on_the_right_shard_when_guilds_come_and_go(
    loop_errors: list[dict[str, Any]], http: aiohttp.ClientSession
) -> None:
    async with running_simulator(small_world(max_concurrency=2)) as sim:
        bot = gateway_bot(sim, intents=_GUILDS)
        joined: list[tuple[int, int]] = []
        left: list[tuple[int, int]] = []
        available: list[int] = []

        async def on_join(event: hikari.GuildJoinEvent) -> None:
            joined.append((event.shard.id, event.guild_id))

        async def on_leave(event: hikari.GuildLeaveEvent) -> None:
            left.append((event.shard.id, event.guild_id))

        async def on_available(event: hikari.GuildAvailableEvent) -> None:
            available.append(event.guild_id)

        bot.subscribe(hikari.GuildJoinEvent, on_join)
        bot.subscribe(hikari.GuildLeaveEvent, on_leave)
        bot.subscribe(hikari.GuildAvailableEvent, on_available)
        async with running_bot(bot, shard_ids=[0, 1], shard_count=2):
            await eventually(lambda: len(available) == 12, "the initial guilds")
            async with http.post(f"{sim.base_url}/_sim/guilds", json={"count": 3}) as response:
                added = [int(g) for g in (await response.json())["ids"]]
            await eventually(lambda: len(joined) == 3, "a GuildJoinEvent per new guild")
            async with http.delete(f"{sim.base_url}/_sim/guilds/{added[0]}") as response:
                assert response.status == 200
            await eventually(lambda: len(left) == 1, "a GuildLeaveEvent")
    assert sorted(joined) == sorted(((g >> 22) % 2, g) for g in added)
    assert left == [((added[0] >> 22) % 2, added[0])]
    assert len(available) == 12  # new guilds are joins, not guilds becoming available
    assert not loop_errors
