"""Guild members: read, list, search, edit (nick, roles, timeout, mute/deaf), roles, kick.

Changes reach the guild's sessions with intent GUILD_MEMBERS: GUILD_MEMBER_UPDATE after
an edit or a role change, GUILD_MEMBER_REMOVE after a kick. Listing members needs the
GUILD_MEMBERS privileged intent approved (``SimSettings.privileged_intents``), else
403 50001 as on Discord; searching (by username or nickname prefix) does not. The
guild owner cannot be kicked or timed out (403 50013). Role grants and removals
(PUT/DELETE of a role, PATCH ``roles``) follow the role hierarchy of
:mod:`.hierarchy_rules` and are recorded by :mod:`shoal_sim.discord.membership`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import intents, membership, payloads
from shoal_sim.discord.rest import access, errors, hierarchy_rules, limits, member_rules
from shoal_sim.discord.rest.calls import json_response, no_content
from shoal_sim.discord.rest.endpoints import Endpoint

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Guild, Member
    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS", "announce_member_removed"]

_MAX_PAGE: Final = 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _guild(call: Call) -> Guild:
    return access.guild_of(call.world, call.bot, call.snowflake("guild_id"))


def _member_payload(call: Call, member: Member) -> dict[str, object]:
    user = access.user_of(call.world, member.user_id)
    return payloads.member_json(member, user)


def _announce_update(call: Call, guild: Guild, member: Member) -> None:
    body = _member_payload(call, member) | {"guild_id": str(guild.id)}
    call.sim.gateway.dispatch_guild(
        call.bot.id, guild.id, "GUILD_MEMBER_UPDATE", body, intent=intents.GUILD_MEMBERS
    )


def announce_member_removed(call: Call, guild: Guild, user_id: int) -> None:
    """Forget a member and dispatch GUILD_MEMBER_REMOVE (kicks and bans)."""
    if membership.remove_member(call.world, guild, user_id) is None:
        return
    user = access.user_of(call.world, user_id)
    body = {"guild_id": str(guild.id), "user": payloads.user_json(user)}
    call.sim.gateway.dispatch_guild(
        call.bot.id, guild.id, "GUILD_MEMBER_REMOVE", body, intent=intents.GUILD_MEMBERS
    )


async def get_member(call: Call) -> web.Response:
    """GET /guilds/{guild_id}/members/{user_id}."""
    guild = _guild(call)
    member = access.member_of(call.world, guild, call.snowflake("user_id"))
    return json_response(_member_payload(call, member))


async def list_members(call: Call) -> web.Response:
    """GET /guilds/{guild_id}/members: ``limit`` (1-1000) members by id after ``after``."""
    guild = _guild(call)
    if not call.sim.settings.privileged_intents & intents.GUILD_MEMBERS:
        raise errors.DiscordError(errors.MISSING_ACCESS)
    limit = call.query_int("limit", default=1, low=1, high=_MAX_PAGE)
    after = call.query_snowflake("after") or 0
    _, _, members = call.world.contents(guild)
    page = sorted(user_id for user_id in members if user_id > after)[:limit]
    return json_response([_member_payload(call, members[u]) for u in page])


async def search_members(call: Call) -> web.Response:
    """GET /guilds/{guild_id}/members/search: username or nickname prefix, by join order.

    ``query`` is required; ``limit`` is 1 to 1000 (default 1). Matching ignores case.
    """
    guild = _guild(call)
    query = call.request.query.get("query")
    if query is None:
        raise errors.invalid_field(("query",), *errors.REQUIRED)
    limit = call.query_int("limit", default=1, low=1, high=_MAX_PAGE)
    prefix = query.casefold()
    _, _, members = call.world.contents(guild)
    found = []
    for member in sorted(members.values(), key=lambda m: (m.joined_at_ms, m.user_id)):
        user = call.world.user(member.user_id)
        names = [member.nick, None if user is None else user.username]
        names.append(None if user is None else user.global_name)
        if any(name is not None and name.casefold().startswith(prefix) for name in names):
            found.append(member)
            if len(found) == limit:
                break
    return json_response([_member_payload(call, m) for m in found])


async def edit_member(call: Call) -> web.Response:
    """PATCH /guilds/{guild_id}/members/{user_id}."""
    guild = _guild(call)
    member = access.member_of(call.world, guild, call.snowflake("user_id"))
    body = await call.object_body()
    edit = member_rules.parse_member_edit(body, now_ms=_now_ms())
    if "timeout_until_ms" in edit.changed and member.user_id == guild.owner_id:
        raise errors.DiscordError(errors.MISSING_PERMISSIONS)
    if "role_ids" in edit.changed:
        roles, _, _ = call.world.contents(guild)
        hierarchy_rules.check_member_roles(
            access.bot_actor(call.world, guild),
            roles,
            guild.id,
            before=member.role_ids,
            after=edit.role_ids,
        )
    if {"is_mute", "is_deaf"} & edit.changed:
        state = guild.voice_states.get(member.user_id)
        if state is None or state.channel_id is None:
            raise errors.DiscordError(errors.NOT_IN_VOICE)
    _apply(member, edit)
    if "role_ids" in edit.changed:
        membership.set_roles(
            call.world, guild, member, edit.role_ids, source="rest-patch", now_ms=_now_ms()
        )
    _announce_update(call, guild, member)
    return json_response(_member_payload(call, member))


def _apply(member: Member, edit: member_rules.MemberEdit) -> None:
    """Apply the edit's fields other than roles (:func:`membership.set_roles` does those)."""
    if "nick" in edit.changed:
        member.nick = edit.nick
    if "timeout_until_ms" in edit.changed:
        member.communication_disabled_until_ms = edit.timeout_until_ms
    if "is_mute" in edit.changed:
        member.is_mute = edit.is_mute
    if "is_deaf" in edit.changed:
        member.is_deaf = edit.is_deaf


async def edit_me(call: Call) -> web.Response:
    """PATCH /guilds/{guild_id}/members/@me: the bot's own nickname."""
    guild = _guild(call)
    member = access.member_of(call.world, guild, call.bot.bot_user_id)
    body = await call.object_body()
    _apply(member, member_rules.parse_member_edit(body, now_ms=_now_ms(), is_self=True))
    _announce_update(call, guild, member)
    return json_response(_member_payload(call, member))


async def add_member_role(call: Call) -> web.Response:
    """PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id} (hierarchy checked)."""
    guild = _guild(call)
    member = access.member_of(call.world, guild, call.snowflake("user_id"))
    role = access.role_of(call.world, guild, call.snowflake("role_id"))
    hierarchy_rules.check_grant(access.bot_actor(call.world, guild), role, guild.id)
    if membership.set_roles(
        call.world, guild, member, [*member.role_ids, role.id], source="rest-put", now_ms=_now_ms()
    ):
        _announce_update(call, guild, member)
    return no_content()


async def remove_member_role(call: Call) -> web.Response:
    """DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id} (hierarchy checked)."""
    guild = _guild(call)
    member = access.member_of(call.world, guild, call.snowflake("user_id"))
    role = access.role_of(call.world, guild, call.snowflake("role_id"))
    hierarchy_rules.check_grant(access.bot_actor(call.world, guild), role, guild.id)
    remaining = [r for r in member.role_ids if r != role.id]
    if membership.set_roles(
        call.world, guild, member, remaining, source="rest-delete", now_ms=_now_ms()
    ):
        _announce_update(call, guild, member)
    return no_content()


async def kick_member(call: Call) -> web.Response:
    """DELETE /guilds/{guild_id}/members/{user_id}."""
    guild = _guild(call)
    member = access.member_of(call.world, guild, call.snowflake("user_id"))
    if member.user_id == guild.owner_id:
        raise errors.DiscordError(errors.MISSING_PERMISSIONS)
    announce_member_removed(call, guild, member.user_id)
    return no_content()


_MAJOR: Final = ("guild_id",)
_MEMBERS: Final = "/guilds/{guild_id}/members"
_ROLE: Final = _MEMBERS + "/{user_id}/roles/{role_id}"

ENDPOINTS: Final = (
    Endpoint("GET", _MEMBERS, list_members, limits.READ, _MAJOR),
    # @me before {user_id}: the router tries routes in order.
    Endpoint("PATCH", _MEMBERS + "/@me", edit_me, limits.MEMBER_EDIT, _MAJOR),
    Endpoint("GET", _MEMBERS + "/search", search_members, limits.READ, _MAJOR),
    Endpoint("GET", _MEMBERS + "/{user_id}", get_member, limits.READ, _MAJOR),
    Endpoint("PATCH", _MEMBERS + "/{user_id}", edit_member, limits.MEMBER_EDIT, _MAJOR),
    Endpoint("DELETE", _MEMBERS + "/{user_id}", kick_member, limits.MEMBER_REMOVE, _MAJOR),
    Endpoint("PUT", _ROLE, add_member_role, limits.MEMBER_ROLE, _MAJOR),
    Endpoint("DELETE", _ROLE, remove_member_role, limits.MEMBER_ROLE, _MAJOR),
)
