"""Bodies of gateway dispatches the simulator emits on its own initiative.

REST-caused events build their bodies in the REST handlers; these are the ones the
control API and the load generator create: messages from users, bots and webhooks,
interactions, guilds joined, updated and left, members joining, updating and leaving,
roles created, updated and deleted. Member events need GUILD_MEMBERS (privileged, so
only an approved bot gets them, as on Discord); guild and role events GUILDS.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import intents as intent_bits
from shoal_sim.discord import payloads
from shoal_sim.discord.entities import Interaction, InteractionOutcome, Member, Message, User
from shoal_sim.discord.snowflakes import shard_for, snowflake_time_ms

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Guild, Role
    from shoal_sim.discord.server import Simulator

__all__ = [
    "emit_guild_joined",
    "emit_guild_left",
    "emit_guild_updated",
    "emit_interaction",
    "emit_member_added",
    "emit_member_removed",
    "emit_member_updated",
    "emit_role_deleted",
    "emit_role_event",
    "emit_user_message",
    "shard_of",
]

JSON = dict[str, Any]
#: How long after an early wake-up a deadline is looked at again (well above any clock
#: resolution, well below anything a test would notice).
_EARLY_WAKE_RETRY_S: Final = 0.001


def emit_user_message(
    sim: Simulator,
    *,
    channel_id: int,
    author_id: int,
    content: str,
    guild_id: int | None,
    webhook_id: int | None = None,
) -> tuple[Message, int]:
    """Create a message from a user and dispatch MESSAGE_CREATE; returns it and its reach.

    Guild messages go to every covering session with GUILD_MESSAGES (content only with
    MESSAGE_CONTENT); DMs go to shard 0 with DIRECT_MESSAGES. The author may be a bot
    user (its user object says ``bot: true``) or, with ``webhook_id``, a webhook: then
    ``author_id`` is the webhook's id, the body carries ``webhook_id`` and no member, as
    Discord sends webhook messages. This is the load generator's hot path, so the body
    is built directly, with the author's user and member objects cached by value (a
    changed member gets a fresh entry).
    """
    world = sim.world
    message = Message(
        id=world.ids.next_id(),
        channel_id=channel_id,
        guild_id=guild_id,
        author_id=author_id,
        content=content,
        webhook_id=webhook_id,
    )
    world.add_message(message, is_from_user=True)
    sim.stats.messages_injected += 1
    author = payloads.user_of(world, author_id)
    body: JSON = {
        "type": 0,
        "content": content,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "timestamp": payloads.iso_timestamp(snowflake_time_ms(message.id)),
        "edited_timestamp": None,
        "flags": 0,
        "components": [],
        "id": str(message.id),
        "channel_id": str(channel_id),
        "author": _user_json(author),
        "pinned": False,
        "mention_everyone": False,
        "tts": False,
    }
    if webhook_id is not None:
        body["webhook_id"] = str(webhook_id)
    if guild_id is None:
        app = next(iter(world.applications.values()))
        reached = sim.gateway.dispatch_direct(
            app.id, "MESSAGE_CREATE", body, intent=intent_bits.DIRECT_MESSAGES
        )
        return message, reached
    guild = world.guild(guild_id)
    if guild is None:
        msg = f"unknown guild {guild_id}"
        raise LookupError(msg)
    _, _, members = world.contents(guild)
    member = members.get(author_id)
    body["guild_id"] = str(guild_id)
    if member is not None and webhook_id is None:
        body["member"] = _member_json(
            member.user_id,
            member.nick,
            tuple(member.role_ids),
            member.joined_at_ms,
            member.communication_disabled_until_ms,
            is_deaf=member.is_deaf,
            is_mute=member.is_mute,
            is_pending=member.is_pending,
            flags=member.flags,
        )
    reached = sim.gateway.dispatch_guild(
        guild.application_id,
        guild_id,
        "MESSAGE_CREATE",
        body,
        intent=intent_bits.GUILD_MESSAGES,
        strip_content=True,
    )
    return message, reached


def _user_json(user: User) -> JSON:
    return _user_json_of(user.id, user.username, user.global_name, user.avatar, is_bot=user.is_bot)


@functools.lru_cache(maxsize=65_536)
def _user_json_of(
    user_id: int, username: str, global_name: str | None, avatar: str | None, *, is_bot: bool
) -> JSON:
    return payloads.user_json(
        User(id=user_id, username=username, global_name=global_name, avatar=avatar, is_bot=is_bot)
    )


@functools.lru_cache(maxsize=65_536)
def _member_json(  # noqa: PLR0913 - a cache key: every field of the member
    user_id: int,
    nick: str | None,
    role_ids: tuple[int, ...],
    joined_at_ms: int,
    timeout_ms: int | None,
    *,
    is_deaf: bool,
    is_mute: bool,
    is_pending: bool,
    flags: int,
) -> JSON:
    member = Member(
        user_id=user_id,
        joined_at_ms=joined_at_ms,
        nick=nick,
        role_ids=list(role_ids),
        communication_disabled_until_ms=timeout_ms,
        is_deaf=is_deaf,
        is_mute=is_mute,
        is_pending=is_pending,
        flags=flags,
    )
    return payloads.member_json(member, User(id=user_id, username=""), with_user=False)


def emit_interaction(
    sim: Simulator,
    *,
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    interaction_type: int,
    data: JSON,
    source_message_id: int | None = None,
    application_id: int | None = None,
) -> tuple[Interaction, int]:
    """Create an interaction, dispatch INTERACTION_CREATE to every covering session, count it.

    It is counted pending (its deadline settled by a timer) or, when no session covered
    its guild (shard 0 for a DM), undelivered for good.
    """
    world = sim.world
    if guild_id is not None:
        guild = world.guild(guild_id)
        if guild is None:
            msg = f"unknown guild {guild_id}"
            raise LookupError(msg)
        app_id = guild.application_id
    else:
        app_id = application_id or next(iter(world.applications))
    interaction = Interaction(
        id=world.ids.next_id(),
        token="aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
        application_id=app_id,
        type=interaction_type,
        guild_id=guild_id,
        channel_id=channel_id,
        user_id=user_id,
        data=data,
        created_at=time.monotonic(),
        source_message_id=source_message_id,
        created_at_unix=time.time(),
    )
    world.add_interaction(interaction)
    body = payloads.interaction_json(interaction, world, sim.base_url)
    if guild_id is None:
        reached = sim.gateway.dispatch_direct(
            app_id, "INTERACTION_CREATE", body, intent=intent_bits.NONE
        )
    else:
        reached = sim.gateway.dispatch_guild(
            app_id, guild_id, "INTERACTION_CREATE", body, intent=intent_bits.NONE
        )
    interaction.sessions_reached = reached
    if reached:
        interaction.dispatched_at = time.monotonic()
    sim.stats.count_injected(interaction, is_delivered=bool(reached))
    if reached:
        _settle_at_deadline(sim, interaction, sim.settings.interaction_deadline_s)
    return interaction, reached


def _settle_at_deadline(sim: Simulator, interaction: Interaction, delay_s: float) -> None:
    """Arrange for the interaction's deadline to be settled once ``delay_s`` has passed."""
    asyncio.get_running_loop().call_later(delay_s, _on_deadline, sim, interaction)


def _on_deadline(sim: Simulator, interaction: Interaction) -> None:
    """At the deadline: count every interaction whose deadline passed with no answer.

    The loop may wake a hair before the deadline by the callback verdict's measure (its
    clock resolution); then the interaction is looked at again a moment later.
    """
    now = time.monotonic()
    deadline_s = sim.settings.interaction_deadline_s
    sim.stats.expire_due(now=now, deadline_s=deadline_s)
    dispatched_at = interaction.dispatched_at
    if interaction.outcome is InteractionOutcome.PENDING and dispatched_at is not None:
        remaining_s = dispatched_at + deadline_s - now
        _settle_at_deadline(sim, interaction, max(remaining_s, 0.0) + _EARLY_WAKE_RETRY_S)


def emit_guild_joined(sim: Simulator, guild: Guild) -> int:
    """Dispatch GUILD_CREATE (no ``unavailable`` key: a join) to the covering sessions."""
    app = sim.world.applications[guild.application_id]
    bot = sim.world.user(app.bot_user_id)
    assert bot is not None  # noqa: S101 - every application has its bot user
    body = payloads.guild_create_json(guild, sim.world, bot_user=bot)
    body.pop("unavailable", None)
    return sim.gateway.dispatch_guild(
        app.id, guild.id, "GUILD_CREATE", body, intent=intent_bits.GUILDS
    )


def emit_guild_left(sim: Simulator, guild: Guild) -> int:
    """Dispatch GUILD_DELETE (no ``unavailable`` key: the bot left) to the covering sessions."""
    return sim.gateway.dispatch_guild(
        guild.application_id,
        guild.id,
        "GUILD_DELETE",
        {"id": str(guild.id)},
        intent=intent_bits.GUILDS,
    )


def shard_of(guild_id: int, shard_count: int) -> int:
    """Return the shard of a guild (re-exported for control-API answers)."""
    return shard_for(guild_id, shard_count)


def _member_body(sim: Simulator, guild: Guild, member: Member) -> JSON:
    user = payloads.user_of(sim.world, member.user_id)
    return payloads.member_json(member, user) | {"guild_id": str(guild.id)}


def emit_member_added(sim: Simulator, guild: Guild, member: Member) -> int:
    """Dispatch GUILD_MEMBER_ADD (the member object with ``guild_id``); returns its reach."""
    return sim.gateway.dispatch_guild(
        guild.application_id,
        guild.id,
        "GUILD_MEMBER_ADD",
        _member_body(sim, guild, member),
        intent=intent_bits.GUILD_MEMBERS,
    )


def emit_member_updated(sim: Simulator, guild: Guild, member: Member) -> int:
    """Dispatch GUILD_MEMBER_UPDATE with the member as it is now; returns its reach."""
    return sim.gateway.dispatch_guild(
        guild.application_id,
        guild.id,
        "GUILD_MEMBER_UPDATE",
        _member_body(sim, guild, member),
        intent=intent_bits.GUILD_MEMBERS,
    )


def emit_member_removed(sim: Simulator, guild: Guild, user_id: int) -> int:
    """Dispatch GUILD_MEMBER_REMOVE (``guild_id`` and the user); returns its reach."""
    user = payloads.user_of(sim.world, user_id)
    return sim.gateway.dispatch_guild(
        guild.application_id,
        guild.id,
        "GUILD_MEMBER_REMOVE",
        {"guild_id": str(guild.id), "user": payloads.user_json(user)},
        intent=intent_bits.GUILD_MEMBERS,
    )


def emit_role_event(sim: Simulator, guild: Guild, event: str, role: Role) -> int:
    """Dispatch GUILD_ROLE_CREATE or GUILD_ROLE_UPDATE for ``role``; returns its reach."""
    return sim.gateway.dispatch_guild(
        guild.application_id,
        guild.id,
        event,
        {"guild_id": str(guild.id), "role": payloads.role_json(role)},
        intent=intent_bits.GUILDS,
    )


def emit_role_deleted(sim: Simulator, guild: Guild, role_id: int) -> int:
    """Dispatch GUILD_ROLE_DELETE; returns its reach."""
    return sim.gateway.dispatch_guild(
        guild.application_id,
        guild.id,
        "GUILD_ROLE_DELETE",
        {"guild_id": str(guild.id), "role_id": str(role_id)},
        intent=intent_bits.GUILDS,
    )


def emit_guild_updated(sim: Simulator, guild: Guild) -> int:
    """Dispatch GUILD_UPDATE (the guild object, features included); returns its reach."""
    return sim.gateway.dispatch_guild(
        guild.application_id,
        guild.id,
        "GUILD_UPDATE",
        payloads.guild_json(guild, sim.world),
        intent=intent_bits.GUILDS,
    )
