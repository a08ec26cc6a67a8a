"""Guild bans: list, read, ban (which also removes the member) and unban.

GUILD_BAN_ADD and GUILD_BAN_REMOVE reach the guild's sessions with intent
GUILD_MODERATION; a banned member also leaves (GUILD_MEMBER_REMOVE, intent
GUILD_MEMBERS). The reason comes from ``X-Audit-Log-Reason``, as hikari sends it;
``delete_message_seconds`` deletes the user's recent messages (MESSAGE_DELETE_BULK).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import intents, payloads
from shoal_sim.discord.entities import Ban
from shoal_sim.discord.rest import access, errors, limits, member_rules, posting
from shoal_sim.discord.rest.calls import json_response, no_content
from shoal_sim.discord.rest.endpoints import Endpoint
from shoal_sim.discord.rest.members import announce_member_removed

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Guild, User
    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS"]

_MAX_PAGE: Final = 1000


def _guild(call: Call) -> Guild:
    return access.guild_of(call.world, call.bot, call.snowflake("guild_id"))


def _ban(call: Call, guild: Guild) -> tuple[Ban, User]:
    ban = guild.bans.get(call.snowflake("user_id"))
    if ban is None:
        raise errors.DiscordError(errors.UNKNOWN_BAN)
    return ban, access.user_of(call.world, ban.user_id)


def _announce(call: Call, guild: Guild, event: str, user: User) -> None:
    body = {"guild_id": str(guild.id), "user": payloads.user_json(user)}
    call.sim.gateway.dispatch_guild(
        call.bot.id, guild.id, event, body, intent=intents.GUILD_MODERATION
    )


async def list_bans(call: Call) -> web.Response:
    """GET /guilds/{guild_id}/bans: by user id, ``limit`` with ``before``/``after``."""
    guild = _guild(call)
    limit = call.query_int("limit", default=_MAX_PAGE, low=1, high=_MAX_PAGE)
    before = call.query_snowflake("before")
    after = call.query_snowflake("after")
    user_ids = sorted(guild.bans)
    if before is not None and after is None:
        page = [u for u in user_ids if u < before][-limit:]
    else:
        page = [u for u in user_ids if u > (after or 0)][:limit]
    bans = [(guild.bans[u], access.user_of(call.world, u)) for u in page]
    return json_response([payloads.ban_json(ban, user) for ban, user in bans])


async def get_ban(call: Call) -> web.Response:
    """GET /guilds/{guild_id}/bans/{user_id}."""
    ban, user = _ban(call, _guild(call))
    return json_response(payloads.ban_json(ban, user))


async def create_ban(call: Call) -> web.Response:
    """PUT /guilds/{guild_id}/bans/{user_id}: ban, removing the member if present."""
    guild = _guild(call)
    user = access.user_of(call.world, call.snowflake("user_id"))
    if user.id == guild.owner_id:
        raise errors.DiscordError(errors.MISSING_PERMISSIONS)
    body = await call.object_body()
    purge_s = member_rules.purge_seconds(body)
    is_new = user.id not in guild.bans
    guild.bans[user.id] = Ban(user_id=user.id, reason=call.audit_reason())
    if is_new:
        _announce(call, guild, "GUILD_BAN_ADD", user)
    announce_member_removed(call, guild, user.id)
    if purge_s:
        since_ms = int(time.time() * 1000) - purge_s * 1000
        posting.purge_author(call.sim, call.bot, guild, user.id, since_ms)
    return no_content()


async def remove_ban(call: Call) -> web.Response:
    """DELETE /guilds/{guild_id}/bans/{user_id}."""
    guild = _guild(call)
    ban, user = _ban(call, guild)
    del guild.bans[ban.user_id]
    _announce(call, guild, "GUILD_BAN_REMOVE", user)
    return no_content()


_MAJOR: Final = ("guild_id",)
_BANS: Final = "/guilds/{guild_id}/bans"

ENDPOINTS: Final = (
    Endpoint("GET", _BANS, list_bans, limits.READ, _MAJOR),
    Endpoint("GET", _BANS + "/{user_id}", get_ban, limits.READ, _MAJOR),
    Endpoint("PUT", _BANS + "/{user_id}", create_ban, limits.MEMBER_REMOVE, _MAJOR),
    Endpoint("DELETE", _BANS + "/{user_id}", remove_ban, limits.MEMBER_REMOVE, _MAJOR),
)
