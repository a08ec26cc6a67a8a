"""Membership at run time: members joining and leaving, screening, and role changes.

Changes the world only (no gateway I/O): REST handlers and the control API call these
and announce what changed. Keeps ``Guild.member_count`` equal to the members held, and
records every role granted or taken in ``World.role_history`` with the time and whether
the member was still pending membership screening, so tests can assert that no role
came before screening was completed.

Membership screening: in a guild with ``MEMBER_VERIFICATION_GATE_ENABLED`` a new member
joins ``pending`` and stops being so when it completes screening. As Discord documents
for screening, a role granted to a pending member lets it bypass the screening (pending
becomes false); the history then shows ``was_pending: true`` for that grant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal_sim.discord.entities import Member, RoleChange

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shoal_sim.discord.entities import Guild, User
    from shoal_sim.discord.world import World

__all__ = [
    "VERIFICATION_GATE",
    "MemberExistsError",
    "add_member",
    "complete_screening",
    "forget_role",
    "has_verification_gate",
    "remove_member",
    "role_history",
    "set_roles",
]

VERIFICATION_GATE: Final = "MEMBER_VERIFICATION_GATE_ENABLED"
"""The guild feature that turns membership screening on."""
#: Role changes kept per member: enough for any test, bounded under load.
_HISTORY_KEPT: Final = 1_000


class MemberExistsError(ValueError):
    """The user is already a member of the guild."""


def has_verification_gate(guild: Guild) -> bool:
    """Return whether new members of ``guild`` must pass membership screening."""
    return VERIFICATION_GATE in guild.features


def add_member(world: World, guild: Guild, user: User, *, is_pending: bool, now_ms: int) -> Member:
    """Make ``user`` a member of ``guild`` (joined now, no roles).

    Raises:
        MemberExistsError: when the user is already a member.
    """
    _, _, members = world.contents(guild)
    if user.id in members:
        msg = f"user {user.id} is already a member of guild {guild.id}"
        raise MemberExistsError(msg)
    member = Member(user_id=user.id, joined_at_ms=now_ms, is_pending=is_pending)
    members[user.id] = member
    guild.member_count += 1
    return member


def remove_member(world: World, guild: Guild, user_id: int) -> Member | None:
    """Remove a member (leave, kick or ban); return it, or None if it was not one."""
    _, _, members = world.contents(guild)
    member = members.pop(user_id, None)
    if member is not None:
        guild.member_count -= 1
    return member


def complete_screening(member: Member) -> bool:
    """Mark a member as having passed screening; return whether it was pending."""
    was_pending = member.is_pending
    member.is_pending = False
    return was_pending


def set_roles(
    world: World,
    guild: Guild,
    member: Member,
    role_ids: Iterable[int],
    *,
    source: str,
    now_ms: int,
) -> bool:
    """Give ``member`` exactly ``role_ids`` (order kept), recording each change.

    Returns:
        Whether anything changed.
    """
    wanted = list(dict.fromkeys(role_ids))
    before = set(member.role_ids)
    added = [r for r in wanted if r not in before]
    removed = [r for r in member.role_ids if r not in set(wanted)]
    if not added and not removed:
        return False
    history = world.role_history.setdefault((guild.id, member.user_id), [])
    was_pending = member.is_pending
    for role_id, is_added in [(r, False) for r in removed] + [(r, True) for r in added]:
        history.append(
            RoleChange(
                at_ms=now_ms,
                role_id=role_id,
                is_added=is_added,
                was_pending=was_pending,
                source=source,
            )
        )
    del history[:-_HISTORY_KEPT]
    member.role_ids = wanted
    if added:
        member.is_pending = False  # a granted role bypasses screening
    return True


def forget_role(world: World, guild: Guild, role_id: int, *, now_ms: int) -> list[Member]:
    """Take a deleted role from every member that held it; return those members."""
    _, _, members = world.contents(guild)
    holders = [m for m in members.values() if role_id in m.role_ids]
    for member in holders:
        remaining = [r for r in member.role_ids if r != role_id]
        set_roles(world, guild, member, remaining, source="role-deleted", now_ms=now_ms)
    return holders


def role_history(world: World, guild_id: int, user_id: int) -> list[RoleChange]:
    """Return a member's role changes, oldest first."""
    return list(world.role_history.get((guild_id, user_id), ()))
