"""`/_sim/guilds/{id}/members`: joins, screening, leaves, role changes and their events.

Member events need the privileged GUILD_MEMBERS intent, as on Discord: a session that
did not ask for it gets no GUILD_MEMBER_ADD, UPDATE or REMOVE.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import intents
from shoal_sim.discord.entities import Ban
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.snowflakes import shard_for
from shoal_sim.discord.world import generated_member_id
from tests.integration.sim.control.control_api import ControlApi
from tests.integration.sim.control.shard_listening import listening_as_shard
from tests.integration.sim.rest.gateway_listening import listening
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.rest.gateway_listening import GatewayListener

_MEMBER_INTENTS: Final = intents.GUILDS | intents.GUILD_MEMBERS
_WAIT_S: Final = 5.0


def _guild_on_second_shard(sim: Simulator) -> Guild:
    """A guild that both shard 0 of 1 and shard 1 of 2 cover (their IDENTIFYs never clash)."""
    return sim.world.guilds[min(g for g in sim.world.guilds if shard_for(g, 2) == 1)]


async def _names_until(listener: GatewayListener, marker: str) -> list[str]:
    """Return the names of the dispatches received up to and including ``marker``."""
    names: list[str] = []
    async with asyncio.timeout(_WAIT_S):
        while marker not in names:
            names += listener.drain()
            await asyncio.sleep(0.01)
    return names


def _member_object(body: dict[str, Any]) -> dict[str, Any]:
    """Return a member dispatch without its ``guild_id``, the part the spec describes."""
    return {k: v for k, v in body.items() if k != "guild_id"}


async def _gate(control: ControlApi, guild: Guild) -> None:
    await control.call("PATCH", f"/guilds/{guild.id}", json={"verification_gate": True}, expect=200)


async def test_member_add_reaches_only_sessions_with_guild_members_when_a_user_joins(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    guild = _guild_on_second_shard(sim)
    before = guild.member_count
    async with (
        listening_as_shard(http, sim, shard=(0, 1), intents=intents.GUILDS) as plain,
        listening_as_shard(http, sim, shard=(1, 2), intents=_MEMBER_INTENTS) as members,
    ):
        joined = await control.call(
            "POST", f"/guilds/{guild.id}/members", json={"username": "newcomer"}, expect=201
        )
        added = await members.next_event("GUILD_MEMBER_ADD")
        await control.call("POST", f"/guilds/{guild.id}/roles", json={"name": "x"}, expect=201)
        plain_names = await _names_until(plain, "GUILD_ROLE_CREATE")
    assert joined["sessions_notified"] == 1
    assert "GUILD_MEMBER_ADD" not in plain_names
    assert added["guild_id"] == str(guild.id)
    assert added["user"]["username"] == "newcomer"
    assert added["user"]["id"] == joined["user"]["id"]
    assert added["pending"] is False
    assert added["flags"] == 0
    assert added["roles"] == []
    joined_at = dt.datetime.fromisoformat(added["joined_at"])
    assert abs(dt.datetime.now(tz=dt.UTC) - joined_at) < dt.timedelta(minutes=1)
    load_spec().validate_schema("GuildMemberResponse", _member_object(added))
    load_spec().validate_schema("GuildMemberResponse", _member_object(joined))
    assert guild.member_count == before + 1


async def test_member_add_reaches_no_session_when_the_bot_lacks_guild_members(
    http: aiohttp.ClientSession,
) -> None:
    async with running_simulator(SimSettings(guilds=2)) as sim:
        guild = sim.world.guilds[min(sim.world.guilds)]
        control = ControlApi(http, sim)
        async with listening(http, sim, intents=intents.GUILDS) as gateway:
            joined = await control.call("POST", f"/guilds/{guild.id}/members", json={}, expect=201)
            await control.call("POST", f"/guilds/{guild.id}/roles", json={"name": "x"}, expect=201)
            names = await _names_until(gateway, "GUILD_ROLE_CREATE")
    assert joined["sessions_notified"] == 0
    assert "GUILD_MEMBER_ADD" not in names


async def test_screening_completion_dispatches_pending_false_when_a_gated_member_passes(
    control: ControlApi, sim: Simulator, guild: Guild, http: aiohttp.ClientSession
) -> None:
    await _gate(control, guild)
    async with listening(http, sim, intents=_MEMBER_INTENTS) as gateway:
        joined = await control.call(
            "POST", f"/guilds/{guild.id}/members", json={"username": "gated"}, expect=201
        )
        added = await gateway.next_event("GUILD_MEMBER_ADD")
        user_id = joined["user"]["id"]
        path = f"/guilds/{guild.id}/members/{user_id}"
        state = await control.call("GET", path, expect=200)
        passed = await control.call("POST", f"{path}/screening", expect=200)
        updated = await gateway.next_event("GUILD_MEMBER_UPDATE")
        again = await control.error("POST", f"{path}/screening")
    assert joined["pending"] is True
    assert added["pending"] is True
    assert state["pending"] is True
    assert passed["pending"] is False
    assert passed["sessions_notified"] == 1
    assert updated["guild_id"] == str(guild.id)
    assert updated["user"]["id"] == user_id
    assert updated["pending"] is False
    assert updated["joined_at"] == added["joined_at"]
    assert "not pending" in again
    load_spec().validate_schema("GuildMemberResponse", _member_object(updated))


async def test_member_add_refuses_when_pending_is_asked_without_the_gate(
    control: ControlApi, guild: Guild
) -> None:
    message = await control.error("POST", f"/guilds/{guild.id}/members", json={"pending": True})
    assert "verification_gate" in message


async def test_member_add_refuses_when_the_user_is_a_member_or_banned(
    control: ControlApi, sim: Simulator, guild: Guild
) -> None:
    member_id = generated_member_id(guild, 0)
    exists = await control.error(
        "POST", f"/guilds/{guild.id}/members", json={"user_id": str(member_id)}
    )
    assert "already a member" in exists
    joined = await control.call("POST", f"/guilds/{guild.id}/members", json={}, expect=201)
    user_id = int(joined["user"]["id"])
    await control.call("DELETE", f"/guilds/{guild.id}/members/{user_id}", expect=200)
    guild.bans[user_id] = Ban(user_id=user_id)
    banned = await control.error(
        "POST", f"/guilds/{guild.id}/members", json={"user_id": str(user_id)}
    )
    assert "banned" in banned
    assert sim.world.user(user_id) is not None


async def test_member_remove_dispatches_guild_member_remove_when_a_member_leaves(
    control: ControlApi, sim: Simulator, guild: Guild, http: aiohttp.ClientSession
) -> None:
    user_id = generated_member_id(guild, 2)
    before = guild.member_count
    async with listening(http, sim, intents=_MEMBER_INTENTS) as gateway:
        left = await control.call("DELETE", f"/guilds/{guild.id}/members/{user_id}", expect=200)
        removed = await gateway.next_event("GUILD_MEMBER_REMOVE")
    assert left == {
        "user_id": str(user_id),
        "member_count": before - 1,
        "sessions_notified": 1,
    }
    assert removed["guild_id"] == str(guild.id)
    assert removed["user"]["id"] == str(user_id)
    load_spec().validate_schema("UserResponse", removed["user"])
    assert user_id not in sim.world.contents(guild)[2]
    gone = await control.error("DELETE", f"/guilds/{guild.id}/members/{user_id}", expect=404)
    assert "not a member" in gone


async def test_member_remove_refuses_when_the_member_is_the_bot(
    control: ControlApi, sim: Simulator, guild: Guild
) -> None:
    bot_id = sim.world.bot_member(guild).user_id
    message = await control.error("DELETE", f"/guilds/{guild.id}/members/{bot_id}")
    assert "DELETE /_sim/guilds" in message


async def test_role_history_records_pending_at_the_time_when_roles_change(
    control: ControlApi, sim: Simulator, guild: Guild, http: aiohttp.ClientSession
) -> None:
    await _gate(control, guild)
    roles, _, _ = sim.world.contents(guild)
    role_id = next(r.id for r in roles.values() if r.name == "role-3")
    joined = await control.call("POST", f"/guilds/{guild.id}/members", json={}, expect=201)
    path = f"/guilds/{guild.id}/members/{joined['user']['id']}"
    async with listening(http, sim, intents=_MEMBER_INTENTS) as gateway:
        given = await control.call(
            "PUT", f"{path}/roles", json={"role_ids": [str(role_id)]}, expect=200
        )
        updated = await gateway.next_event("GUILD_MEMBER_UPDATE")
        await control.call("PUT", f"{path}/roles", json={"role_ids": []}, expect=200)
        await gateway.next_event("GUILD_MEMBER_UPDATE")
    state = await control.call("GET", path, expect=200)
    assert given["roles"] == [str(role_id)]
    assert updated["roles"] == [str(role_id)]
    assert updated["pending"] is False  # a granted role bypasses screening
    history = state["role_history"]
    assert [(h["role_id"], h["change"], h["was_pending"], h["source"]) for h in history] == [
        (str(role_id), "added", True, "control"),
        (str(role_id), "removed", False, "control"),
    ]
    assert history[0]["at_ms"] <= history[1]["at_ms"]
    assert dt.datetime.fromisoformat(history[0]["at"]).tzinfo is not None


async def test_set_roles_refuses_when_a_role_is_unknown_or_everyone(
    control: ControlApi, guild: Guild
) -> None:
    path = f"/guilds/{guild.id}/members/{generated_member_id(guild, 1)}/roles"
    unknown = await control.error("PUT", path, json={"role_ids": ["12345"]})
    everyone = await control.error("PUT", path, json={"role_ids": [str(guild.id)]})
    not_a_list = await control.error("PUT", path, json={"role_ids": "12345"})
    assert "12345" in unknown
    assert str(guild.id) in everyone
    assert "list" in not_a_list


async def test_member_state_answers_404_when_the_user_never_was_a_member(
    control: ControlApi, guild: Guild
) -> None:
    assert "not a member" in await control.error(
        "GET", f"/guilds/{guild.id}/members/424242", expect=404
    )
