"""INTERACTION_CREATE bodies as real hikari reads them, and their users as Discord's spec says.

Injected through ``POST /_sim/interactions`` for users the world never generated: a DM
carries ``user``, a guild ``member.user``, and both must be complete user objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import hikari

from shoal_sim.discord import intents
from shoal_sim.discord.settings import DEFAULT_TOKEN
from tests.integration.sim.rest.gateway_listening import listening
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.control.control_api import ControlApi

#: A user id no generated guild member has.
_STRANGER_ID: Final = 4242


def _entity_factory(sim: Simulator) -> hikari.api.EntityFactory:
    """Return hikari's own deserialiser (the bot is built, never started)."""
    bot = hikari.GatewayBot(
        DEFAULT_TOKEN, rest_url=sim.rest_url, banner=None, suppress_optimization_warning=True
    )
    return bot.entity_factory


async def _created(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, body: dict[str, Any]
) -> dict[str, Any]:
    async with listening(http, sim, intents=intents.NONE) as listener:
        await control.call("POST", "/interactions", json=body, expect=201)
        return await listener.next_event("INTERACTION_CREATE")


async def test_dm_interaction_deserialises_in_hikari_when_the_user_is_unknown(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    body = {"type": "command", "user_id": str(_STRANGER_ID), "name": "shard"}
    created = await _created(control, sim, http, body)

    interaction = _entity_factory(sim).deserialize_interaction(created)

    assert isinstance(interaction, hikari.CommandInteraction)
    assert interaction.guild_id is None
    assert interaction.user.id == _STRANGER_ID
    assert interaction.user.username == f"user{_STRANGER_ID}"
    assert interaction.user.discriminator == "0"
    load_spec().validate_schema("UserResponse", created["user"])


async def test_guild_interaction_deserialises_in_hikari_when_the_user_is_not_a_member(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    body = {"type": "command", "guild_id": str(guild.id), "user_id": "4243", "name": "shard"}
    created = await _created(control, sim, http, body)

    interaction = _entity_factory(sim).deserialize_interaction(created)

    assert isinstance(interaction, hikari.CommandInteraction)
    assert interaction.member is not None
    assert interaction.member.user.username == "user4243"
    member = dict(created["member"])
    member.pop("permissions")  # interactions add it; the spec's member object has none
    load_spec().validate_schema("GuildMemberResponse", member)
    load_spec().validate_schema("UserResponse", created["member"]["user"])
