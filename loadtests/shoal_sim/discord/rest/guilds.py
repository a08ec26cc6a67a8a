"""Guilds and roles: read a guild, list, read, create, edit, move and delete roles.

Role changes reach the guild's sessions with intent GUILDS: GUILD_ROLE_CREATE,
GUILD_ROLE_UPDATE (one per moved role for a position change), GUILD_ROLE_DELETE. A
deleted role leaves every member that had it (recorded in the members' role history).
Every write follows the role hierarchy of :mod:`.hierarchy_rules` (403 50013).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import events, membership, payloads
from shoal_sim.discord.entities import Role
from shoal_sim.discord.rest import access, errors, hierarchy_rules, limits, role_rules
from shoal_sim.discord.rest.calls import json_response, no_content, parse_snowflake
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
    events.emit_role_event(call.sim, guild, event, role)


def _granted(body: dict[str, object]) -> int | None:
    """Return the permissions a checked role body sets, or None when it sets none."""
    value = role_rules.role_changes(body).get("permissions")
    return None if value is None else int(value)


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


async def get_role(call: Call) -> web.Response:
    """GET /guilds/{guild_id}/roles/{role_id} (404 10011 for a role the guild lacks)."""
    guild = _guild(call)
    return json_response(
        payloads.role_json(access.role_of(call.world, guild, call.snowflake("role_id")))
    )


async def create_role(call: Call) -> web.Response:
    """POST /guilds/{guild_id}/roles: a new role just above @everyone."""
    guild = _guild(call)
    body = await call.object_body()
    role_rules.check_role(body).raise_if_any()
    hierarchy_rules.check_role_create(access.bot_actor(call.world, guild), _granted(body))
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
    hierarchy_rules.check_role_edit(access.bot_actor(call.world, guild), role, _granted(body))
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
    hierarchy_rules.check_role_delete(access.bot_actor(call.world, guild), role)
    roles, _, _ = call.world.contents(guild)
    del roles[role.id]
    membership.forget_role(call.world, guild, role.id, now_ms=int(time.time() * 1000))
    events.emit_role_deleted(call.sim, guild, role.id)
    return no_content()


async def move_roles(call: Call) -> web.Response:
    """PATCH /guilds/{guild_id}/roles: ``[{"id", "position"}]``; answers every role."""
    guild = _guild(call)
    body = await call.array_body()
    moves = _moves(body)
    roles, _, _ = call.world.contents(guild)
    hierarchy_rules.check_positions(access.bot_actor(call.world, guild), roles, guild.id, moves)
    for role_id, position in moves:
        role = roles[role_id]
        if role.position != position:
            role.position = position
            _announce_role(call, guild, "GUILD_ROLE_UPDATE", role)
    return json_response([payloads.role_json(r) for r in roles.values()])


def _moves(body: list[object]) -> list[tuple[int, int]]:
    problems = errors.FieldErrors()
    moves: list[tuple[int, int]] = []
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            problems.add((index,), *errors.NOT_A_DICT)
            continue
        role_id = parse_snowflake(item.get("id"), (index, "id"))
        position = item.get("position")
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            problems.add(
                (index, "position"), "NUMBER_TYPE_COERCE", f'Value "{position}" is not int.'
            )
            continue
        moves.append((role_id, position))
    problems.raise_if_any()
    return moves


_MAJOR: Final = ("guild_id",)
_ROLES: Final = "/guilds/{guild_id}/roles"

ENDPOINTS: Final = (
    Endpoint("GET", "/guilds/{guild_id}", get_guild, limits.READ, _MAJOR),
    Endpoint("GET", _ROLES, list_roles, limits.READ, _MAJOR),
    Endpoint("POST", _ROLES, create_role, limits.ROLE_WRITE, _MAJOR),
    Endpoint("PATCH", _ROLES, move_roles, limits.ROLE_WRITE, _MAJOR),
    Endpoint("GET", _ROLES + "/{role_id}", get_role, limits.READ, _MAJOR),
    Endpoint("PATCH", _ROLES + "/{role_id}", edit_role, limits.ROLE_WRITE, _MAJOR),
    Endpoint("DELETE", _ROLES + "/{role_id}", delete_role, limits.ROLE_WRITE, _MAJOR),
)
