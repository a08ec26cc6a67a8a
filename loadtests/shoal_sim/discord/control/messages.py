"""Control routes for messages: inject one, read back the bot's, fetch attachments.

Owns ``POST``/``GET /_sim/messages`` and
``GET /_sim/attachments/{channel_id}/{attachment_id}/{filename}``. An injected message
comes from a user (``user_id``, a generated member by default), from a bot
(``"bot": true``: ``user_id`` must then name a bot user, or a stand-in bot user is
used), or from a webhook (``webhook_id``, with ``webhook_name``: the author is the
webhook, ``webhook_id`` is set and there is no member, as on Discord); without
``guild_id`` it is a DM from ``user_id``. Messages are the world's; MESSAGE_CREATE is
:mod:`shoal_sim.discord.events`'.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from aiohttp import web

from shoal_sim.discord import events, payloads
from shoal_sim.discord.control import inputs

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shoal_sim.discord.entities import Message
    from shoal_sim.discord.server import Simulator

__all__ = ["MessageHandlers"]


@dataclasses.dataclass(frozen=True, slots=True)
class MessageHandlers:
    """Message handlers bound to one simulator."""

    sim: Simulator

    async def inject_message(self, request: web.Request) -> web.Response:
        """Post a user's message and dispatch MESSAGE_CREATE."""
        body = await inputs.read_body(request)
        guild, channel_id, user_id = inputs.place_of(self.sim, body)
        content = body.get("content", "")
        if not isinstance(content, str):
            return inputs.error_response("content must be a string")
        webhook_id = inputs.optional_int_field(body, "webhook_id")
        if webhook_id is not None:
            if guild is None:
                return inputs.error_response("webhooks post in guild channels: give guild_id")
            user_id = self._webhook_user(webhook_id, body)
        elif inputs.bool_field(body, "bot", default=False):
            user_id = self._bot_author(body)
        message, reached = events.emit_user_message(
            self.sim,
            channel_id=channel_id,
            author_id=user_id,
            content=content,
            guild_id=None if guild is None else guild.id,
            webhook_id=webhook_id,
        )
        return inputs.json_response(
            {"id": str(message.id), "channel_id": str(channel_id), "sessions_reached": reached}, 201
        )

    def _webhook_user(self, webhook_id: int, body: inputs.JSON) -> int:
        """Return the author id of a webhook's message: the webhook's, as a bot user."""
        name = body.get("webhook_name", "Captain Hook")
        if not isinstance(name, str) or not name:
            msg = "webhook_name must be a non-empty string"
            raise inputs.BadInputError(msg)
        world = self.sim.world
        known = world.user(webhook_id)
        if known is None:
            world.add_user(name, is_bot=True, user_id=webhook_id)
        elif not known.is_bot:
            msg = f"webhook_id {webhook_id} is a user's id"
            raise inputs.BadInputError(msg)
        return webhook_id

    def _bot_author(self, body: inputs.JSON) -> int:
        """Return the author id of a bot's message: ``user_id`` if a bot, else a stand-in."""
        user_id = inputs.optional_int_field(body, "user_id")
        if user_id is None:
            return self.sim.world.stand_in_bot().id
        user = self.sim.world.user(user_id)
        if user is None or not user.is_bot:
            msg = (
                f"user {user_id} is not a bot user (add one with POST /_sim/guilds/{{id}}/members)"
            )
            raise inputs.BadInputError(msg)
        return user_id

    async def messages(self, request: web.Request) -> web.Response:
        """Answer the latest messages, of one channel or all, of the bot or anyone."""
        query = dict(request.query)
        world, base = self.sim.world, self.sim.base_url
        channel_id = inputs.optional_int_field(query, "channel_id")
        by_bot = query.get("author") == "bot"
        bot_ids = {a.bot_user_id for a in world.applications.values()} | set(world.applications)
        found = []
        pool: Iterable[Message] = (
            world.messages[channel_id].values()
            if channel_id is not None and channel_id in world.messages
            else ([] if channel_id is not None else world.all_messages())
        )
        for message in pool:
            if by_bot and message.author_id not in bot_ids and message.webhook_id is None:
                continue
            found.append(payloads.message_json(message, world, base))
        limit = inputs.int_field(query, "limit", 100)
        if limit < 1:
            return inputs.error_response("limit must be at least 1")
        return inputs.json_response(found[-limit:])

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        """Answer an attachment's bytes."""
        match = dict(request.match_info)
        channel_id, attachment_id = (
            inputs.int_field(match, "channel_id"),
            inputs.int_field(match, "attachment_id"),
        )
        for message in self.sim.world.messages.get(channel_id, {}).values():
            for attachment in message.attachments:
                if attachment.id == attachment_id:
                    return web.Response(
                        body=attachment.data,
                        content_type=attachment.content_type or "application/octet-stream",
                    )
        return inputs.error_response("unknown attachment", 404)
