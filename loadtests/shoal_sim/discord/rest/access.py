"""What a bot may reach: guilds, channels, members, roles and messages, or Discord's error.

A thing that does not exist is 404 with its "Unknown ..." code; a guild or channel
that exists but belongs to another application's guilds is 403 50001 Missing Access,
as Discord answers a bot that is not in the guild.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal_sim.discord.entities import ChannelType
from shoal_sim.discord.rest import errors, hierarchy_rules

if TYPE_CHECKING:
    from shoal_sim.discord.entities import (
        Application,
        Channel,
        Guild,
        Member,
        Message,
        Role,
        User,
    )
    from shoal_sim.discord.world import World

__all__ = [
    "bot_actor",
    "channel_of",
    "guild_of",
    "member_of",
    "message_of",
    "role_of",
    "user_of",
]


def guild_of(world: World, app: Application, guild_id: int) -> Guild:
    """Return a guild the bot is in.

    Raises:
        DiscordError: 404 10004 Unknown Guild, or 403 50001 for another bot's guild.
    """
    guild = world.guild(guild_id)
    if guild is None:
        raise errors.DiscordError(errors.UNKNOWN_GUILD)
    if guild.application_id != app.id:
        raise errors.DiscordError(errors.MISSING_ACCESS)
    return guild


def channel_of(world: World, app: Application, channel_id: int) -> Channel:
    """Return a channel the bot can see: in one of its guilds, or a DM.

    Raises:
        DiscordError: 404 10003 Unknown Channel, or 403 50001 for another bot's guild.
    """
    channel = world.channel(channel_id)
    if channel is None:
        raise errors.DiscordError(errors.UNKNOWN_CHANNEL)
    if channel.guild_id is not None:
        guild = world.guild(channel.guild_id)
        if guild is None:
            raise errors.DiscordError(errors.UNKNOWN_CHANNEL)
        if guild.application_id != app.id:
            raise errors.DiscordError(errors.MISSING_ACCESS)
    elif channel.type != ChannelType.DM:
        raise errors.DiscordError(errors.UNKNOWN_CHANNEL)
    return channel


def member_of(world: World, guild: Guild, user_id: int) -> Member:
    """Return a member of ``guild``.

    Raises:
        DiscordError: 404 10007 Unknown Member.
    """
    _, _, members = world.contents(guild)
    member = members.get(user_id)
    if member is None:
        raise errors.DiscordError(errors.UNKNOWN_MEMBER)
    return member


def role_of(world: World, guild: Guild, role_id: int) -> Role:
    """Return a role of ``guild``.

    Raises:
        DiscordError: 404 10011 Unknown Role.
    """
    roles, _, _ = world.contents(guild)
    role = roles.get(role_id)
    if role is None:
        raise errors.DiscordError(errors.UNKNOWN_ROLE)
    return role


def user_of(world: World, user_id: int) -> User:
    """Return a user.

    Raises:
        DiscordError: 404 10013 Unknown User.
    """
    user = world.user(user_id)
    if user is None:
        raise errors.DiscordError(errors.UNKNOWN_USER)
    return user


def message_of(world: World, channel: Channel, message_id: int) -> Message:
    """Return a kept, non-ephemeral message of ``channel``.

    Raises:
        DiscordError: 404 10008 Unknown Message (ephemeral messages are not in channels).
    """
    message = world.message(channel.id, message_id)
    if message is None or message.flags & _EPHEMERAL:
        raise errors.DiscordError(errors.UNKNOWN_MESSAGE)
    return message


_EPHEMERAL = 1 << 6


def bot_actor(world: World, guild: Guild) -> hierarchy_rules.Actor:
    """Return the guild's bot as the actor of role changes (its roles, ownership)."""
    roles, _ = world.structure(guild)
    bot = world.bot_member(guild)
    return hierarchy_rules.actor_of(
        bot.role_ids, roles, guild.id, is_owner=guild.owner_id == bot.user_id
    )
