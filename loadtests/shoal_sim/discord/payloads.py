"""Discord JSON shapes for the simulator's records, as REST and the gateway send them.

Shapes follow Discord's OpenAPI spec (``discord-openapi.json``; checked by
``tests/integration/sim/test_rest_openapi.py``) and what hikari deserialises.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

from shoal_sim.discord.entities import ChannelType, Member, User

if TYPE_CHECKING:
    from shoal_sim.discord.entities import (
        Application,
        Attachment,
        Ban,
        Channel,
        Guild,
        Interaction,
        Message,
        Role,
        VoiceState,
    )
    from shoal_sim.discord.world import World

__all__ = [
    "application_json",
    "attachment_json",
    "ban_json",
    "channel_json",
    "guild_create_json",
    "guild_json",
    "iso_timestamp",
    "member_json",
    "message_json",
    "numbered_components",
    "role_json",
    "user_json",
    "user_of",
    "voice_state_json",
]

JSON = dict[str, Any]


@functools.lru_cache(maxsize=4096)
def _iso_second(unix_s: int) -> str:
    return dt.datetime.fromtimestamp(unix_s, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_timestamp(unix_ms: int) -> str:
    """Format Unix milliseconds as Discord's ISO 8601 timestamps (``...T12:00:00.123000+00:00``).

    The seconds part is cached: the load generator stamps tens of thousands of events a
    second and ``datetime`` formatting would be a third of their cost.
    """
    unix_s, ms = divmod(unix_ms, 1000)
    return f"{_iso_second(unix_s)}.{ms:03d}000+00:00"


def user_of(world: World, user_id: int) -> User:
    """Return the world's user, or a stand-in named ``user<id>`` for one it never generated.

    Discord knows every user that can act, and always sends a complete user object
    (hikari reads ``username`` and ``discriminator`` unconditionally); ids given to the
    control API need not be generated members.
    """
    user = world.user(user_id)
    return user if user is not None else User(id=user_id, username=f"user{user_id}")


def user_json(user: User) -> JSON:
    """Return a user object."""
    payload: JSON = {
        "id": str(user.id),
        "username": user.username,
        "avatar": user.avatar,
        "discriminator": "0",
        "public_flags": 0,
        "flags": 0,
        "global_name": user.global_name,
        "primary_guild": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "banner": None,
        "accent_color": None,
        "clan": None,
    }
    if user.is_bot:
        payload["bot"] = True
    return payload


def role_json(role: Role) -> JSON:
    """Return a role object (with ``tags.bot_id`` for a bot's managed role, as Discord sends)."""
    payload: JSON = {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.is_hoisted,
        "managed": role.is_managed,
        "mentionable": role.is_mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if role.bot_id is not None:
        payload["tags"] = {"bot_id": str(role.bot_id)}
    return payload


def member_json(member: Member, user: User, *, with_user: bool = True) -> JSON:
    """Return a guild member object (``pending`` is membership screening; no guild avatar)."""
    payload: JSON = {
        "avatar": None,
        "banner": None,
        "communication_disabled_until": (
            None
            if member.communication_disabled_until_ms is None
            else iso_timestamp(member.communication_disabled_until_ms)
        ),
        "flags": member.flags,
        "joined_at": iso_timestamp(member.joined_at_ms),
        "nick": member.nick,
        "pending": member.is_pending,
        "premium_since": None,
        "roles": [str(r) for r in member.role_ids],
        "mute": member.is_mute,
        "deaf": member.is_deaf,
    }
    if with_user:
        payload["user"] = user_json(user)
    return payload


def channel_json(channel: Channel) -> JSON:
    """Return a channel, thread or DM channel object."""
    payload: JSON = {
        "id": str(channel.id),
        "type": channel.type,
        "flags": 0,
        "last_message_id": None
        if channel.last_message_id is None
        else str(channel.last_message_id),
    }
    if channel.guild_id is None:
        payload["recipients"] = [
            {
                "id": str(r),
                "username": f"user{r}",
                "avatar": None,
                "discriminator": "0",
                "public_flags": 0,
                "flags": 0,
                "global_name": None,
                "primary_guild": None,
            }
            for r in channel.recipient_ids
        ]
        return payload
    payload.update(
        {
            "guild_id": str(channel.guild_id),
            "name": channel.name or "",
            "position": channel.position,
            "parent_id": None if channel.parent_id is None else str(channel.parent_id),
            "permission_overwrites": [],
            "nsfw": channel.is_nsfw,
        }
    )
    if channel.type in ChannelType.THREADS:
        payload.update(
            {
                "owner_id": str(channel.owner_id or 0),
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": iso_timestamp(_snowflake_ms(channel.id)),
                    "locked": False,
                    "create_timestamp": iso_timestamp(_snowflake_ms(channel.id)),
                },
                "message_count": 0,
                "member_count": 1,
                "total_message_sent": 0,
                "rate_limit_per_user": channel.rate_limit_per_user,
            }
        )
        payload.pop("permission_overwrites")
        payload.pop("position")
    elif channel.type in (0, 5, 15):  # text, announcement, forum
        payload["topic"] = channel.topic
        payload["rate_limit_per_user"] = channel.rate_limit_per_user
    elif channel.type in (2, 13):  # voice, stage
        payload.update(
            {"bitrate": 64_000, "user_limit": 0, "rtc_region": None, "rate_limit_per_user": 0}
        )
    return payload


def _snowflake_ms(snowflake: int) -> int:
    return (snowflake >> 22) + 1_420_070_400_000


def guild_json(guild: Guild, world: World) -> JSON:
    """Return a guild object as ``GET /guilds/{id}`` sends it."""
    roles, _ = world.structure(guild)
    system_channel = _first_text_channel(guild, world)
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "description": None,
        "home_header": None,
        "splash": None,
        "discovery_splash": None,
        "features": sorted(guild.features),
        "banner": None,
        "owner_id": str(guild.owner_id),
        "application_id": None,
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "system_channel_id": system_channel,
        "system_channel_flags": 0,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 1,
        "roles": [role_json(r) for r in roles.values()],
        "default_message_notifications": 1,
        "mfa_level": 0,
        "explicit_content_filter": 2,
        "max_presences": None,
        "max_members": 500_000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "rules_channel_id": None,
        "safety_alerts_channel_id": None,
        "public_updates_channel_id": None,
        "premium_progress_bar_enabled": False,
        "nsfw": False,
        "nsfw_level": 0,
        "emojis": [],
        "stickers": [],
        "incidents_data": None,
    }


def _first_text_channel(guild: Guild, world: World) -> str | None:
    _, channels = world.structure(guild)
    for channel in channels.values():
        if channel.type == 0:
            return str(channel.id)
    return None


def guild_create_json(guild: Guild, world: World, *, bot_user: User) -> JSON:
    """Return the GUILD_CREATE dispatch body for a guild the bot is in.

    Without the presences intent Discord sends only the bot's own member (and members in
    voice), so members stay out of the payload however large the guild is.
    """
    _, channels = world.structure(guild)
    payload = guild_json(guild, world)
    bot_member: Member | None = world.bot_member(guild)
    joined_ms = bot_member.joined_at_ms if bot_member else _snowflake_ms(guild.id)
    payload.update(
        {
            "unavailable": False,
            "large": guild.member_count > 250,  # noqa: PLR2004 - Discord's large_threshold default
            "member_count": guild.member_count,
            "joined_at": iso_timestamp(joined_ms),
            "channels": [channel_json(c) for c in channels.values() if c.type not in (10, 11, 12)],
            "threads": [channel_json(c) for c in channels.values() if c.type in (10, 11, 12)],
            "members": [member_json(bot_member, bot_user)] if bot_member else [],
            "presences": [],
            "voice_states": [voice_state_json(v, guild.id) for v in guild.voice_states.values()],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "lazy": True,
            "application_command_counts": {},
            "hub_type": None,
            "latest_onboarding_question_id": None,
            "version": 0,
        }
    )
    return payload


def voice_state_json(state: VoiceState, guild_id: int) -> JSON:
    """Return a voice state object."""
    return {
        "guild_id": str(guild_id),
        "channel_id": None if state.channel_id is None else str(state.channel_id),
        "user_id": str(state.user_id),
        "session_id": state.session_id,
        "deaf": False,
        "mute": False,
        "self_deaf": state.is_self_deaf,
        "self_mute": state.is_self_mute,
        "self_video": False,
        "self_stream": False,
        "suppress": False,
        "request_to_speak_timestamp": None,
    }


def ban_json(ban: Ban, user: User) -> JSON:
    """Return a ban object."""
    return {"user": user_json(user), "reason": ban.reason}


def attachment_json(attachment: Attachment, base_url: str, channel_id: int) -> JSON:
    """Return an attachment object whose URL serves the kept bytes from the simulator."""
    url = f"{base_url}/_sim/attachments/{channel_id}/{attachment.id}/{attachment.filename}"
    payload: JSON = {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "size": len(attachment.data),
        "url": url,
        "proxy_url": url,
    }
    if attachment.content_type is not None:  # Discord omits an unknown type (never null)
        payload["content_type"] = attachment.content_type
    return payload


def message_json(message: Message, world: World, base_url: str) -> JSON:
    """Return a message object."""
    author_payload = user_json(user_of(world, message.author_id))
    payload: JSON = {
        "type": message.type,
        "content": message.content,
        "mentions": [],
        "mention_roles": [],
        "attachments": [
            attachment_json(a, base_url, message.channel_id) for a in message.attachments
        ],
        "embeds": [{"type": "rich"} | embed for embed in message.embeds],
        "timestamp": iso_timestamp(_snowflake_ms(message.id)),
        "edited_timestamp": (
            None if message.edited_at_ms is None else iso_timestamp(message.edited_at_ms)
        ),
        "flags": message.flags,
        "components": numbered_components(message.components),
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "author": author_payload,
        "pinned": False,
        "mention_everyone": False,
        "tts": False,
    }
    if message.webhook_id is not None:
        payload["webhook_id"] = str(message.webhook_id)
        payload["application_id"] = str(message.webhook_id)
    return payload


def numbered_components(components: list[JSON]) -> list[JSON]:
    """Return message components with Discord's numeric ``id`` on each (depth first, from 1).

    Discord numbers components that were sent without an ``id``; the spec requires one.
    """
    counter = [0]

    def number(component: JSON) -> JSON:
        counter[0] += 1
        numbered = dict(component)
        numbered.setdefault("id", counter[0])
        children = component.get("components")
        if isinstance(children, list):
            numbered["components"] = [number(c) if isinstance(c, dict) else c for c in children]
        return numbered

    return [number(c) for c in components]


def application_json(app: Application, world: World) -> JSON:
    """Return the application object of ``GET /oauth2/applications/@me``.

    Unset optional fields (cover image, SKU, slug, URLs, install params) are left out, as
    Discord does: the spec types them as non-null when present.
    """
    owner = user_json(user_of(world, app.bot_user_id))
    return {
        "id": str(app.id),
        "name": app.name,
        "icon": None,
        "description": "A bot running against the Shoal Discord simulator",
        "type": None,
        "bot": owner,
        "rpc_origins": [],
        "bot_public": True,
        "bot_require_code_grant": False,
        "integration_types_config": {},
        "verify_key": "0" * 64,
        "flags": 0,
        "flags_new": "0",
        "max_participants": None,
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "owner": owner,
        "approximate_guild_count": len(app.guild_ids),
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": None,
        "eligible_oauth2_scopes": [],
    }


def interaction_json(interaction: Interaction, world: World, base_url: str) -> JSON:
    """Return the INTERACTION_CREATE dispatch body (fields hikari needs, see hikari.md)."""
    user = user_of(world, interaction.user_id)
    channel = world.channel(interaction.channel_id)
    payload: JSON = {
        "id": str(interaction.id),
        "application_id": str(interaction.application_id),
        "type": interaction.type,
        "token": interaction.token,
        "version": 1,
        "channel_id": str(interaction.channel_id),
        "channel": {
            "id": str(interaction.channel_id),
            "type": channel.type if channel else 0,
            "name": channel.name if channel else None,
        },
        "locale": "en-US",
        "app_permissions": "2251799813685247",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(interaction.guild_id)}
        if interaction.guild_id
        else {"1": str(interaction.user_id)},
        "context": 0 if interaction.guild_id else 1,
        "attachment_size_limit": 10_485_760,
        "data": interaction.data,
    }
    if interaction.guild_id is not None:
        guild = world.guild(interaction.guild_id)
        payload["guild_id"] = str(interaction.guild_id)
        payload["guild_locale"] = "en-US"
        payload["guild"] = {"id": str(interaction.guild_id), "locale": "en-US", "features": []}
        member = None
        if guild is not None:
            _, _, members = world.contents(guild)
            member = members.get(interaction.user_id)
        if member is None:  # a user the guild never generated: a member since just now
            member = Member(user_id=user.id, joined_at_ms=_snowflake_ms(interaction.id))
        member_payload = member_json(member, user)
        member_payload["permissions"] = "2251799813685247"
        payload["member"] = member_payload
    else:
        payload["user"] = user_json(user)
    if interaction.source_message_id is not None:
        source = world.message(interaction.channel_id, interaction.source_message_id)
        if source is not None:
            payload["message"] = message_json(source, world, base_url)
    return payload
