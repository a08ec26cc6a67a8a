"""The admin ``/xp reward``, ``/xp unreward`` and ``/xp rewards``: level role rewards.

A reward role is checked against the server's live roles when it is set (the same rules
as a self-assigned role: not dangerous, not managed, below the bot's highest role), and
again before each level-up's PATCH (:meth:`LevelsService.apply_roles`). Stored in the
``level_roles`` setting, so ``/settings show module:levels`` shows them too.

hikari-arc reads handler signatures at runtime, so the types in them are imported at
runtime here.
"""

from __future__ import annotations

from typing import Annotated, Final

import arc
import hikari

from shoal.features.levels.service import FEATURE, LevelsService
from shoal.features.levels.settings import MAX_LEVEL, LevelsSettings
from shoal.interactions.replying import reply
from shoal.kit.settings import SettingsRefusedError

__all__ = ["include_reward_commands"]

_ADMIN_ONLY: Final = "Only members with the Manage Server permission can change level rewards."


async def _admin_guild(ctx: arc.GatewayContext) -> int | None:
    member = ctx.member
    wanted = hikari.Permissions.MANAGE_GUILD | hikari.Permissions.ADMINISTRATOR
    if ctx.guild_id is None or member is None or not member.permissions & wanted:
        await reply(ctx, _ADMIN_ONLY, is_ephemeral=True)
        return None
    return int(ctx.guild_id)


async def _store(
    ctx: arc.GatewayContext, levels: LevelsService, guild_id: int, rewards: dict[int, int]
) -> bool:
    try:
        await levels.kit.settings.update(guild_id, FEATURE, {"level_roles": rewards})
    except SettingsRefusedError as error:
        await reply(ctx, f"Nothing changed: {error.message}.", is_ephemeral=True)
        return False
    return True


async def xp_reward(
    ctx: arc.GatewayContext,
    level: Annotated[int, arc.IntParams("The level that earns the role", min=1, max=MAX_LEVEL)],
    role: Annotated[hikari.Role, arc.RoleParams("The role members get at that level")],
    levels: LevelsService = arc.inject(),
) -> None:
    """Give ``role`` to members who reach ``level`` (replacing that level's reward)."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    standing = await levels.kit.roles.of(guild_id)
    refusal = standing.refusal(int(role.id))
    if refusal is not None:
        text = refusal if isinstance(refusal, str) else refusal.message
        await reply(ctx, f"Nothing changed. {text}", is_ephemeral=True)
        return
    settings = await levels.settings_of(guild_id)
    rewards = {**settings.level_roles, level: int(role.id)}
    if not await _store(ctx, levels, guild_id, rewards):
        return
    how = "keep lower rewards" if settings.stack_rewards else "keep only the highest reward"
    await reply(
        ctx,
        f"Members who reach level {level} now get {role.mention} (they {how}; "
        "`/settings set module:levels field:stack_rewards` changes that). Members already "
        "past it get it at their next level-up.",
        is_ephemeral=True,
    )


async def xp_unreward(
    ctx: arc.GatewayContext,
    level: Annotated[int, arc.IntParams("The level whose reward to remove", min=1, max=MAX_LEVEL)],
    levels: LevelsService = arc.inject(),
) -> None:
    """Stop giving a role at ``level`` (members keep the role they have)."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    settings = await levels.settings_of(guild_id)
    if level not in settings.level_roles:
        await reply(
            ctx, f"Level {level} has no reward: `/xp rewards` lists them.", is_ephemeral=True
        )
        return
    rewards = {lvl: role for lvl, role in settings.level_roles.items() if lvl != level}
    if await _store(ctx, levels, guild_id, rewards):
        await reply(
            ctx,
            f"Level {level} no longer gives <@&{settings.level_roles[level]}> (members keep it).",
            is_ephemeral=True,
        )


async def xp_rewards(ctx: arc.GatewayContext, levels: LevelsService = arc.inject()) -> None:
    """List the level rewards, with any the bot can no longer give."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    settings: LevelsSettings = await levels.settings_of(guild_id)
    if not settings.level_roles:
        await reply(
            ctx,
            "No level rewards yet: `/xp reward level:5 role:@Regular` adds one.",
            is_ephemeral=True,
        )
        return
    standing = await levels.kit.roles.of(guild_id)
    lines = []
    for level, role_id in settings.level_roles.items():
        refusal = standing.refusal(role_id)
        problem = "" if refusal is None else f" (not given: {_short(refusal)})"
        lines.append(f"Level {level}: <@&{role_id}>{problem}")
    stacking = "stacked" if settings.stack_rewards else "replacing"
    await reply(ctx, f"Level rewards ({stacking}):\n" + "\n".join(lines), is_ephemeral=True)


def _short(refusal: object) -> str:
    return refusal if isinstance(refusal, str) else str(getattr(refusal, "message", refusal))


def include_reward_commands(group: arc.SlashGroup[arc.GatewayClient]) -> None:
    """Add the reward subcommands to the admin ``/xp`` group."""
    group.include(arc.slash_subcommand("reward", "Give a role at a level.")(xp_reward))
    group.include(arc.slash_subcommand("unreward", "Stop giving a level's role.")(xp_unreward))
    group.include(arc.slash_subcommand("rewards", "List the level rewards.")(xp_rewards))
