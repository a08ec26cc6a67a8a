"""Interaction resolved data: which ids options and select values name, and their shapes."""

from __future__ import annotations

from typing import Any

import pytest

from shoal_sim.discord import permissions
from shoal_sim.discord.entities import Channel, ChannelType, Guild
from shoal_sim.discord.resolving import (
    ALL_PERMISSIONS,
    OptionType,
    Reference,
    UnresolvedOptionError,
    references_in_options,
    references_in_values,
    resolved_data,
)
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import World, generated_channel_id, generated_member_id


def _world() -> World:
    return World(SimSettings(guilds=2, members_per_guild=4, channels_per_guild=4))


def _guild(world: World, index: int = 0) -> Guild:
    return sorted(world.guilds.values(), key=lambda g: g.id)[index]


def _role_id(world: World, guild: Guild, name: str) -> int:
    roles, _ = world.structure(guild)
    return next(r.id for r in roles.values() if r.name == name)


def test_references_in_options_finds_ids_nested_in_groups_when_options_mix_types() -> None:
    options: list[Any] = [
        {"name": "text", "type": 3, "value": "hello"},
        {
            "name": "admin",
            "type": OptionType.SUB_COMMAND_GROUP,
            "options": [
                {
                    "name": "grant",
                    "type": OptionType.SUB_COMMAND,
                    "options": [
                        {"name": "who", "type": OptionType.USER, "value": "11"},
                        {"name": "what", "type": OptionType.ROLE, "value": 12},
                    ],
                }
            ],
        },
        {"name": "where", "type": OptionType.CHANNEL, "value": "13"},
        {"name": "any", "type": OptionType.MENTIONABLE, "value": "14"},
    ]

    assert references_in_options(options) == [
        Reference("admin.grant.who", OptionType.USER, 11),
        Reference("admin.grant.what", OptionType.ROLE, 12),
        Reference("where", OptionType.CHANNEL, 13),
        Reference("any", OptionType.MENTIONABLE, 14),
    ]


def test_references_in_options_skips_the_focused_option_when_autocompleting() -> None:
    options = [{"name": "who", "type": OptionType.USER, "value": "us", "focused": True}]

    assert references_in_options(options) == []


@pytest.mark.parametrize("value", ["abc", None, True, -3, 1.5])
def test_references_in_options_refuses_naming_the_option_when_the_value_is_no_id(
    value: object,
) -> None:
    with pytest.raises(UnresolvedOptionError, match="option who"):
        references_in_options([{"name": "who", "type": OptionType.USER, "value": value}])


@pytest.mark.parametrize(
    ("component_type", "kind"),
    [
        (5, OptionType.USER),
        (6, OptionType.ROLE),
        (7, OptionType.MENTIONABLE),
        (8, OptionType.CHANNEL),
    ],
)
def test_references_in_values_resolves_each_value_when_the_select_names_entities(
    component_type: int, kind: int
) -> None:
    assert references_in_values(component_type, ["1", "2"]) == [
        Reference("values[0]", kind, 1),
        Reference("values[1]", kind, 2),
    ]


@pytest.mark.parametrize("component_type", [2, 3])
def test_references_in_values_is_empty_when_the_component_names_no_entities(
    component_type: int,
) -> None:
    assert references_in_values(component_type, ["1"]) == []


def test_resolved_data_carries_the_full_role_when_an_option_names_a_guild_role() -> None:
    world = _world()
    guild = _guild(world)
    role_id = _role_id(world, guild, "role-1")
    invoker = generated_member_id(guild, 0)

    resolved = resolved_data(world, guild, invoker, [Reference("r", OptionType.ROLE, role_id)])

    assert set(resolved) == {"roles"}
    role = resolved["roles"][str(role_id)]
    assert role["id"] == str(role_id)
    assert role["name"] == "role-1"
    assert {"permissions", "position", "color", "hoist", "managed", "mentionable"} <= set(role)


def test_resolved_data_carries_a_partial_channel_when_an_option_names_a_guild_channel() -> None:
    world = _world()
    guild = _guild(world)
    channel_id = generated_channel_id(guild, 1)
    invoker = generated_member_id(guild, 0)

    resolved = resolved_data(
        world, guild, invoker, [Reference("c", OptionType.CHANNEL, channel_id)]
    )

    channel = resolved["channels"][str(channel_id)]
    assert set(channel) == {"id", "name", "type", "parent_id", "permissions"}
    assert channel["type"] == ChannelType.GUILD_TEXT
    assert channel["parent_id"] == str(generated_channel_id(guild, 0))
    assert int(channel["permissions"]) & permissions.VIEW_CHANNEL


def test_resolved_data_adds_thread_metadata_when_the_channel_is_a_thread() -> None:
    world = _world()
    guild = _guild(world)
    thread = Channel(
        id=world.ids.next_id(),
        type=ChannelType.PUBLIC_THREAD,
        guild_id=guild.id,
        name="a-thread",
        parent_id=generated_channel_id(guild, 1),
    )
    world.add_channel(thread)

    resolved = resolved_data(world, guild, 1, [Reference("c", OptionType.CHANNEL, thread.id)])

    assert "thread_metadata" in resolved["channels"][str(thread.id)]


def test_resolved_data_gives_the_member_without_user_deaf_mute_when_a_user_is_a_member() -> None:
    world = _world()
    guild = _guild(world)
    target = generated_member_id(guild, 1)

    resolved = resolved_data(world, guild, target, [Reference("u", OptionType.USER, target)])

    assert resolved["users"][str(target)]["id"] == str(target)
    member = resolved["members"][str(target)]
    assert not {"user", "deaf", "mute"} & set(member)
    assert {"roles", "joined_at", "nick", "permissions"} <= set(member)
    _, _, members = world.contents(guild)
    assert member["roles"] == [str(r) for r in members[target].role_ids]


def test_resolved_data_gives_every_permission_when_the_member_is_an_administrator() -> None:
    world = _world()
    guild = _guild(world)
    target = generated_member_id(guild, 1)
    _, _, members = world.contents(guild)
    members[target].role_ids = [_role_id(world, guild, "Admin")]

    resolved = resolved_data(world, guild, target, [Reference("u", OptionType.USER, target)])

    assert resolved["members"][str(target)]["permissions"] == str(ALL_PERMISSIONS)


def test_resolved_data_gives_the_user_only_when_the_user_is_not_a_member() -> None:
    world = _world()
    guild, other = _guild(world), _guild(world, 1)
    stranger = generated_member_id(other, 0)

    resolved = resolved_data(world, guild, 1, [Reference("u", OptionType.USER, stranger)])

    assert set(resolved) == {"users"}


def test_resolved_data_resolves_a_role_or_a_user_when_the_option_is_mentionable() -> None:
    world = _world()
    guild = _guild(world)
    role_id = _role_id(world, guild, "Admin")
    user_id = generated_member_id(guild, 2)

    resolved = resolved_data(
        world,
        guild,
        user_id,
        [
            Reference("a", OptionType.MENTIONABLE, role_id),
            Reference("b", OptionType.MENTIONABLE, user_id),
        ],
    )

    assert list(resolved["roles"]) == [str(role_id)]
    assert list(resolved["users"]) == [str(user_id)]
    assert list(resolved["members"]) == [str(user_id)]


def test_resolved_data_tags_the_bot_role_with_the_bot_id_when_it_names_the_managed_role() -> None:
    world = _world()
    guild = _guild(world)
    bot_id = world.applications[guild.application_id].bot_user_id
    role_id = world.bot_role_id(guild)

    resolved = resolved_data(world, guild, 1, [Reference("r", OptionType.ROLE, role_id)])

    assert resolved["roles"][str(role_id)]["tags"] == {"bot_id": str(bot_id)}
    everyone = resolved_data(world, guild, 1, [Reference("r", OptionType.ROLE, guild.id)])
    assert "tags" not in everyone["roles"][str(guild.id)]


@pytest.mark.parametrize(
    ("kind", "what"),
    [(OptionType.ROLE, "role"), (OptionType.USER, "user"), (OptionType.CHANNEL, "channel")],
)
def test_resolved_data_refuses_naming_the_option_when_the_id_is_unknown(
    kind: int, what: str
) -> None:
    world = _world()
    guild = _guild(world)

    with pytest.raises(UnresolvedOptionError, match=f"option sub.x: unknown {what} 99"):
        resolved_data(world, guild, 1, [Reference("sub.x", kind, 99)])


def test_resolved_data_refuses_when_the_role_or_channel_is_of_another_guild() -> None:
    world = _world()
    guild, other = _guild(world), _guild(world, 1)

    with pytest.raises(UnresolvedOptionError, match="unknown role"):
        resolved_data(world, guild, 1, [Reference("r", OptionType.ROLE, other.id)])
    with pytest.raises(UnresolvedOptionError, match="unknown channel"):
        resolved_data(
            world,
            guild,
            1,
            [Reference("c", OptionType.CHANNEL, generated_channel_id(other, 1))],
        )


def test_resolved_data_refuses_a_role_when_the_interaction_is_in_a_dm() -> None:
    world = _world()
    guild = _guild(world)

    with pytest.raises(UnresolvedOptionError, match="unknown role"):
        resolved_data(world, None, 1, [Reference("r", OptionType.ROLE, guild.id)])
