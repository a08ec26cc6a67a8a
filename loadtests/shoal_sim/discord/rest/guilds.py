"""Guilds and roles: read a guild, list, create, edit and delete roles.

Role changes reach the guild's sessions with intent GUILDS: GUILD_ROLE_CREATE,
GUILD_ROLE_UPDATE, GUILD_ROLE_DELETE. A deleted role leaves every member that had it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal_sim.discord import intents, payloads
from shoal_sim.discord.entities import Role
from shoal_sim.discord.rest import access, errors, limits, role_rules
from shoal_sim.discord.rest.calls import json_response, no_content
from shoal_sim.discord.rest.endpoints import Endpoint

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS"]

_DEFAULT_ROLE_NAME: Final = "new role"


def _guild(call: Call) -> Guild:
    return access.guild_of(call.world, call.bot, call.snowflake("guild_id"))


def _announce_role(call: Call, guild: Guild, event: str, role: Role) -> None:
    body = {"guild_id": str(guild.id), "role": payloads.role_json(role)}
    call.sim.gateway.dispatch_guild(call.bot.id, guild.id, event, body, intent=intents.GUILDS)


async def get_guild(call: Call) -> web.Response:
    """GET /guilds/{guild_id} (``with_counts`` adds approximate counts)."""
    guild = _guild(call)
    payload = payloads.guild_json(guild, call.world)
    if call.query_flag("with_counts"):
        _, _, members = call.world.contents(guild)
        payload["approximate_member_count"] = len(members)
        payload["approximate_presence_count"] = len(guild.voice_states)
    return json_response(payload)


async def list_roles(call: Call) -> web.Response:
    """GET /guilds/{guild_id}/roles."""
    roles, _, _ = call.world.contents(_guild(call))
    return json_response([payloads.role_json(r) for r in roles.values()])


async def create_role(call: Call) -> web.Response:
    """POST /guilds/{guild_id}/roles: a new role just above @everyone."""
    guild = _guild(call)
    body = await call.object_body()
    role_rules.check_role(body).raise_if_any()
    roles, _, _ = call.world.contents(guild)
    if len(roles) >= role_rules.MAX_ROLES:
        raise errors.DiscordError(role_rules.TOO_MANY_ROLES)
    everyone = roles[guild.id]
    role = Role(
        id=call.world.ids.next_id(),
        name=_DEFAULT_ROLE_NAME,
        permissions=everyone.permissions,
        position=1,
    )
    for attribute, value in role_rules.role_changes(body).items():
        setattr(role, attribute, value)
    roles[role.id] = role
    _announce_role(call, guild, "GUILD_ROLE_CREATE", role)
    return json_response(payloads.role_json(role))


async def edit_role(call: Call) -> web.Response:
    """PATCH /guilds/{guild_id}/roles/{role_id}."""
    guild = _guild(call)
    role = access.role_of(call.world, guild, call.snowflake("role_id"))
    body = await call.object_body()
    role_rules.check_role(body).raise_if_any()
    for attribute, value in role_rules.role_changes(body).items():
        setattr(role, attribute, value)
    _announce_role(call, guild, "GUILD_ROLE_UPDATE", role)
    return json_response(payloads.role_json(role))


async def delete_role(call: Call) -> web.Response:
    """DELETE /guilds/{guild_id}/roles/{role_id} (@everyone cannot be deleted)."""
    guild = _guild(call)
    role = access.role_of(call.world, guild, call.snowflake("role_id"))
    if role.id == guild.id:
        raise errors.DiscordError(errors.INVALID_ROLE)
    roles, _, members = call.world.contents(guild)
    del roles[role.id]
    for member in members.values():
        if role.id in member.role_ids:
            member.role_ids.remove(role.id)
    body = {"guild_id": str(guild.id), "role_id": str(role.id)}
    call.sim.gateway.dispatch_guild(
        call.bot.id, guild.id, "GUILD_ROLE_DELETE", body, intent=intents.GUILDS
    )
    return no_content()


_MAJOR: Final = ("guild_id",)
_ROLES: Final = "/guilds/{guild_id}/roles"

ENDPOINTS: Final = (
    Endpoint("GET", "/guilds/{guild_id}", get_guild, limits.READ, _MAJOR),
    Endpoint("GET", _ROLES, list_roles, limits.READ, _MAJOR),
    Endpoint("POST", _ROLES, create_role, limits.ROLE_WRITE, _MAJOR),
    Endpoint("PATCH", _ROLES + "/{role_id}", edit_role, limits.ROLE_WRITE, _MAJOR),
    Endpoint("DELETE", _ROLES + "/{role_id}", delete_role, limits.ROLE_WRITE, _MAJOR),
)
