"""Which session gets which dispatch: READY, guilds by shard, DMs, intents and growth.

Sessions with different shard counts run side by side here, as they do while a bot
reshards. After each action every client reads up to its session's current sequence
number, so "received nothing" is as exact as "received this".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shoal_sim.discord import events
from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.world import generated_channel_id
from tests.integration.sim.gateway.raw_client import (
    OP_VOICE_STATE_UPDATE,
    RawGateway,
    open_session,
)
from tests.integration.sim.gateway.worlds import (
    VOICE_CHANNEL,
    app_of,
    guilds_on_shard,
    small_world,
    user_message,
)

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.gateway.raw_client import Dispatch

_MESSAGES = intent_bits.GUILDS | intent_bits.GUILD_MESSAGES
_SHARDINGS = ((0, 1), (0, 2), (1, 2))
"""One session of a one-shard bot beside both sessions of its two-shard successor."""


async def _sessions(
    http: aiohttp.ClientSession, sim: Simulator, *, intents: int
) -> dict[tuple[int, int], RawGateway]:
    clients = {}
    for shard in _SHARDINGS:
        clients[shard] = await open_session(http, sim, shard=shard, intents=intents)
        await clients[shard].catch_up(sim)
    return clients


async def _received(
    clients: dict[tuple[int, int], RawGateway], sim: Simulator
) -> dict[tuple[int, int], list[Dispatch]]:
    return {shard: await client.catch_up(sim) for shard, client in clients.items()}


def _send(sim: Simulator, guild_id: int, content: str) -> str:
    guild = sim.world.guild(guild_id)
    assert guild is not None
    channel_id, author_id = user_message(guild)
    message, _ = events.emit_user_message(
        sim, channel_id=channel_id, author_id=author_id, content=content, guild_id=guild_id
    )
    return str(message.id)


async def test_ready_lists_the_shards_guilds_then_one_guild_create_each_when_identified(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world(guilds=12)) as sim:
        client = await open_session(http, sim, shard=(1, 3))
        dispatches = await client.catch_up(sim)
    expected = guilds_on_shard(sim, 1, 3)
    app = app_of(sim)
    ready = client.ready
    assert ready is not None
    assert ready["v"] == 10
    assert ready["user"]["id"] == str(app.bot_user_id)
    assert ready["user"]["bot"] is True
    assert {"username", "discriminator", "avatar", "mfa_enabled", "flags"} <= set(ready["user"])
    assert re.fullmatch(r"[0-9a-f]{32}", ready["session_id"])
    assert ready["resume_gateway_url"] == sim.gateway.ws_url.replace("/gateway", "/gateway-resume")
    assert ready["shard"] == [1, 3]
    assert ready["application"] == {"id": str(app.id), "flags": 0}
    assert sorted(ready["guilds"], key=lambda g: g["id"]) == [
        {"id": str(g), "unavailable": True} for g in sorted(expected)
    ]
    assert [d.seq for d in dispatches] == list(range(2, 2 + len(expected)))
    assert {d.event for d in dispatches} == {"GUILD_CREATE"}
    assert {int(d.data["id"]) for d in dispatches} == expected
    assert all(d.data["unavailable"] is False for d in dispatches)


async def test_ready_sends_no_guild_create_when_the_guilds_intent_is_missing(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await open_session(http, sim, intents=intent_bits.GUILD_MESSAGES)
        dispatches = await client.catch_up(sim)
    assert client.ready is not None
    assert len(client.ready["guilds"]) == 12
    assert dispatches == []


async def test_guild_dispatch_reaches_every_covering_session_when_shard_counts_differ(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        clients = await _sessions(http, sim, intents=_MESSAGES)
        on_even = min(guilds_on_shard(sim, 0, 2))
        on_odd = min(guilds_on_shard(sim, 1, 2))
        even_id, odd_id = _send(sim, on_even, "even"), _send(sim, on_odd, "odd")
        received = await _received(clients, sim)
    ids = {shard: [d.data["id"] for d in found] for shard, found in received.items()}
    assert ids == {(0, 1): [even_id, odd_id], (0, 2): [even_id], (1, 2): [odd_id]}


async def test_direct_message_reaches_shard_zero_only_when_it_has_no_guild(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        clients = await _sessions(
            http, sim, intents=intent_bits.GUILDS | intent_bits.DIRECT_MESSAGES
        )
        user = sim.world.add_user("someone")
        dm = sim.world.dm_channel(user.id)
        message, reached = events.emit_user_message(
            sim, channel_id=dm.id, author_id=user.id, content="psst", guild_id=None
        )
        received = await _received(clients, sim)
    assert reached == 2
    for shard, found in received.items():
        expected = [(str(message.id), "psst")] if shard[0] == 0 else []
        assert [(d.data["id"], d.data["content"]) for d in found] == expected
        assert all("guild_id" not in d.data for d in found)


async def test_message_dispatch_follows_intents_when_sessions_ask_for_different_ones(
    http: aiohttp.ClientSession,
) -> None:
    settings = small_world(privileged_intents=intent_bits.MESSAGE_CONTENT)
    async with running_simulator(settings) as sim:
        with_content = await open_session(
            http, sim, intents=_MESSAGES | intent_bits.MESSAGE_CONTENT
        )
        without_content = await open_session(http, sim, intents=_MESSAGES)
        without_messages = await open_session(http, sim, intents=intent_bits.GUILDS)
        clients = {"content": with_content, "no-content": without_content, "none": without_messages}
        for client in clients.values():
            await client.catch_up(sim)
        message_id = _send(sim, min(guilds_on_shard(sim, 0, 1)), "secret words")
        received = {name: await client.catch_up(sim) for name, client in clients.items()}
    contents = {
        name: [(d.event, d.data["id"], d.data["content"]) for d in found]
        for name, found in received.items()
    }
    assert contents == {
        "content": [("MESSAGE_CREATE", message_id, "secret words")],
        "no-content": [("MESSAGE_CREATE", message_id, "")],
        "none": [],
    }


async def test_guild_growth_reaches_covering_sessions_only_when_guilds_are_added_and_removed(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        clients = await _sessions(http, sim, intents=intent_bits.GUILDS)
        async with http.post(f"{sim.base_url}/_sim/guilds", json={"count": 3}) as response:
            assert response.status == 201
            added = [int(g) for g in (await response.json())["ids"]]
        joined = await _received(clients, sim)
        gone = added[0]
        async with http.delete(f"{sim.base_url}/_sim/guilds/{gone}") as response:
            assert response.status == 200
        left = await _received(clients, sim)
    for (shard_id, shard_count), found in joined.items():
        expected = [g for g in added if (g >> 22) % shard_count == shard_id]
        assert [(d.event, int(d.data["id"])) for d in found] == [
            ("GUILD_CREATE", g) for g in expected
        ]
        assert all("unavailable" not in d.data for d in found)  # a join, not an outage
    for (shard_id, shard_count), found in left.items():
        expected_left = [gone] if (gone >> 22) % shard_count == shard_id else []
        assert [(d.event, d.data) for d in found] == [
            ("GUILD_DELETE", {"id": str(g)}) for g in expected_left
        ]


async def test_voice_state_update_is_ignored_when_sent_on_a_shard_not_owning_the_guild(
    http: aiohttp.ClientSession,
) -> None:
    intents = intent_bits.GUILDS | intent_bits.GUILD_VOICE_STATES
    async with running_simulator(small_world(max_concurrency=2)) as sim:
        even = await open_session(http, sim, shard=(0, 2), intents=intents)
        odd = await open_session(http, sim, shard=(1, 2), intents=intents)
        for client in (even, odd):
            await client.catch_up(sim)
        guild = sim.world.guild(min(guilds_on_shard(sim, 1, 2)))
        assert guild is not None
        channel_id = generated_channel_id(guild, VOICE_CHANNEL)
        join = {"guild_id": str(guild.id), "channel_id": str(channel_id), "self_mute": False}
        await even.send(OP_VOICE_STATE_UPDATE, join)
        wrong_shard = (await even.round_trip(), await odd.catch_up(sim))
        await odd.send(OP_VOICE_STATE_UPDATE, join)
        right_shard = (await even.catch_up(sim), await odd.round_trip())
    assert wrong_shard == ([], [])
    assert right_shard[0] == []
    assert [d.event for d in right_shard[1]] == ["VOICE_STATE_UPDATE", "VOICE_SERVER_UPDATE"]
