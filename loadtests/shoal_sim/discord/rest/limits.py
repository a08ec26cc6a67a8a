"""Per-route rate limits: every route's bucket size in one table.

Discord does not publish most per-route limits; these are the values its headers have
shown for bots (messages 5 per 5 s per channel, member edits 10 per 10 s per guild...)
or, where unknown, realistic values generous enough not to slow a healthy bot.
Each bucket counts per bot and per major parameter (channel, guild, or webhook id and
token), as the endpoints in the route modules declare.
"""

from __future__ import annotations

from typing import Final

from shoal_sim.discord.rest.ratelimiting import RouteLimit

__all__ = [
    "CHANNEL_CREATE",
    "CHANNEL_EDIT",
    "COMMAND_WRITE",
    "DM_OPEN",
    "GATEWAY_INFO",
    "MEMBER_EDIT",
    "MEMBER_REMOVE",
    "MEMBER_ROLE",
    "MESSAGE_CREATE",
    "MESSAGE_DELETE",
    "MESSAGE_EDIT",
    "READ",
    "ROLE_WRITE",
    "THREAD_CREATE",
    "WEBHOOK_EXECUTE",
    "WEBHOOK_MESSAGE",
]

#: GET /gateway and /gateway/bot: every worker asks at start, so the bucket is wide.
GATEWAY_INFO: Final = RouteLimit(50, 5.0)
#: Reads of single resources and lists (users, guilds, channels, members, roles, bans).
READ: Final = RouteLimit(50, 1.0)
#: POST /channels/{id}/messages: Discord's well-known 5 per 5 s per channel.
MESSAGE_CREATE: Final = RouteLimit(5, 5.0)
#: PATCH /channels/{id}/messages/{id}, per channel.
MESSAGE_EDIT: Final = RouteLimit(5, 5.0)
#: DELETE /channels/{id}/messages/{id}, per channel.
MESSAGE_DELETE: Final = RouteLimit(5, 1.0)
#: PATCH /channels/{id}: Discord allows 2 name/topic changes per 10 min; the simulator
#: applies a looser limit to every edit so that tests touching other fields are not slowed.
CHANNEL_EDIT: Final = RouteLimit(5, 5.0)
#: POST /guilds/{id}/channels, per guild.
CHANNEL_CREATE: Final = RouteLimit(5, 5.0)
#: POST .../threads, per channel.
THREAD_CREATE: Final = RouteLimit(10, 10.0)
#: POST /users/@me/channels (opening DMs).
DM_OPEN: Final = RouteLimit(10, 10.0)
#: PATCH /guilds/{id}/members/{id} (and @me): 10 per 10 s per guild.
MEMBER_EDIT: Final = RouteLimit(10, 10.0)
#: PUT/DELETE /guilds/{id}/members/{id}/roles/{id}, per guild.
MEMBER_ROLE: Final = RouteLimit(5, 1.0)
#: Kicks and bans (add and remove), per guild.
MEMBER_REMOVE: Final = RouteLimit(5, 1.0)
#: Role create, edit and delete, per guild.
ROLE_WRITE: Final = RouteLimit(10, 10.0)
#: Application command writes (create, edit, delete, bulk overwrite).
COMMAND_WRITE: Final = RouteLimit(25, 20.0)
#: POST /webhooks/{id}/{token} (interaction follow-ups), per webhook and token.
WEBHOOK_EXECUTE: Final = RouteLimit(5, 2.0)
#: GET/PATCH/DELETE of webhook messages (@original and follow-ups), per webhook and token.
WEBHOOK_MESSAGE: Final = RouteLimit(5, 1.0)
