"""Gateway intents: the bits, which are privileged, and which event needs which."""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALL_VALID",
    "DIRECT_MESSAGES",
    "GUILDS",
    "GUILD_MEMBERS",
    "GUILD_MESSAGES",
    "GUILD_MODERATION",
    "GUILD_PRESENCES",
    "GUILD_VOICE_STATES",
    "MESSAGE_CONTENT",
    "NONE",
    "PRIVILEGED",
]

NONE: Final = 0
"""Marks events every session receives whatever its intents (READY, INTERACTION_CREATE)."""
GUILDS: Final = 1 << 0
GUILD_MEMBERS: Final = 1 << 1
GUILD_MODERATION: Final = 1 << 2
GUILD_EXPRESSIONS: Final = 1 << 3
GUILD_INTEGRATIONS: Final = 1 << 4
GUILD_WEBHOOKS: Final = 1 << 5
GUILD_INVITES: Final = 1 << 6
GUILD_VOICE_STATES: Final = 1 << 7
GUILD_PRESENCES: Final = 1 << 8
GUILD_MESSAGES: Final = 1 << 9
GUILD_MESSAGE_REACTIONS: Final = 1 << 10
GUILD_MESSAGE_TYPING: Final = 1 << 11
DIRECT_MESSAGES: Final = 1 << 12
DIRECT_MESSAGE_REACTIONS: Final = 1 << 13
DIRECT_MESSAGE_TYPING: Final = 1 << 14
MESSAGE_CONTENT: Final = 1 << 15
GUILD_SCHEDULED_EVENTS: Final = 1 << 16
AUTO_MODERATION_CONFIGURATION: Final = 1 << 20
AUTO_MODERATION_EXECUTION: Final = 1 << 21
GUILD_MESSAGE_POLLS: Final = 1 << 24
DIRECT_MESSAGE_POLLS: Final = 1 << 25

ALL_VALID: Final = (
    ((1 << 17) - 1)
    | AUTO_MODERATION_CONFIGURATION
    | AUTO_MODERATION_EXECUTION
    | GUILD_MESSAGE_POLLS
    | DIRECT_MESSAGE_POLLS
)
"""Every bit Discord defines; others get close code 4013."""
PRIVILEGED: Final = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
"""Intents an application must be approved for; asking without approval gets 4014."""
