"""Messages the bot posts, edits and deletes, and the gateway events that follow.

Shared by channel messages, interaction responses and webhook follow-ups. Guild
messages reach sessions with GUILD_MESSAGES, DMs shard 0 sessions with
DIRECT_MESSAGES; ephemeral messages reach no one. Sessions without MESSAGE_CONTENT
get an empty ``content`` except for the bot's own messages, which always keep it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from shoal_sim.discord import intents, payloads
from shoal_sim.discord.entities import Attachment, Message
from shoal_sim.discord.rest.message_rules import EPHEMERAL, SENDABLE_FLAGS
from shoal_sim.discord.snowflakes import snowflake_time_ms

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Application, Guild
    from shoal_sim.discord.rest.bodies import Upload
    from shoal_sim.discord.rest.message_rules import Draft
    from shoal_sim.discord.server import Simulator
    from shoal_sim.discord.world import World

__all__ = [
    "apply_edit",
    "delete_message",
    "emit_message",
    "new_attachments",
    "post_message",
    "purge_author",
]

JSON = dict[str, Any]


def post_message(  # noqa: PLR0913 - keyword-only fields of the message to post
    sim: Simulator,
    app: Application,
    *,
    channel_id: int,
    guild_id: int | None,
    draft: Draft,
    uploads: tuple[Upload, ...],
    flags: int = 0,
    message_type: int = 0,
    interaction_id: int | None = None,
) -> Message:
    """Create, keep and announce a message from the bot of ``app``.

    A message tied to an interaction is a webhook message of the application.
    """
    world = sim.world
    message = Message(
        id=world.ids.next_id(),
        channel_id=channel_id,
        guild_id=guild_id,
        author_id=app.bot_user_id,
        content=draft.content or "",
        embeds=draft.embeds or [],
        components=draft.components or [],
        attachments=new_attachments(world, draft, uploads),
        flags=(draft.flags or 0) | flags,
        webhook_id=app.id if interaction_id is not None else None,
        interaction_id=interaction_id,
        type=message_type,
    )
    world.add_message(message)
    emit_message(sim, app, message, "MESSAGE_CREATE")
    return message


def apply_edit(
    sim: Simulator,
    app: Application,
    message: Message,
    draft: Draft,
    uploads: tuple[Upload, ...],
    *,
    clear_flags: int = 0,
) -> None:
    """Apply an edit to ``message`` and announce it with MESSAGE_UPDATE."""
    if draft.content is not None:
        message.content = draft.content
    if draft.embeds is not None:
        message.embeds = draft.embeds
    if draft.components is not None:
        message.components = draft.components
    if draft.flags is not None:
        message.flags = (message.flags & ~SENDABLE_FLAGS) | (draft.flags & SENDABLE_FLAGS)
    message.flags &= ~clear_flags
    if draft.attachments is not None:
        kept_ids = {str(a.get("id")) for a in draft.attachments}
        message.attachments = [a for a in message.attachments if str(a.id) in kept_ids]
    message.attachments.extend(new_attachments(sim.world, draft, uploads))
    message.edited_at_ms = int(time.time() * 1000)
    emit_message(sim, app, message, "MESSAGE_UPDATE")


def delete_message(sim: Simulator, app: Application, message: Message) -> None:
    """Forget ``message`` and announce MESSAGE_DELETE."""
    kept = sim.world.messages.get(message.channel_id)
    if kept is not None:
        kept.pop(message.id, None)
    if message.flags & EPHEMERAL:
        return
    body: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
    _dispatch(sim, app, message, "MESSAGE_DELETE", body, strip_content=False)


def purge_author(
    sim: Simulator, app: Application, guild: Guild, author_id: int, since_ms: int
) -> int:
    """Delete an author's kept guild messages sent since ``since_ms`` (a ban's purge).

    Each channel that lost messages gets one MESSAGE_DELETE_BULK, as Discord sends.

    Returns:
        How many messages were deleted.
    """
    world = sim.world
    deleted = 0
    for channel_id in list(world.contents(guild)[1]):
        kept = world.messages.get(channel_id)
        if not kept:
            continue
        doomed = [
            m.id
            for m in kept.values()
            if m.author_id == author_id and snowflake_time_ms(m.id) >= since_ms
        ]
        for message_id in doomed:
            del kept[message_id]
        if doomed:
            deleted += len(doomed)
            body = {
                "ids": [str(i) for i in doomed],
                "channel_id": str(channel_id),
                "guild_id": str(guild.id),
            }
            sim.gateway.dispatch_guild(
                app.id, guild.id, "MESSAGE_DELETE_BULK", body, intent=intents.GUILD_MESSAGES
            )
    return deleted


def new_attachments(world: World, draft: Draft, uploads: tuple[Upload, ...]) -> list[Attachment]:
    """Keep uploaded files as attachments, named as the body's ``attachments[]`` says."""
    described = {str(a.get("id")): a for a in draft.attachments or []}
    kept = []
    for upload in uploads:
        meta = described.get(str(upload.index), {})
        filename = meta.get("filename") if isinstance(meta.get("filename"), str) else None
        kept.append(
            Attachment(
                id=world.ids.next_id(),
                filename=filename or upload.filename,
                content_type=upload.content_type,
                data=upload.data,
            )
        )
    return kept


def emit_message(sim: Simulator, app: Application, message: Message, event: str) -> None:
    """Dispatch MESSAGE_CREATE or MESSAGE_UPDATE for ``message`` (not if ephemeral)."""
    if message.flags & EPHEMERAL:
        return
    world = sim.world
    body = payloads.message_json(message, world, sim.base_url)
    if message.guild_id is not None:
        body["guild_id"] = str(message.guild_id)
        guild = world.guild(message.guild_id)
        author = world.user(message.author_id)
        if guild is not None and author is not None:
            member = world.contents(guild)[2].get(message.author_id)
            if member is not None:
                body["member"] = payloads.member_json(member, author, with_user=False)
    # The bot's own messages keep their content for every session.
    _dispatch(sim, app, message, event, body, strip_content=message.author_id != app.bot_user_id)


def _dispatch(
    sim: Simulator,
    app: Application,
    message: Message,
    event: str,
    body: JSON,
    *,
    strip_content: bool,
) -> None:
    if message.guild_id is None:
        sim.gateway.dispatch_direct(app.id, event, body, intent=intents.DIRECT_MESSAGES)
        return
    body.setdefault("guild_id", str(message.guild_id))
    sim.gateway.dispatch_guild(
        app.id,
        message.guild_id,
        event,
        body,
        intent=intents.GUILD_MESSAGES,
        strip_content=strip_content,
    )
