"""Channel messages: post (JSON or multipart with files), list, read, edit, delete.

Bodies are checked by :mod:`.message_rules`; posting, edits and their gateway events
are :mod:`.posting`'s. Files are kept as bytes on the message and served back from
``/_sim/attachments``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal_sim.discord import payloads
from shoal_sim.discord.entities import ChannelType
from shoal_sim.discord.rest import access, errors, limits, message_rules, posting
from shoal_sim.discord.rest.calls import json_response, no_content
from shoal_sim.discord.rest.endpoints import Endpoint
from shoal_sim.discord.rest.message_rules import EPHEMERAL

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Channel
    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS"]

_MAX_PAGE: Final = 100
_DEFAULT_PAGE: Final = 50


def _text_channel(call: Call) -> Channel:
    channel = access.channel_of(call.world, call.bot, call.snowflake("channel_id"))
    if channel.type == ChannelType.GUILD_CATEGORY:
        raise errors.DiscordError(errors.NON_TEXT_CHANNEL)
    return channel


async def create_message(call: Call) -> web.Response:
    """POST /channels/{channel_id}/messages."""
    channel = _text_channel(call)
    body = await call.body()
    draft = message_rules.parse_draft(body.json, upload_count=len(body.uploads))
    message_rules.check_not_empty(draft, file_count=len(body.uploads))
    message = posting.post_message(
        call.sim,
        call.bot,
        channel_id=channel.id,
        guild_id=channel.guild_id,
        draft=draft,
        uploads=body.uploads,
    )
    return json_response(payloads.message_json(message, call.world, call.sim.base_url))


async def list_messages(call: Call) -> web.Response:
    """GET /channels/{channel_id}/messages: newest first, ``limit`` with before/after/around."""
    channel = _text_channel(call)
    limit = call.query_int("limit", default=_DEFAULT_PAGE, low=1, high=_MAX_PAGE)
    before = call.query_snowflake("before")
    after = call.query_snowflake("after")
    around = call.query_snowflake("around")
    kept = call.world.messages.get(channel.id)
    visible = sorted(
        (m for m in (kept or {}).values() if not m.flags & EPHEMERAL),
        key=lambda m: m.id,
        reverse=True,
    )
    if around is not None:
        older = [m for m in visible if m.id <= around][: (limit + 1) // 2]
        newer = [m for m in visible if m.id > around][-(limit // 2) :] if limit > 1 else []
        page = newer + older
    elif after is not None:
        page = [m for m in visible if m.id > after][-limit:]
    else:
        page = [m for m in visible if before is None or m.id < before][:limit]
    return json_response([payloads.message_json(m, call.world, call.sim.base_url) for m in page])


async def get_message(call: Call) -> web.Response:
    """GET /channels/{channel_id}/messages/{message_id}."""
    channel = _text_channel(call)
    message = access.message_of(call.world, channel, call.snowflake("message_id"))
    return json_response(payloads.message_json(message, call.world, call.sim.base_url))


async def edit_message(call: Call) -> web.Response:
    """PATCH /channels/{channel_id}/messages/{message_id}: only the bot's own messages."""
    channel = _text_channel(call)
    message = access.message_of(call.world, channel, call.snowflake("message_id"))
    if message.author_id != call.bot.bot_user_id:
        raise errors.DiscordError(errors.CANNOT_EDIT_OTHERS_MESSAGE)
    body = await call.body()
    draft = message_rules.parse_draft(body.json, upload_count=len(body.uploads))
    posting.apply_edit(call.sim, call.bot, message, draft, body.uploads)
    return json_response(payloads.message_json(message, call.world, call.sim.base_url))


async def delete_message(call: Call) -> web.Response:
    """DELETE /channels/{channel_id}/messages/{message_id}."""
    channel = _text_channel(call)
    message = access.message_of(call.world, channel, call.snowflake("message_id"))
    posting.delete_message(call.sim, call.bot, message)
    return no_content()


_MESSAGES: Final = "/channels/{channel_id}/messages"
_MESSAGE: Final = _MESSAGES + "/{message_id}"
_MAJOR: Final = ("channel_id",)

ENDPOINTS: Final = (
    Endpoint("POST", _MESSAGES, create_message, limits.MESSAGE_CREATE, _MAJOR),
    Endpoint("GET", _MESSAGES, list_messages, limits.READ, _MAJOR),
    Endpoint("GET", _MESSAGE, get_message, limits.READ, _MAJOR),
    Endpoint("PATCH", _MESSAGE, edit_message, limits.MESSAGE_EDIT, _MAJOR),
    Endpoint("DELETE", _MESSAGE, delete_message, limits.MESSAGE_DELETE, _MAJOR),
)
