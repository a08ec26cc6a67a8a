"""Op 8 (request guild members): chunks, the privileged-intent rule and the rate limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.server import running_simulator
from tests.integration.sim.gateway.raw_client import Closed, open_session
from tests.integration.sim.gateway.worlds import guilds_on_shard, small_world

if TYPE_CHECKING:
    import aiohttp

_OP_REQUEST_GUILD_MEMBERS = 8


async def test_members_request_gets_every_member_in_a_chunk_when_members_intent_is_granted(
    http: aiohttp.ClientSession,
) -> None:
    settings = small_world(privileged_intents=intent_bits.GUILD_MEMBERS, members_per_guild=7)
    async with running_simulator(settings) as sim:
        client = await open_session(
            http, sim, intents=intent_bits.GUILDS | intent_bits.GUILD_MEMBERS
        )
        await client.catch_up(sim)
        guild_id = min(guilds_on_shard(sim, 0, 1))
        request = {"guild_id": str(guild_id), "query": "", "limit": 0, "nonce": "n1"}
        await client.send(_OP_REQUEST_GUILD_MEMBERS, request)
        chunk = await client.next_dispatch("GUILD_MEMBERS_CHUNK")
    assert chunk.data["guild_id"] == str(guild_id)
    assert chunk.data["nonce"] == "n1"
    assert (chunk.data["chunk_index"], chunk.data["chunk_count"]) == (0, 1)
    assert len(chunk.data["members"]) == 8  # seven generated members and the bot


async def test_members_request_is_rate_limited_when_repeated_for_a_guild_within_30_s(
    http: aiohttp.ClientSession,
) -> None:
    settings = small_world(privileged_intents=intent_bits.GUILD_MEMBERS)
    async with running_simulator(settings) as sim:
        client = await open_session(
            http, sim, intents=intent_bits.GUILDS | intent_bits.GUILD_MEMBERS
        )
        await client.catch_up(sim)
        guild_id = min(guilds_on_shard(sim, 0, 1))
        request = {"guild_id": str(guild_id), "query": "", "limit": 0, "nonce": "again"}
        await client.send(_OP_REQUEST_GUILD_MEMBERS, request)
        await client.next_dispatch("GUILD_MEMBERS_CHUNK")
        await client.send(_OP_REQUEST_GUILD_MEMBERS, request)
        limited = await client.next_dispatch("RATE_LIMITED")
    assert limited.data["opcode"] == _OP_REQUEST_GUILD_MEMBERS
    assert 0 < limited.data["retry_after"] <= 30
    assert limited.data["meta"] == {"guild_id": str(guild_id), "nonce": "again"}


async def test_members_request_closes_4014_when_listing_all_without_the_members_intent(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(small_world()) as sim:
        client = await open_session(http, sim, intents=intent_bits.GUILDS)
        await client.catch_up(sim)
        guild_id = min(guilds_on_shard(sim, 0, 1))
        await client.send(_OP_REQUEST_GUILD_MEMBERS, {"guild_id": str(guild_id), "query": ""})
        ended = await client.closed()
    assert ended == Closed(4014, "Disallowed intent(s).")
