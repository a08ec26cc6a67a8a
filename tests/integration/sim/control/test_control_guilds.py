"""`/_sim/guilds`: list by shard, the bot joins and leaves guilds, a guild's state."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shoal_sim.discord import intents
from shoal_sim.discord.snowflakes import shard_for
from tests.integration.sim.control.conftest import GUILDS
from tests.integration.sim.rest.gateway_listening import listening

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.control.control_api import ControlApi


async def test_guilds_lists_every_guild_when_no_shard_is_asked(
    control: ControlApi, sim: Simulator
) -> None:
    listed = await control.call("GET", "/guilds", expect=200)
    assert listed["count"] == GUILDS
    assert listed["ids"] == [str(g) for g in sorted(sim.world.guilds)]


async def test_guilds_lists_one_shard_when_a_shard_is_asked(control: ControlApi) -> None:
    shards = [
        await control.call(
            "GET", "/guilds", query={"shard_count": "3", "shard_id": str(shard_id)}, expect=200
        )
        for shard_id in range(3)
    ]
    assert sorted(s["count"] for s in shards) == [6, 7, 7]
    for shard_id, shard in enumerate(shards):
        assert {shard_for(int(g), 3) for g in shard["ids"]} == {shard_id}
    assert sum(s["count"] for s in shards) == GUILDS


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"shard_count": "0"}, "shard_count"),
        ({"shard_count": "-2"}, "shard_count"),
        ({"shard_count": "3", "shard_id": "3"}, "shard_id"),
        ({"shard_count": "3", "shard_id": "-1"}, "shard_id"),
        ({"shard_count": "many"}, "shard_count"),
        ({"application_id": "12345"}, "unknown application"),
    ],
)
async def test_guilds_refuses_the_listing_when_the_query_is_bad(
    control: ControlApi, query: dict[str, str], named: str
) -> None:
    assert named in await control.error("GET", "/guilds", query=query)


async def test_guilds_adds_guilds_and_announces_them_when_the_bot_joins(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    async with listening(http, sim, intents=intents.GUILDS) as listener:
        for _ in range(GUILDS):
            await listener.next_event("GUILD_CREATE")
        added = await control.call(
            "POST", "/guilds", json={"count": 2, "members": 3, "name": "Added"}, expect=201
        )
        announced = [await listener.next_event("GUILD_CREATE") for _ in range(2)]
    assert added["sessions_notified"] == 2
    assert [g["id"] for g in announced] == added["ids"]
    assert all(g["name"] == "Added" and g["member_count"] == 4 for g in announced)
    assert all("unavailable" not in g for g in announced)
    listed = await control.call("GET", "/guilds", expect=200)
    assert listed["count"] == GUILDS + 2
    assert set(added["ids"]) <= set(listed["ids"])


async def test_guilds_adds_one_generated_guild_when_the_body_is_empty(
    control: ControlApi, sim: Simulator
) -> None:
    added = await control.call("POST", "/guilds", expect=201)
    assert len(added["ids"]) == 1
    assert added["sessions_notified"] == 0
    guild = sim.world.guild(int(added["ids"][0]))
    assert guild is not None
    assert guild.member_count == sim.settings.members_per_guild + 1


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"count": 0}', "count"),
        (b'{"count": 100001}', "count"),
        (b'{"count": "some"}', "count"),
        (b'{"members": -1}', "members"),
        (b'{"members": 1000000000}', "members"),
        (b'{"name": 5}', "name"),
        (b'{"application_id": "12345"}', "unknown application"),
        (b'{"count": ', "JSON"),
        (b"[1, 2]", "JSON object"),
    ],
)
async def test_guilds_refuses_to_add_when_the_body_is_bad(
    control: ControlApi, sim: Simulator, body: bytes, named: str
) -> None:
    assert named in await control.error("POST", "/guilds", raw_body=body)
    assert len(sim.world.guilds) == GUILDS


async def test_guild_state_shows_what_the_guild_holds_when_asked(
    control: ControlApi, sim: Simulator, guild: Guild
) -> None:
    state = await control.call("GET", f"/guilds/{guild.id}", expect=200)
    settings = sim.settings
    bot_id = next(iter(sim.world.applications.values())).bot_user_id
    assert state["id"] == str(guild.id)
    assert state["name"] == guild.name
    assert state["member_count"] == settings.members_per_guild + 1
    assert len(state["roles"]) == settings.roles_per_guild + 2  # @everyone, the bot's role
    assert len(state["channels"]) == settings.channels_per_guild
    assert len(state["members"]) == settings.members_per_guild + 1
    assert str(bot_id) in state["members"]
    assert state["bans"] == {}
    assert state["voice_states"] == {}
    assert state["commands"] == []


async def test_guild_is_forgotten_and_announced_when_the_bot_leaves(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    async with listening(http, sim, intents=intents.GUILDS) as listener:
        left = await control.call("DELETE", f"/guilds/{guild.id}", expect=200)
        deleted = await listener.next_event("GUILD_DELETE")
    assert left == {"id": str(guild.id), "sessions_notified": 1}
    assert deleted == {"id": str(guild.id)}  # no "unavailable": the bot left
    assert sim.world.guild(guild.id) is None
    assert "unknown guild" in await control.error("GET", f"/guilds/{guild.id}", expect=404)
    assert "unknown guild" in await control.error("DELETE", f"/guilds/{guild.id}", expect=404)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_guild_is_refused_when_the_id_is_not_a_snowflake(
    control: ControlApi, method: str
) -> None:
    assert "guild_id" in await control.error(method, "/guilds/general")
