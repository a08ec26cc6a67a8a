"""Role safety for roles the bot hands out: what members may self-assign, and role lists.

Owns :data:`DANGEROUS_PERMISSIONS` (permissions a self-assignable role must never carry),
:class:`RoleFacts` (a role as these rules see it, independent of hikari), Discord's role
order (:func:`top_position`, :func:`is_below`), :func:`self_role_refusal` (why a role cannot
be self-assigned, said so that an admin knows what to do) and :func:`member_roles_after`
(the full role list for one ``PATCH /guilds/{guild}/members/{user}``, so a change is one
request in the 10-per-window member bucket instead of one per role).

Pure: the rules take data and do no I/O. :func:`from_hikari` is the one adapter from a
hikari role. Onboarding and role menus use it; moderation will reuse the order rules. Does
not own which roles a feature offers (the features' ``rules.py``) nor any REST call.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    import hikari

__all__ = [
    "ADMINISTRATOR",
    "DANGEROUS_PERMISSIONS",
    "DANGEROUS_PERMISSION_NAMES",
    "MANAGE_ROLES",
    "Refusal",
    "RefusalReason",
    "RoleFacts",
    "combined_permissions",
    "dangerous_permission_names",
    "everyone_permissions",
    "from_hikari",
    "is_below",
    "member_roles_after",
    "rank",
    "self_role_refusal",
    "top_position",
]

# Discord's permission bits (docs: Permissions, "Bitwise Permission Flags"); the unit tests
# check each against hikari.Permissions.
KICK_MEMBERS: Final = 1 << 1
BAN_MEMBERS: Final = 1 << 2
ADMINISTRATOR: Final = 1 << 3
MANAGE_CHANNELS: Final = 1 << 4
MANAGE_GUILD: Final = 1 << 5
VIEW_AUDIT_LOG: Final = 1 << 7
MANAGE_MESSAGES: Final = 1 << 13
MENTION_EVERYONE: Final = 1 << 17  # hikari calls it MENTION_ROLES
VIEW_GUILD_INSIGHTS: Final = 1 << 19
MANAGE_NICKNAMES: Final = 1 << 27
MANAGE_ROLES: Final = 1 << 28
MANAGE_WEBHOOKS: Final = 1 << 29
MANAGE_GUILD_EXPRESSIONS: Final = 1 << 30
MANAGE_EVENTS: Final = 1 << 33
MANAGE_THREADS: Final = 1 << 34
MODERATE_MEMBERS: Final = 1 << 40  # time members out

#: Each dangerous bit and the name Discord's client shows for it, in the client's order.
DANGEROUS_PERMISSION_NAMES: Final[Mapping[int, str]] = {
    ADMINISTRATOR: "Administrator",
    MANAGE_GUILD: "Manage Server",
    MANAGE_ROLES: "Manage Roles",
    MANAGE_CHANNELS: "Manage Channels",
    KICK_MEMBERS: "Kick Members",
    BAN_MEMBERS: "Ban Members",
    MODERATE_MEMBERS: "Timeout Members",
    MANAGE_NICKNAMES: "Manage Nicknames",
    MANAGE_MESSAGES: "Manage Messages",
    MANAGE_THREADS: "Manage Threads",
    MENTION_EVERYONE: "Mention @everyone, @here, and All Roles",
    MANAGE_WEBHOOKS: "Manage Webhooks",
    MANAGE_GUILD_EXPRESSIONS: "Manage Expressions",
    MANAGE_EVENTS: "Manage Events",
    VIEW_AUDIT_LOG: "View Audit Log",
    VIEW_GUILD_INSIGHTS: "View Server Insights",
}

#: Permissions a role that members give themselves (or get by clicking) must never carry:
#: each lets its holder moderate, reshape the server or reach everyone.
DANGEROUS_PERMISSIONS: Final = sum(DANGEROUS_PERMISSION_NAMES)


@dataclasses.dataclass(frozen=True, slots=True)
class RoleFacts:
    """One guild role, as much as the role rules need to know."""

    id: int
    """Its snowflake (the guild's id for @everyone)."""
    name: str
    """Its name, as admins see it in Server Settings."""
    position: int
    """Its position: 0 for @everyone, higher is higher; ties are broken by id."""
    permissions: int = 0
    """Its guild-wide permission bits."""
    is_managed: bool = False
    """Managed by an integration (a bot's own role, boosters, a linked app): nobody may
    assign it."""
    is_everyone: bool = False
    """The @everyone role, which every member has implicitly."""

    @property
    def label(self) -> str:
        """Return ``@name``, how messages to admins name the role (never a ping)."""
        return "@everyone" if self.is_everyone else f"@{self.name}"


class RefusalReason(enum.Enum):
    """Why a role cannot be self-assigned."""

    BOT_LACKS_MANAGE_ROLES = "bot_lacks_manage_roles"
    EVERYONE = "everyone"
    MANAGED = "managed"
    DANGEROUS_PERMISSIONS = "dangerous_permissions"
    NOT_BELOW_BOT = "not_below_bot"


@dataclasses.dataclass(frozen=True, slots=True)
class Refusal:
    """A role that cannot be self-assigned, why, and what an admin should do about it."""

    role_id: int
    """The role refused."""
    reason: RefusalReason
    """Why, for code (counting, picking a reply)."""
    message: str
    """Why and what to do, for an admin: names the role."""


def from_hikari(role: hikari.Role) -> RoleFacts:
    """Return the facts of a hikari role."""
    return RoleFacts(
        id=int(role.id),
        name=role.name,
        position=role.position,
        permissions=int(role.permissions),
        is_managed=role.is_managed,
        is_everyone=role.id == role.guild_id,
    )


def rank(role: RoleFacts) -> tuple[int, int]:
    """Return ``role``'s sort key in Discord's order: a greater key is a higher role.

    Position first; when two roles share a position the one with the lower id (the older
    one) is higher, as Discord's client and permission checks order them.
    """
    return role.position, -role.id


def top_position(bot_role_ids: Collection[int], roles: Iterable[RoleFacts]) -> RoleFacts | None:
    """Return the highest of the bot's roles among ``roles``, or None when it has none.

    Args:
        bot_role_ids: The bot member's role ids (a member's list never holds @everyone).
        roles: The guild's roles.

    Returns:
        The bot's highest role; None when the bot holds no role above @everyone, so that
        no role is below it (:func:`is_below` is False for every role).
    """
    held = [role for role in roles if role.id in bot_role_ids and not role.is_everyone]
    return max(held, key=rank, default=None)


def is_below(role: RoleFacts, top: RoleFacts | None) -> bool:
    """Return True when ``role`` is strictly below ``top`` (the bot may then assign it).

    A role at the bot's own highest role, or tied with it by position but older, is not
    below it; nothing is below ``None`` (a bot with no role of its own).
    """
    return top is not None and rank(role) < rank(top)


def combined_permissions(role_ids: Collection[int], roles: Iterable[RoleFacts]) -> int:
    """Return the guild-wide permissions of a member with ``role_ids`` (and @everyone)."""
    bits = 0
    for role in roles:
        if role.is_everyone or role.id in role_ids:
            bits |= role.permissions
    return bits


def dangerous_permission_names(permissions: int) -> tuple[str, ...]:
    """Return the names of the dangerous permissions in ``permissions``, in the client's order."""
    return tuple(name for bit, name in DANGEROUS_PERMISSION_NAMES.items() if permissions & bit)


def everyone_permissions(roles: Iterable[RoleFacts]) -> int:
    """Return the permissions of the guild's @everyone role in ``roles`` (0 if absent)."""
    return next((role.permissions for role in roles if role.is_everyone), 0)


def self_role_refusal(
    role: RoleFacts,
    *,
    bot_top: RoleFacts | None,
    bot_permissions: int,
    everyone: int = 0,
) -> Refusal | None:
    """Return why members may not be given ``role`` by the bot, or None when they may.

    Checked when an admin configures the role and again before every REST call that
    would give it: a role's permissions and position change without telling us. Only
    what the role adds to @everyone counts as dangerous: Discord gives new roles
    @everyone's defaults (Mention @everyone among them), which every member has anyway.

    Args:
        role: The role to give.
        bot_top: The bot's highest role (see :func:`top_position`).
        bot_permissions: The bot's guild-wide permissions (see :func:`combined_permissions`).
        everyone: The @everyone role's permissions (see :func:`everyone_permissions`).
    """
    if not bot_permissions & (MANAGE_ROLES | ADMINISTRATOR):
        return Refusal(
            role.id,
            RefusalReason.BOT_LACKS_MANAGE_ROLES,
            f"I cannot give {role.label}: I do not have the Manage Roles permission. Give my "
            "role Manage Roles in Server Settings -> Roles.",
        )
    if role.is_everyone:
        return Refusal(
            role.id,
            RefusalReason.EVERYONE,
            "@everyone cannot be given: every member already has it. Pick another role.",
        )
    if role.is_managed:
        return Refusal(
            role.id,
            RefusalReason.MANAGED,
            f"The role {role.label} is managed by an integration (a bot, server boosts or a "
            "linked app), so nobody can give it. Pick a role you created.",
        )
    names = dangerous_permission_names(role.permissions & ~everyone)
    if names:
        return Refusal(
            role.id,
            RefusalReason.DANGEROUS_PERMISSIONS,
            f"The role {role.label} has {_joined(names)}, which self-assigned roles must never "
            "have. Pick a role without moderation permissions.",
        )
    if not is_below(role, bot_top):
        return Refusal(role.id, RefusalReason.NOT_BELOW_BOT, _hierarchy_message(role, bot_top))
    return None


def member_roles_after(
    current: Iterable[int], *, add: Iterable[int] = (), remove: Iterable[int] = ()
) -> tuple[int, ...] | None:
    """Return the member's full role list after the change, or None when nothing changes.

    The result is what one ``PATCH`` of the member sends (``roles``): the current roles in
    their order, minus ``remove``, then ``add`` (sorted) that were missing. A role in both
    ``add`` and ``remove`` is added. Sending the full list makes a retry harmless: the
    same list twice is the same state.
    """
    before = list(dict.fromkeys(current))
    adding = set(add)
    removing = set(remove) - adding
    kept = [role_id for role_id in before if role_id not in removing]
    held = set(kept)
    after = (*kept, *sorted(adding - held))
    return None if after == tuple(before) else after


def _hierarchy_message(role: RoleFacts, bot_top: RoleFacts | None) -> str:
    if bot_top is None:
        return (
            f"I have no role of my own above @everyone, so I cannot give {role.label}: give "
            "me a role above it in Server Settings -> Roles."
        )
    if bot_top.id == role.id:
        return (
            f"The role {role.label} is my own highest role: I can only give roles below it. "
            "Pick a lower role, or drag a higher role of mine above it in Server Settings "
            "-> Roles."
        )
    return (
        f"The role {role.label} is above my highest role {bot_top.label}: drag my role "
        "above it in Server Settings -> Roles."
    )


def _joined(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"
