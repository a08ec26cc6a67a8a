"""Real hikari member and role events from the simulator's `/_sim` joins, screening and leaves.

The ``loop_errors`` fixture fails a test whose payload hikari could not parse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import hikari

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord.server import running_simulator
from tests.integration.sim.control.control_api import ControlApi
from tests.integration.sim.gateway.hikari_bots import gateway_bot, running_bot
from tests.integration.sim.gateway.waiting import eventually
from tests.integration.sim.gateway.worlds import app_of, small_world

if TYPE_CHECKING:
    import aiohttp

_MEMBERS = hikari.Intents.GUILDS | hikari.Intents.GUILD_MEMBERS


async def test_hikari_sees_a_gated_member_join_pass_screening_and_leave_when_members_is_on(
    loop_errors: list[dict[str, Any]], http: aiohttp.ClientSession
) -> None:
    assert loop_errors == []
    settings = small_world(privileged_intents=intent_bits.GUILD_MEMBERS)
    async with running_simulator(settings) as sim:
        guild_id = min(app_of(sim).guild_ids)
        control = ControlApi(http, sim)
        bot = gateway_bot(sim, intents=_MEMBERS)
        seen: list[hikari.MemberEvent] = []

        async def on_member(event: hikari.MemberEvent) -> None:
            seen.append(event)

        bot.subscribe(hikari.MemberEvent, on_member)
        async with running_bot(bot):
            await control.call(
                "PATCH", f"/guilds/{guild_id}", json={"verification_gate": True}, expect=200
            )
            joined = await control.call(
                "POST", f"/guilds/{guild_id}/members", json={"username": "gated"}, expect=201
            )
            user_id = int(joined["user"]["id"])
            path = f"/guilds/{guild_id}/members/{user_id}"
            await control.call("POST", f"{path}/screening", expect=200)
            await control.call("DELETE", path, expect=200)
            await eventually(lambda: len(seen) == 3, "three member events")
    created, updated, deleted = seen
    assert isinstance(created, hikari.MemberCreateEvent)
    assert created.guild_id == guild_id
    assert created.member.id == user_id
    assert created.member.username == "gated"
    assert created.member.is_pending is True
    assert isinstance(updated, hikari.MemberUpdateEvent)
    assert updated.member.is_pending is False
    assert isinstance(deleted, hikari.MemberDeleteEvent)
    assert deleted.user_id == user_id


async def test_hikari_gets_no_member_events_when_it_did_not_ask_for_guild_members(
    loop_errors: list[dict[str, Any]], http: aiohttp.ClientSession
) -> None:
    assert loop_errors == []
    settings = small_world(privileged_intents=intent_bits.GUILD_MEMBERS)
    async with running_simulator(settings) as sim:
        guild_id = min(app_of(sim).guild_ids)
        control = ControlApi(http, sim)
        bot = gateway_bot(sim, intents=hikari.Intents.GUILDS)
        dispatched: list[str] = []  # every dispatch hikari received, by name
        roles: list[hikari.RoleCreateEvent] = []

        async def on_payload(event: hikari.ShardPayloadEvent) -> None:
            dispatched.append(event.name)

        async def on_role(event: hikari.RoleCreateEvent) -> None:
            roles.append(event)

        bot.subscribe(hikari.ShardPayloadEvent, on_payload)
        bot.subscribe(hikari.RoleCreateEvent, on_role)
        async with running_bot(bot):
            joined = await control.call("POST", f"/guilds/{guild_id}/members", json={}, expect=201)
            await control.call(
                "POST", f"/guilds/{guild_id}/roles", json={"name": "after"}, expect=201
            )
            await eventually(lambda: bool(roles), "the role created after the join")
    assert joined["sessions_notified"] == 0
    assert "GUILD_ROLE_CREATE" in dispatched
    assert not any(name.startswith("GUILD_MEMBER") for name in dispatched), dispatched
    assert roles[0].role.name == "after"
    assert roles[0].guild_id == guild_id
