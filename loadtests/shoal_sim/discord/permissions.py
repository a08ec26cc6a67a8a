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
    "MANAGE_ROLES",
    "member_permissions",
]

CREATE_INSTANT_INVITE: Final = 1 << 0
KICK_MEMBERS: Final = 1 << 1
BAN_MEMBERS: Final = 1 << 2
ADMINISTRATOR: Final = 1 << 3
MANAGE_CHANNELS: Final = 1 << 4
ADD_REACTIONS: Final = 1 << 6
VIEW_AUDIT_LOG: Final = 1 << 7
VIEW_CHANNEL: Final = 1 << 10
SEND_MESSAGES: Final = 1 << 11
MANAGE_MESSAGES: Final = 1 << 13
EMBED_LINKS: Final = 1 << 14
ATTACH_FILES: Final = 1 << 15
READ_MESSAGE_HISTORY: Final = 1 << 16
USE_EXTERNAL_EMOJIS: Final = 1 << 18
CONNECT: Final = 1 << 20
SPEAK: Final = 1 << 21
MUTE_MEMBERS: Final = 1 << 22
DEAFEN_MEMBERS: Final = 1 << 23
MOVE_MEMBERS: Final = 1 << 24
MANAGE_NICKNAMES: Final = 1 << 27
MANAGE_ROLES: Final = 1 << 28
USE_APPLICATION_COMMANDS: Final = 1 << 31
MANAGE_THREADS: Final = 1 << 34
CREATE_PUBLIC_THREADS: Final = 1 << 35
SEND_MESSAGES_IN_THREADS: Final = 1 << 38
MODERATE_MEMBERS: Final = 1 << 40

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
