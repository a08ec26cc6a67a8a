"""Channels and threads: read and edit a channel, create and list guild channels, threads.

Creations and edits reach the guild's sessions with intent GUILDS: CHANNEL_CREATE,
CHANNEL_UPDATE, THREAD_CREATE (``newly_created``), THREAD_UPDATE. A thread started
from a message takes the message's id, as on Discord.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import intents, payloads
from shoal_sim.discord.entities import Channel, ChannelType
from shoal_sim.discord.rest import access, channel_rules, errors, limits
from shoal_sim.discord.rest.calls import json_response, parse_snowflake
from shoal_sim.discord.rest.endpoints import Endpoint

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS"]

JSON = dict[str, Any]


def _announce(call: Call, channel: Channel, event: str, extra: JSON | None = None) -> None:
    if channel.guild_id is None:
        return
    body = payloads.channel_json(channel) | (extra or {})
    call.sim.gateway.dispatch_guild(
        call.bot.id, channel.guild_id, event, body, intent=intents.GUILDS
    )


def _parent_id(call: Call, guild: Guild, body: JSON) -> int | None:
    """Return the ``parent_id`` of a body: a category of the guild, or None."""
    raw = body.get("parent_id")
    if raw is None:
        return None
    parent_id = parse_snowflake(raw, ("parent_id",))
    parent = call.world.contents(guild)[1].get(parent_id)
    if parent is None or parent.type != ChannelType.GUILD_CATEGORY:
        raise errors.invalid_field(
            ("parent_id",), "CHANNEL_PARENT_INVALID", "Category does not exist"
        )
    return parent_id


async def get_channel(call: Call) -> web.Response:
    """GET /channels/{channel_id}."""
    channel = access.channel_of(call.world, call.bot, call.snowflake("channel_id"))
    return json_response(payloads.channel_json(channel))


async def edit_channel(call: Call) -> web.Response:
    """PATCH /channels/{channel_id}: name, topic, nsfw, slowmode, position, parent."""
    channel = access.channel_of(call.world, call.bot, call.snowflake("channel_id"))
    if channel.guild_id is None:
        raise errors.DiscordError(errors.DM_CHANNEL_ACTION)
    body = await call.object_body()
    channel_rules.check_channel(body, is_create=False).raise_if_any()
    guild = access.guild_of(call.world, call.bot, channel.guild_id)
    if "parent_id" in body and channel.type not in ChannelType.THREADS:
        channel.parent_id = _parent_id(call, guild, body)
    if body.get("name") is not None:
        channel.name = channel_rules.channel_name(body["name"], channel.type)
    if "topic" in body:
        channel.topic = body["topic"]
    if body.get("nsfw") is not None:
        channel.is_nsfw = bool(body["nsfw"])
    if body.get("rate_limit_per_user") is not None:
        channel.rate_limit_per_user = body["rate_limit_per_user"]
    if isinstance(body.get("position"), int):
        channel.position = body["position"]
    is_thread = channel.type in ChannelType.THREADS
    _announce(call, channel, "THREAD_UPDATE" if is_thread else "CHANNEL_UPDATE")
    return json_response(payloads.channel_json(channel))


async def list_guild_channels(call: Call) -> web.Response:
    """GET /guilds/{guild_id}/channels (threads are not listed, as on Discord)."""
    guild = access.guild_of(call.world, call.bot, call.snowflake("guild_id"))
    channels = call.world.contents(guild)[1].values()
    return json_response(
        [payloads.channel_json(c) for c in channels if c.type not in ChannelType.THREADS]
    )


async def create_guild_channel(call: Call) -> web.Response:
    """POST /guilds/{guild_id}/channels."""
    guild = access.guild_of(call.world, call.bot, call.snowflake("guild_id"))
    body = await call.object_body()
    channel_rules.check_channel(body, is_create=True).raise_if_any()
    channel_type = body.get("type", ChannelType.GUILD_TEXT)
    channel = Channel(
        id=call.world.ids.next_id(),
        type=channel_type,
        guild_id=guild.id,
        name=channel_rules.channel_name(body["name"], channel_type),
        position=body["position"] if isinstance(body.get("position"), int) else 0,
        parent_id=_parent_id(call, guild, body),
        topic=body.get("topic"),
        is_nsfw=bool(body.get("nsfw")),
        rate_limit_per_user=body.get("rate_limit_per_user") or 0,
    )
    call.world.add_channel(channel)
    _announce(call, channel, "CHANNEL_CREATE")
    return json_response(payloads.channel_json(channel), 201)


def _thread_parent(call: Call) -> Channel:
    channel = access.channel_of(call.world, call.bot, call.snowflake("channel_id"))
    if channel.type not in channel_rules.THREAD_PARENT_TYPES:
        raise errors.DiscordError(errors.WRONG_CHANNEL_TYPE)
    return channel


def _new_thread(
    call: Call, parent: Channel, body: JSON, *, thread_id: int, thread_type: int
) -> Channel:
    thread = Channel(
        id=thread_id,
        type=thread_type,
        guild_id=parent.guild_id,
        name=body["name"],
        parent_id=parent.id,
        owner_id=call.bot.bot_user_id,
        rate_limit_per_user=body.get("rate_limit_per_user") or 0,
    )
    call.world.add_channel(thread)
    _announce(call, thread, "THREAD_CREATE", {"newly_created": True})
    return thread


def _default_thread_type(parent: Channel, *, is_from_message: bool) -> int:
    if parent.type == ChannelType.GUILD_ANNOUNCEMENT:
        return ChannelType.ANNOUNCEMENT_THREAD
    return ChannelType.PUBLIC_THREAD if is_from_message else ChannelType.PRIVATE_THREAD


async def create_thread(call: Call) -> web.Response:
    """POST /channels/{channel_id}/threads: a thread with no starter message."""
    parent = _thread_parent(call)
    body = await call.object_body()
    channel_rules.check_thread(body, parent_type=parent.type).raise_if_any()
    thread_type = body.get("type") or _default_thread_type(parent, is_from_message=False)
    thread = _new_thread(
        call, parent, body, thread_id=call.world.ids.next_id(), thread_type=thread_type
    )
    return json_response(payloads.channel_json(thread), 201)


async def create_thread_from_message(call: Call) -> web.Response:
    """POST /channels/{channel_id}/messages/{message_id}/threads."""
    parent = _thread_parent(call)
    message = access.message_of(call.world, parent, call.snowflake("message_id"))
    body = await call.object_body()
    channel_rules.check_thread(body | {"type": None}, parent_type=parent.type).raise_if_any()
    if call.world.channel(message.id) is not None:
        raise errors.DiscordError(errors.THREAD_ALREADY_CREATED)
    thread = _new_thread(
        call,
        parent,
        body,
        thread_id=message.id,
        thread_type=_default_thread_type(parent, is_from_message=True),
    )
    return json_response(payloads.channel_json(thread), 201)


_CHANNEL_MAJOR: Final = ("channel_id",)
_GUILD_MAJOR: Final = ("guild_id",)

ENDPOINTS: Final = (
    Endpoint("GET", "/channels/{channel_id}", get_channel, limits.READ, _CHANNEL_MAJOR),
    Endpoint("PATCH", "/channels/{channel_id}", edit_channel, limits.CHANNEL_EDIT, _CHANNEL_MAJOR),
    Endpoint("GET", "/guilds/{guild_id}/channels", list_guild_channels, limits.READ, _GUILD_MAJOR),
    Endpoint(
        "POST",
        "/guilds/{guild_id}/channels",
        create_guild_channel,
        limits.CHANNEL_CREATE,
        _GUILD_MAJOR,
    ),
    Endpoint(
        "POST",
        "/channels/{channel_id}/threads",
        create_thread,
        limits.THREAD_CREATE,
        _CHANNEL_MAJOR,
    ),
    Endpoint(
        "POST",
        "/channels/{channel_id}/messages/{message_id}/threads",
        create_thread_from_message,
        limits.THREAD_CREATE,
        _CHANNEL_MAJOR,
    ),
)
