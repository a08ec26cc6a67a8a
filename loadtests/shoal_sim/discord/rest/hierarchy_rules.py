"""Role hierarchy: whether the bot may grant, take, create, edit, delete or move a role.

Pure: the guild's roles, the bot's roles and ownership in, :class:`DiscordError` out.
Discord's rules, as the simulator enforces them:

- the bot needs MANAGE_ROLES (or ADMINISTRATOR) through its roles, or owns the guild;
- a role can be granted, taken, edited, deleted or moved only if it is strictly below
  the bot's highest role: higher ``position`` first, and on equal positions the role
  with the smaller id (the older) is the higher, as Discord sorts them;
- a managed role (a bot's or an integration's) and @everyone are never granted or taken;
- a role cannot be created or edited to hold permissions the bot lacks (unless it is an
  administrator), and no role can be moved to or above the bot's highest;
- the guild owner passes every hierarchy check.

Refusals are 403 50013 Missing Permissions; unknown role ids in a body are 400 50035.
Whether a role named in the path exists is :mod:`.access`'s (404 10011).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import permissions
from shoal_sim.discord.rest import errors

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from shoal_sim.discord.entities import Role

__all__ = [
    "UNKNOWN_ROLE_FIELD",
    "Actor",
    "actor_of",
    "check_grant",
    "check_member_roles",
    "check_positions",
    "check_role_create",
    "check_role_delete",
    "check_role_edit",
    "height",
]

UNKNOWN_ROLE_FIELD: Final = ("UNKNOWN_ROLE", "Unknown role")
"""The field error of a role id in a body that names no role of the guild."""


@dataclasses.dataclass(frozen=True, slots=True)
class Actor:
    """Who changes roles: the bot's highest role, its permissions, whether it owns the guild."""

    top: tuple[int, int]
    """:func:`height` of the bot's highest role (@everyone's when it has none)."""
    permissions: int
    is_owner: bool = False

    @property
    def is_admin(self) -> bool:
        """Whether the bot bypasses permission checks (owner or ADMINISTRATOR)."""
        return self.is_owner or bool(self.permissions & permissions.ADMINISTRATOR)

    @property
    def can_manage_roles(self) -> bool:
        """Whether the bot may manage roles at all."""
        return self.is_admin or bool(self.permissions & permissions.MANAGE_ROLES)

    def is_above(self, role: Role) -> bool:
        """Whether ``role`` is strictly below the bot's highest role (always, for the owner)."""
        return self.is_owner or height(role) < self.top


def height(role: Role) -> tuple[int, int]:
    """Return a role's rank: a greater value is higher (position, then the older id)."""
    return (role.position, -role.id)


def actor_of(
    role_ids: Iterable[int], roles: Mapping[int, Role], guild_id: int, *, is_owner: bool
) -> Actor:
    """Return the bot as an :class:`Actor` from its member's role ids."""
    held = [roles[r] for r in role_ids if r in roles]
    everyone = roles.get(guild_id)
    tops = [height(r) for r in held]
    if everyone is not None:
        tops.append(height(everyone))
    return Actor(
        top=max(tops, default=(0, -guild_id)),
        permissions=permissions.member_permissions(role_ids, roles, guild_id),
        is_owner=is_owner,
    )


def _refuse() -> errors.DiscordError:
    return errors.DiscordError(errors.MISSING_PERMISSIONS)


def check_grant(actor: Actor, role: Role, guild_id: int) -> None:
    """Check that the bot may grant ``role`` to a member, or take it away.

    Raises:
        DiscordError: 403 50013 for @everyone, a managed role, a role not below the
            bot's highest, or without MANAGE_ROLES.
    """
    if role.id == guild_id or role.is_managed:
        raise _refuse()
    if not actor.can_manage_roles or not actor.is_above(role):
        raise _refuse()


def check_member_roles(
    actor: Actor,
    roles: Mapping[int, Role],
    guild_id: int,
    *,
    before: Sequence[int],
    after: Sequence[int],
) -> None:
    """Check a member's whole role list being replaced (PATCH ``roles``).

    Only the roles added or removed are judged, as on Discord: a member may keep a role
    above the bot.

    Raises:
        DiscordError: 400 50035 naming unknown role ids, else 403 50013 as
            :func:`check_grant` decides.
    """
    problems = errors.FieldErrors()
    for index, role_id in enumerate(after):
        if role_id not in roles:
            problems.add(("roles", index), *UNKNOWN_ROLE_FIELD)
    problems.raise_if_any()
    changed = set(after).symmetric_difference(before)
    for role_id in sorted(changed):
        role = roles.get(role_id)
        if role is not None:  # a role held but since deleted can always go
            check_grant(actor, role, guild_id)


def check_role_create(actor: Actor, granted: int | None) -> None:
    """Check that the bot may create a role with ``granted`` permissions (None: default).

    Raises:
        DiscordError: 403 50013 without MANAGE_ROLES or for permissions the bot lacks.
    """
    if not actor.can_manage_roles:
        raise _refuse()
    _check_permissions(actor, granted)


def check_role_edit(actor: Actor, role: Role, granted: int | None) -> None:
    """Check that the bot may edit ``role`` (and give it ``granted`` permissions).

    Raises:
        DiscordError: 403 50013 without MANAGE_ROLES, for a role not below the bot's
            highest, or for permissions the bot lacks.
    """
    if not actor.can_manage_roles or not actor.is_above(role):
        raise _refuse()
    _check_permissions(actor, granted)


def check_role_delete(actor: Actor, role: Role) -> None:
    """Check that the bot may delete ``role`` (@everyone is the caller's 50028).

    Raises:
        DiscordError: 403 50013 for a managed role, a role not below the bot's highest,
            or without MANAGE_ROLES.
    """
    if role.is_managed or not actor.can_manage_roles or not actor.is_above(role):
        raise _refuse()


def check_positions(
    actor: Actor, roles: Mapping[int, Role], guild_id: int, moves: Sequence[tuple[int, int]]
) -> None:
    """Check role position changes: ``(role_id, new_position)`` pairs.

    Every moved role must be below the bot's highest, and stay so at its new position.

    Raises:
        DiscordError: 400 50035 naming unknown role ids or @everyone, else 403 50013.
    """
    problems = errors.FieldErrors()
    for index, (role_id, _) in enumerate(moves):
        if role_id not in roles:
            problems.add((index, "id"), *UNKNOWN_ROLE_FIELD)
        elif role_id == guild_id:
            problems.add((index, "id"), "INVALID_ROLE", "Cannot move the @everyone role")
    problems.raise_if_any()
    if not actor.can_manage_roles:
        raise _refuse()
    for role_id, position in moves:
        role = roles[role_id]
        if role.position == position:
            continue
        if not actor.is_above(role) or not (actor.is_owner or (position, -role.id) < actor.top):
            raise _refuse()


def _check_permissions(actor: Actor, granted: int | None) -> None:
    if granted is not None and not actor.is_admin and granted & ~actor.permissions:
        raise _refuse()
