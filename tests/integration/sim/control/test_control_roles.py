"""`/_sim/guilds/{id}/roles` and `PATCH /_sim/guilds/{id}`: what the guild owner sets up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal_sim.discord import intents, membership
from shoal_sim.discord.world import generated_member_id
from tests.integration.sim.rest.gateway_listening import listening
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.control.control_api import ControlApi

_INTENTS: Final = intents.GUILDS | intents.GUILD_MEMBERS


async def test_role_create_dispatches_guild_role_create_when_the_owner_adds_a_role(
    control: ControlApi, sim: Simulator, guild: Guild, http: aiohttp.ClientSession
) -> None:
    top = sim.world.contents(guild)[0][sim.world.bot_role_id(guild)].position
    body = {"name": "Above the bot", "permissions": "8", "position": top + 1, "managed": True}
    async with listening(http, sim, intents=intents.GUILDS) as gateway:
        created = await control.call("POST", f"/guilds/{guild.id}/roles", json=body, expect=201)
        event = await gateway.next_event("GUILD_ROLE_CREATE")
    assert created["sessions_notified"] == 1
    role = event["role"]
    assert event["guild_id"] == str(guild.id)
    assert role["id"] == created["id"]
    assert (role["name"], role["permissions"], role["position"]) == ("Above the bot", "8", top + 1)
    assert role["managed"] is True
    load_spec().validate_schema("GuildRoleResponse", role)
    assert int(role["id"]) in sim.world.contents(guild)[0]


async def test_role_edit_dispatches_guild_role_update_when_fields_change(
    control: ControlApi, sim: Simulator, guild: Guild, http: aiohttp.ClientSession
) -> None:
    created = await control.call(
        "POST", f"/guilds/{guild.id}/roles", json={"name": "before"}, expect=201
    )
    path = f"/guilds/{guild.id}/roles/{created['id']}"
    async with listening(http, sim, intents=intents.GUILDS) as gateway:
        await control.call(
            "PATCH",
            path,
            json={"name": "after", "permissions": 1024, "color": 0x123456},
            expect=200,
        )
        event = await gateway.next_event("GUILD_ROLE_UPDATE")
    assert event["role"]["name"] == "after"
    assert event["role"]["permissions"] == "1024"
    assert event["role"]["color"] == 0x123456


async def test_role_create_refuses_when_a_field_is_bad(control: ControlApi, guild: Guild) -> None:
    path = f"/guilds/{guild.id}/roles"
    assert "name" in await control.error("POST", path, json={"name": ""})
    assert "permissions" in await control.error("POST", path, json={"permissions": -1})
    assert "position" in await control.error("POST", path, json={"position": -3})
    assert "managed" in await control.error("POST", path, json={"managed": "yes"})


async def test_role_delete_takes_the_role_from_members_when_the_owner_deletes_it(
    control: ControlApi, sim: Simulator, guild: Guild, http: aiohttp.ClientSession
) -> None:
    created = await control.call(
        "POST", f"/guilds/{guild.id}/roles", json={"name": "temporary"}, expect=201
    )
    role_id = created["id"]
    holders = [generated_member_id(guild, i) for i in (0, 5)]
    for user_id in holders:
        await control.call(
            "PUT",
            f"/guilds/{guild.id}/members/{user_id}/roles",
            json={"role_ids": [role_id]},
            expect=200,
        )
    async with listening(http, sim, intents=_INTENTS) as gateway:
        deleted = await control.call("DELETE", f"/guilds/{guild.id}/roles/{role_id}", expect=200)
        event = await gateway.next_event("GUILD_ROLE_DELETE")
    assert deleted == {"id": role_id, "members_affected": 2, "sessions_notified": 1}
    assert event == {"guild_id": str(guild.id), "role_id": role_id}
    for user_id in holders:
        state = await control.call("GET", f"/guilds/{guild.id}/members/{user_id}", expect=200)
        assert state["roles"] == []
        assert state["role_history"][-1]["source"] == "role-deleted"
        assert state["role_history"][-1]["change"] == "removed"
    again = await control.error("DELETE", f"/guilds/{guild.id}/roles/{role_id}", expect=404)
    assert "unknown role" in again


async def test_role_delete_refuses_when_the_role_is_everyone(
    control: ControlApi, guild: Guild
) -> None:
    message = await control.error("DELETE", f"/guilds/{guild.id}/roles/{guild.id}")
    assert "@everyone" in message


async def test_guild_edit_turns_screening_on_and_dispatches_guild_update_when_it_changes(
    control: ControlApi, sim: Simulator, guild: Guild, http: aiohttp.ClientSession
) -> None:
    path = f"/guilds/{guild.id}"
    async with listening(http, sim, intents=intents.GUILDS) as gateway:
        on = await control.call("PATCH", path, json={"verification_gate": True}, expect=200)
        event = await gateway.next_event("GUILD_UPDATE")
        unchanged = await control.call("PATCH", path, json={"verification_gate": True}, expect=200)
    assert on["features"] == [membership.VERIFICATION_GATE]
    assert on["sessions_notified"] == 1
    assert event["id"] == str(guild.id)
    assert membership.VERIFICATION_GATE in event["features"]
    assert unchanged["sessions_notified"] == 0
    off = await control.call("PATCH", path, json={"verification_gate": False}, expect=200)
    assert off["features"] == []
    assert "verification_gate" in await control.error("PATCH", path, json={})
