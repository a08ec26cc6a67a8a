"""Discord permission bits the simulator checks or grants, and a member's permissions.

Pure and stdlib-only. What a permission allows is decided where it is checked
(:mod:`shoal_sim.discord.rest.hierarchy_rules` for roles).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from shoal_sim.discord.entities import Role

__all__ = [
    "ADMINISTRATOR",
    "BOT_ROLE",
    "ELEVATED",
    "EVERYONE_DEFAULT",
    "MANAGE_ROLES",
    "member_permissions",
]

CREATE_INSTANT_INVITE: Final = 1 << 0
KICK_MEMBERS: Final = 1 << 1
BAN_MEMBERS: Final = 1 << 2
ADMINISTRATOR: Final = 1 << 3
MANAGE_CHANNELS: Final = 1 << 4
MANAGE_GUILD: Final = 1 << 5
ADD_REACTIONS: Final = 1 << 6
VIEW_AUDIT_LOG: Final = 1 << 7
PRIORITY_SPEAKER: Final = 1 << 8
STREAM: Final = 1 << 9
VIEW_CHANNEL: Final = 1 << 10
SEND_MESSAGES: Final = 1 << 11
SEND_TTS_MESSAGES: Final = 1 << 12
MANAGE_MESSAGES: Final = 1 << 13
EMBED_LINKS: Final = 1 << 14
ATTACH_FILES: Final = 1 << 15
READ_MESSAGE_HISTORY: Final = 1 << 16
MENTION_EVERYONE: Final = 1 << 17
USE_EXTERNAL_EMOJIS: Final = 1 << 18
VIEW_GUILD_INSIGHTS: Final = 1 << 19
CONNECT: Final = 1 << 20
SPEAK: Final = 1 << 21
MUTE_MEMBERS: Final = 1 << 22
DEAFEN_MEMBERS: Final = 1 << 23
MOVE_MEMBERS: Final = 1 << 24
USE_VAD: Final = 1 << 25
CHANGE_NICKNAME: Final = 1 << 26
MANAGE_NICKNAMES: Final = 1 << 27
MANAGE_ROLES: Final = 1 << 28
MANAGE_WEBHOOKS: Final = 1 << 29
MANAGE_GUILD_EXPRESSIONS: Final = 1 << 30
USE_APPLICATION_COMMANDS: Final = 1 << 31
REQUEST_TO_SPEAK: Final = 1 << 32
MANAGE_EVENTS: Final = 1 << 33
MANAGE_THREADS: Final = 1 << 34
CREATE_PUBLIC_THREADS: Final = 1 << 35
CREATE_PRIVATE_THREADS: Final = 1 << 36
USE_EXTERNAL_STICKERS: Final = 1 << 37
SEND_MESSAGES_IN_THREADS: Final = 1 << 38
USE_EMBEDDED_ACTIVITIES: Final = 1 << 39
MODERATE_MEMBERS: Final = 1 << 40
VIEW_CREATOR_MONETIZATION_ANALYTICS: Final = 1 << 41
USE_SOUNDBOARD: Final = 1 << 42
CREATE_GUILD_EXPRESSIONS: Final = 1 << 43
CREATE_EVENTS: Final = 1 << 44
USE_EXTERNAL_SOUNDS: Final = 1 << 45
SEND_VOICE_MESSAGES: Final = 1 << 46
#: Undocumented since its feature was withdrawn (it was "Use Clyde AI"); still in the
#: @everyone of a guild created today.
_RETIRED_47: Final = 1 << 47
SET_VOICE_CHANNEL_STATUS: Final = 1 << 48
SEND_POLLS: Final = 1 << 49
USE_EXTERNAL_APPS: Final = 1 << 50

EVERYONE_DEFAULT: Final = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | STREAM
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | REQUEST_TO_SPEAK
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | USE_EXTERNAL_STICKERS
    | SEND_MESSAGES_IN_THREADS
    | USE_EMBEDDED_ACTIVITIES
    | USE_SOUNDBOARD
    | CREATE_GUILD_EXPRESSIONS
    | CREATE_EVENTS
    | USE_EXTERNAL_SOUNDS
    | SEND_VOICE_MESSAGES
    | _RETIRED_47
    | SET_VOICE_CHANNEL_STATUS
    | SEND_POLLS
    | USE_EXTERNAL_APPS
)
"""@everyone of a guild created on Discord today: ``"2248473465835073"`` in the
GUILD_CREATE of a new guild (older guilds show less, e.g. ``"1071698660929"``, the same
set before the soundboard, polls and external apps). Send TTS Messages is off; nothing
that manages or moderates is on (see :data:`ELEVATED`)."""

ELEVATED: Final = (
    KICK_MEMBERS
    | BAN_MEMBERS
    | ADMINISTRATOR
    | MANAGE_CHANNELS
    | MANAGE_GUILD
    | VIEW_AUDIT_LOG
    | PRIORITY_SPEAKER
    | MANAGE_MESSAGES
    | VIEW_GUILD_INSIGHTS
    | MUTE_MEMBERS
    | DEAFEN_MEMBERS
    | MOVE_MEMBERS
    | MANAGE_NICKNAMES
    | MANAGE_ROLES
    | MANAGE_WEBHOOKS
    | MANAGE_GUILD_EXPRESSIONS
    | MANAGE_EVENTS
    | MANAGE_THREADS
    | MODERATE_MEMBERS
    | VIEW_CREATOR_MONETIZATION_ANALYTICS
)
"""Permissions that manage the guild or act on other members: never in :data:`EVERYONE_DEFAULT`."""

BOT_ROLE: Final = (
    CREATE_INSTANT_INVITE
    | KICK_MEMBERS
    | BAN_MEMBERS
    | MANAGE_CHANNELS
    | ADD_REACTIONS
    | VIEW_AUDIT_LOG
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | MANAGE_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | MUTE_MEMBERS
    | DEAFEN_MEMBERS
    | MOVE_MEMBERS
    | MANAGE_NICKNAMES
    | MANAGE_ROLES
    | USE_APPLICATION_COMMANDS
    | MANAGE_THREADS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
    | MODERATE_MEMBERS
)
"""The bot's managed role in generated guilds: what a moderation bot is invited with
(MANAGE_ROLES among them), not ADMINISTRATOR."""


def member_permissions(role_ids: Iterable[int], roles: Mapping[int, Role], everyone_id: int) -> int:
    """Return a member's guild permissions: @everyone's OR'd with each of its roles'.

    Unknown role ids are ignored (a deleted role grants nothing).
    """
    everyone = roles.get(everyone_id)
    bits = 0 if everyone is None else everyone.permissions
    for role_id in role_ids:
        role = roles.get(role_id)
        if role is not None:
            bits |= role.permissions
    return bits
