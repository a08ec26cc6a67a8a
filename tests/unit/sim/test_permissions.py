"""Permission bits of the simulated Discord: the generated @everyone, the bot's role, sums."""

from __future__ import annotations

import hikari

from shoal_sim.discord import permissions
from shoal_sim.discord.entities import Role
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import World

#: @everyone in the GUILD_CREATE of a guild created on Discord today.
_DISCORD_NEW_GUILD_EVERYONE = 2_248_473_465_835_073
_ELEVATED = (
    hikari.Permissions.ADMINISTRATOR
    | hikari.Permissions.MANAGE_GUILD
    | hikari.Permissions.MANAGE_ROLES
    | hikari.Permissions.MANAGE_WEBHOOKS
    | hikari.Permissions.MANAGE_CHANNELS
    | hikari.Permissions.MANAGE_MESSAGES
    | hikari.Permissions.MANAGE_NICKNAMES
    | hikari.Permissions.MANAGE_THREADS
    | hikari.Permissions.MANAGE_EVENTS
    | hikari.Permissions.MANAGE_GUILD_EXPRESSIONS
    | hikari.Permissions.KICK_MEMBERS
    | hikari.Permissions.BAN_MEMBERS
    | hikari.Permissions.MODERATE_MEMBERS
    | hikari.Permissions.VIEW_AUDIT_LOG
    | hikari.Permissions.MUTE_MEMBERS
    | hikari.Permissions.DEAFEN_MEMBERS
    | hikari.Permissions.MOVE_MEMBERS
)


def test_everyone_default_is_discords_when_a_guild_is_new() -> None:
    assert permissions.EVERYONE_DEFAULT == _DISCORD_NEW_GUILD_EVERYONE
    default = hikari.Permissions(permissions.EVERYONE_DEFAULT)
    assert not default & _ELEVATED
    assert not default & hikari.Permissions.SEND_TTS_MESSAGES
    assert default & hikari.Permissions.VIEW_CHANNEL
    assert default & hikari.Permissions.SEND_MESSAGES
    assert default & hikari.Permissions.USE_APPLICATION_COMMANDS


def test_elevated_names_the_same_bits_as_hikari_when_compared() -> None:
    assert permissions.ELEVATED & ~permissions.EVERYONE_DEFAULT == permissions.ELEVATED
    assert hikari.Permissions(permissions.ELEVATED) & _ELEVATED == _ELEVATED


def test_bot_role_manages_roles_and_moderates_when_granted_without_administrator() -> None:
    bot = hikari.Permissions(permissions.BOT_ROLE)
    wanted = (
        hikari.Permissions.MANAGE_ROLES
        | hikari.Permissions.KICK_MEMBERS
        | hikari.Permissions.BAN_MEMBERS
        | hikari.Permissions.MODERATE_MEMBERS
        | hikari.Permissions.MANAGE_MESSAGES
        | hikari.Permissions.VIEW_CHANNEL
        | hikari.Permissions.SEND_MESSAGES
        | hikari.Permissions.EMBED_LINKS
        | hikari.Permissions.CONNECT
        | hikari.Permissions.SPEAK
    )
    assert bot & wanted == wanted
    assert not bot & hikari.Permissions.ADMINISTRATOR
    assert not bot & hikari.Permissions.MANAGE_GUILD


def test_generated_guilds_give_only_the_bot_role_manage_roles_when_built() -> None:
    world = World(SimSettings(guilds=1, roles_per_guild=4))
    guild = next(iter(world.guilds.values()))
    roles, _, members = world.contents(guild)
    assert roles[guild.id].permissions == permissions.EVERYONE_DEFAULT
    managing = {
        r.id
        for r in roles.values()
        if r.permissions & (permissions.MANAGE_ROLES | permissions.ADMINISTRATOR)
    }
    admin = next(r.id for r in roles.values() if r.name == "Admin")
    assert managing == {world.bot_role_id(guild), admin}
    bot = world.bot_member(guild)
    assert bot.role_ids == [world.bot_role_id(guild)]
    assert all(world.bot_role_id(guild) not in m.role_ids for m in members.values() if m != bot)


def test_member_permissions_add_everyone_and_roles_when_some_roles_are_gone() -> None:
    roles = {
        1: Role(id=1, name="@everyone", permissions=permissions.VIEW_CHANNEL),
        2: Role(id=2, name="mods", permissions=permissions.KICK_MEMBERS),
        3: Role(id=3, name="speakers", permissions=permissions.SPEAK),
    }
    bits = permissions.member_permissions([2, 3, 99], roles, everyone_id=1)
    assert bits == permissions.VIEW_CHANNEL | permissions.KICK_MEMBERS | permissions.SPEAK
    assert permissions.member_permissions([], {}, everyone_id=1) == 0
