"""Injected interactions carry ``data.resolved`` as Discord sends it, and arc resolves from it.

Commands with user, role, channel and mentionable options (nested in subcommands too)
and user, role, mentionable and channel selects; an unknown id is refused by the control
call. The last test runs a real hikari bot with an arc client that receives a slash
command with a ROLE and a CHANNEL option.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any, Final

import arc
import hikari

from shoal_sim.discord import intents
from shoal_sim.discord.settings import DEFAULT_TOKEN
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.sim.gateway.hikari_bots import gateway_bot, running_bot
from tests.integration.sim.rest.api import Api
from tests.integration.sim.rest.gateway_listening import listening
from tests.integration.sim.rest.spec import load_spec

if TYPE_CHECKING:
    import aiohttp

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.server import Simulator
    from tests.integration.sim.control.control_api import ControlApi

_ROLE: Final = 8
_CHANNEL: Final = 7
_USER: Final = 6
_SUB_COMMAND: Final = 1
#: How long the arc command may take to be called.
_CALLED_S: Final = 5.0


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


def _command(guild: Guild, options: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "command", "guild_id": str(guild.id), "name": "pick", "options": options}


async def test_command_carries_resolved_role_channel_and_member_when_options_name_them(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    role_id = sim.world.bot_role_id(guild)
    channel_id = generated_channel_id(guild, 1)
    target = generated_member_id(guild, 1)
    options = [
        {
            "name": "grant",
            "type": _SUB_COMMAND,
            "options": [
                {"name": "role", "type": _ROLE, "value": str(role_id)},
                {"name": "channel", "type": _CHANNEL, "value": str(channel_id)},
                {"name": "who", "type": _USER, "value": str(target)},
            ],
        }
    ]
    created = await _created(control, sim, http, _command(guild, options))

    resolved = created["data"]["resolved"]
    assert set(resolved) == {"roles", "channels", "users", "members"}
    assert set(resolved["channels"][str(channel_id)]) == {
        "id",
        "name",
        "type",
        "parent_id",
        "permissions",
    }
    assert not {"user", "deaf", "mute"} & set(resolved["members"][str(target)])
    spec = load_spec()
    spec.validate_schema("GuildRoleResponse", resolved["roles"][str(role_id)])
    spec.validate_schema("UserResponse", resolved["users"][str(target)])
    interaction = _entity_factory(sim).deserialize_interaction(created)
    assert isinstance(interaction, hikari.CommandInteraction)
    assert interaction.resolved is not None
    bot_id = sim.world.applications[guild.application_id].bot_user_id
    assert interaction.resolved.roles[hikari.Snowflake(role_id)].bot_id == bot_id
    assert interaction.resolved.channels[hikari.Snowflake(channel_id)].name == "general"
    member = interaction.resolved.members[hikari.Snowflake(target)]
    assert member.user.id == target
    assert member.permissions != hikari.Permissions.NONE


async def test_select_carries_resolved_roles_when_a_role_select_is_used(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    roles, _ = sim.world.structure(guild)
    picked = [str(r) for r in list(roles)[1:3]]
    body = {
        "type": "component",
        "guild_id": str(guild.id),
        "custom_id": "roles",
        "component_type": "role_select",
        "values": picked,
    }
    created = await _created(control, sim, http, body)

    assert list(created["data"]["resolved"]["roles"]) == picked
    interaction = _entity_factory(sim).deserialize_interaction(created)
    assert isinstance(interaction, hikari.ComponentInteraction)
    assert interaction.resolved is not None
    assert [str(r) for r in interaction.resolved.roles] == picked


async def test_plain_command_has_no_resolved_when_no_option_names_an_entity(
    control: ControlApi, sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    created = await _created(
        control, sim, http, _command(guild, [{"name": "text", "type": 3, "value": "x"}])
    )

    assert "resolved" not in created["data"]


async def test_inject_refuses_naming_the_option_when_a_role_is_unknown(
    control: ControlApi, guild: Guild
) -> None:
    options = [
        {
            "name": "grant",
            "type": _SUB_COMMAND,
            "options": [{"name": "role", "type": _ROLE, "value": "4242"}],
        }
    ]

    error = await control.error("POST", "/interactions", json=_command(guild, options))

    assert error == "option grant.role: unknown role 4242"


async def test_inject_refuses_naming_the_value_when_a_channel_select_names_no_channel(
    control: ControlApi, guild: Guild
) -> None:
    body = {
        "type": "component",
        "guild_id": str(guild.id),
        "custom_id": "where",
        "component_type": "channel_select",
        "values": ["nope"],
    }

    error = await control.error("POST", "/interactions", json=body)

    assert "values[0]" in error


async def test_bot_role_carries_the_bot_id_when_the_bot_lists_the_guild_roles(
    sim: Simulator, http: aiohttp.ClientSession, guild: Guild
) -> None:
    api = Api(http, sim, spec=load_spec())
    reply = await api.call(
        "GET", "/guilds/{guild_id}/roles", path={"guild_id": guild.id}, expect=200
    )

    factory = _entity_factory(sim)
    roles = [factory.deserialize_role(r, guild_id=hikari.Snowflake(guild.id)) for r in reply.body]
    bot_id = sim.world.applications[guild.application_id].bot_user_id
    tagged = {r.id: r.bot_id for r in roles if r.bot_id is not None}
    assert tagged == {sim.world.bot_role_id(guild): bot_id}


async def test_arc_command_receives_the_role_and_channel_when_options_name_them(
    control: ControlApi, sim: Simulator, guild: Guild
) -> None:
    bot = gateway_bot(sim, intents=hikari.Intents.GUILDS)
    client = arc.GatewayClient(bot, autosync=False, autodefer=False)
    called: asyncio.Future[tuple[hikari.Role, hikari.PartialChannel]] = (
        asyncio.get_running_loop().create_future()
    )

    @client.include
    @arc.slash_command("pick", "Pick a role and a channel")
    async def pick(
        ctx: arc.GatewayContext,
        role: Annotated[hikari.Role, arc.RoleParams("A role")],
        channel: Annotated[hikari.PartialChannel, arc.ChannelParams("A channel")],
    ) -> None:
        called.set_result((role, channel))
        await ctx.respond(f"{role.name} in {channel.name}")

    role_id = sim.world.bot_role_id(guild)
    channel_id = generated_channel_id(guild, 1)
    options = [
        {"name": "role", "type": _ROLE, "value": str(role_id)},
        {"name": "channel", "type": _CHANNEL, "value": str(channel_id)},
    ]
    async with running_bot(bot):
        injected = await control.call(
            "POST", "/interactions", json=_command(guild, options), expect=201
        )
        role, channel = await asyncio.wait_for(called, _CALLED_S)
        state = await _answered(control, injected["id"])

    roles, _ = sim.world.structure(guild)
    assert role.id == role_id
    assert role.name == roles[role_id].name
    assert role.bot_id == sim.world.applications[guild.application_id].bot_user_id
    assert channel.id == channel_id
    assert channel.name == "general"
    assert channel.type == hikari.ChannelType.GUILD_TEXT
    assert state["response"]["data"]["content"] == f"{role.name} in general"


async def _answered(control: ControlApi, interaction_id: str) -> dict[str, Any]:
    """Return the interaction's state once the bot's initial response reached the simulator."""
    async with asyncio.timeout(_CALLED_S):
        while True:
            state: dict[str, Any] = await control.call(
                "GET", f"/interactions/{interaction_id}", expect=200
            )
            if state["response_type"] is not None:
                return state
            await asyncio.sleep(0.01)
