"""Gateway intents by the names the DiscordBot CRD accepts, and their bit mask.

Owns the intent names (Discord's documentation names), their bits and the CRD's default
list. Does not own reading the ``intents`` field (``shoal_operator.spec.parsing``).
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["DEFAULT_INTENTS", "INTENT_BITS", "intents_bitmask"]

#: Gateway intent bits by the names the CRD accepts (Discord's documentation names).
INTENT_BITS: Final[Mapping[str, int]] = types.MappingProxyType(
    {
        "Guilds": 1 << 0,
        "GuildMembers": 1 << 1,
        "GuildModeration": 1 << 2,
        "GuildExpressions": 1 << 3,
        "GuildIntegrations": 1 << 4,
        "GuildWebhooks": 1 << 5,
        "GuildInvites": 1 << 6,
        "GuildVoiceStates": 1 << 7,
        "GuildPresences": 1 << 8,
        "GuildMessages": 1 << 9,
        "GuildMessageReactions": 1 << 10,
        "GuildMessageTyping": 1 << 11,
        "DirectMessages": 1 << 12,
        "DirectMessageReactions": 1 << 13,
        "DirectMessageTyping": 1 << 14,
        "MessageContent": 1 << 15,
        "GuildScheduledEvents": 1 << 16,
        "AutoModerationConfiguration": 1 << 20,
        "AutoModerationExecution": 1 << 21,
        "GuildMessagePolls": 1 << 24,
        "DirectMessagePolls": 1 << 25,
    }
)
#: The intents a DiscordBot gets when its spec names none (the CRD's default).
DEFAULT_INTENTS: Final = (
    "Guilds",
    "GuildMessages",
    "GuildVoiceStates",
    "GuildMembers",
    "MessageContent",
)


def intents_bitmask(names: Iterable[str]) -> int:
    """Return the gateway intents bit mask for intent ``names`` (the CRD's enum values).

    Raises:
        ValueError: for a name that is not an intent.
    """
    mask = 0
    for name in names:
        if name not in INTENT_BITS:
            raise ValueError(f"unknown intent {name!r}")
        mask |= INTENT_BITS[name]
    return mask
