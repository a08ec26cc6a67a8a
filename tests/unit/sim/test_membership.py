"""Membership at run time: joins, leaves, screening and the role history they record."""

from __future__ import annotations

import pytest

from shoal_sim.discord import membership
from shoal_sim.discord.entities import Guild, Role
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import World, generated_member_id

_NOW_MS = 1_700_000_000_000


def _world() -> tuple[World, Guild]:
    world = World(SimSettings(guilds=1, members_per_guild=4, roles_per_guild=3))
    return world, next(iter(world.guilds.values()))


def _plain_role(world: World, guild: Guild) -> int:
    roles, _, _ = world.contents(guild)
    return next(r.id for r in roles.values() if r.name == "role-2")


def test_add_member_counts_the_joiner_when_a_user_joins() -> None:
    world, guild = _world()
    before = guild.member_count
    user = world.add_user("newcomer")
    member = membership.add_member(world, guild, user, is_pending=True, now_ms=_NOW_MS)
    assert guild.member_count == before + 1
    assert world.contents(guild)[2][user.id] is member
    assert (member.joined_at_ms, member.role_ids, member.is_pending) == (_NOW_MS, [], True)


def test_add_member_refuses_when_the_user_is_already_a_member() -> None:
    world, guild = _world()
    user = world.user(generated_member_id(guild, 0))
    assert user is not None
    with pytest.raises(membership.MemberExistsError):
        membership.add_member(world, guild, user, is_pending=False, now_ms=_NOW_MS)


def test_remove_member_uncounts_the_member_when_it_leaves_once() -> None:
    world, guild = _world()
    user_id = generated_member_id(guild, 1)
    before = guild.member_count
    assert membership.remove_member(world, guild, user_id) is not None
    assert membership.remove_member(world, guild, user_id) is None
    assert guild.member_count == before - 1
    assert user_id not in world.contents(guild)[2]


def test_complete_screening_says_whether_it_was_pending_when_called_twice() -> None:
    world, guild = _world()
    member = membership.add_member(
        world, guild, world.add_user("gated"), is_pending=True, now_ms=_NOW_MS
    )
    assert membership.complete_screening(member) is True
    assert membership.complete_screening(member) is False
    assert member.is_pending is False


def test_set_roles_records_pending_at_the_time_when_a_pending_member_gets_a_role() -> None:
    world, guild = _world()
    member = membership.add_member(
        world, guild, world.add_user("gated"), is_pending=True, now_ms=_NOW_MS
    )
    role_id = _plain_role(world, guild)
    assert membership.set_roles(
        world, guild, member, [role_id], source="rest-put", now_ms=_NOW_MS + 1
    )
    assert member.is_pending is False  # a granted role bypasses screening
    assert membership.set_roles(world, guild, member, [], source="control", now_ms=_NOW_MS + 2)
    history = membership.role_history(world, guild.id, member.user_id)
    assert [(c.role_id, c.is_added, c.was_pending, c.source, c.at_ms) for c in history] == [
        (role_id, True, True, "rest-put", _NOW_MS + 1),
        (role_id, False, False, "control", _NOW_MS + 2),
    ]


def test_set_roles_changes_nothing_when_the_roles_are_the_same() -> None:
    world, guild = _world()
    member = world.contents(guild)[2][generated_member_id(guild, 2)]
    role_id = _plain_role(world, guild)
    membership.set_roles(world, guild, member, [role_id], source="control", now_ms=_NOW_MS)
    recorded = len(membership.role_history(world, guild.id, member.user_id))
    assert not membership.set_roles(
        world, guild, member, [role_id, role_id], source="control", now_ms=_NOW_MS + 1
    )
    assert member.role_ids == [role_id]
    assert len(membership.role_history(world, guild.id, member.user_id)) == recorded


def test_forget_role_takes_a_deleted_role_from_every_holder_when_deleted() -> None:
    world, guild = _world()
    roles, _, members = world.contents(guild)
    role = Role(id=world.ids.next_id(), name="temporary", position=1)
    roles[role.id] = role
    holders = [members[generated_member_id(guild, i)] for i in (0, 3)]
    for member in holders:
        membership.set_roles(
            world, guild, member, [*member.role_ids, role.id], source="control", now_ms=_NOW_MS
        )
    del roles[role.id]
    affected = membership.forget_role(world, guild, role.id, now_ms=_NOW_MS + 5)
    assert {m.user_id for m in affected} == {m.user_id for m in holders}
    for member in holders:
        assert role.id not in member.role_ids
        last = membership.role_history(world, guild.id, member.user_id)[-1]
        assert (last.role_id, last.is_added, last.source) == (role.id, False, "role-deleted")


def test_has_verification_gate_follows_the_guild_feature_when_set() -> None:
    _, guild = _world()
    assert not membership.has_verification_gate(guild)
    guild.features = frozenset({membership.VERIFICATION_GATE})
    assert membership.has_verification_gate(guild)
