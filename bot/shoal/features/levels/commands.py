"""The levels commands: ``/rank``, ``/leaderboard`` with page buttons, and the admin ``/xp``.

The reward subcommands of ``/xp`` are :mod:`shoal.features.levels.reward_commands`.

hikari-arc reads handler signatures at runtime (options and injected services), so the
types in them are imported at runtime here.
"""

from __future__ import annotations

import logging
from typing import Annotated, Final

import arc
import hikari

from shoal.features.levels.card import RankCard, render_rank_card
from shoal.features.levels.reward_commands import include_reward_commands
from shoal.features.levels.rules import level_of, progress_of
from shoal.features.levels.service import LevelsService  # noqa: TC001 - arc reads it at runtime
from shoal.features.levels.texts import PAGE_SIZE, leaderboard_lines, page_count, rank_summary
from shoal.interactions.components import ComponentContext, ComponentRoute
from shoal.interactions.custom_ids import encode
from shoal.interactions.replying import reply
from shoal.kit.images import ImageRenderError
from shoal.kit.services import KitServiceUnavailableError

__all__ = ["PAGE_PREFIX", "levels_plugin", "page_route"]

_log = logging.getLogger(__name__)

PAGE_PREFIX: Final = "lvlpage"
"""Custom_id prefix of the leaderboard's page buttons: ``lvlpage:1:<page>``."""
_COLOUR: Final = 0x57F287
_MAX_XP: Final = 10_000_000
_CARD_NAME: Final = "rank.png"


def _guild_of(ctx: arc.GatewayContext) -> int | None:
    return None if ctx.guild_id is None else int(ctx.guild_id)


async def rank(
    ctx: arc.GatewayContext,
    member: Annotated[hikari.User | None, arc.UserParams("Whose rank (yours if left out)")] = None,
    levels: LevelsService = arc.inject(),
) -> None:
    """Show a member's level, rank and progress as a card."""
    guild_id = _guild_of(ctx)
    if guild_id is None:
        await reply(ctx, "Levels belong to a server: use /rank in one.", is_ephemeral=True)
        return
    user = member or ctx.user
    found = await levels.ledger.rank_of(guild_id, int(user.id))
    if found is None:
        whose = "You have" if user.id == ctx.user.id else f"{user.display_name} has"
        await reply(ctx, f"{whose} no XP in this server yet.", is_ephemeral=True)
        return
    place, xp = found
    members = await levels.ledger.count(guild_id)
    embed = hikari.Embed(
        title=f"{user.display_name}'s rank",
        description=rank_summary(rank=place, members=members, xp=xp),
        colour=_COLOUR,
    )
    card = await _card(levels, user, place=place, xp=xp)
    if card is not None:
        embed.set_image(hikari.Bytes(card, _CARD_NAME))
    await reply(ctx, embed=embed)


async def _card(levels: LevelsService, user: hikari.User, *, place: int, xp: int) -> bytes | None:
    """Return the rank card PNG, or None (the embed's text says it all) when it cannot be made."""
    progress = progress_of(xp)
    avatar = await levels.avatar(user)
    name = user.display_name if isinstance(user.display_name, str) else user.username
    card = RankCard(
        display_name=name,
        avatar_png=avatar,
        level=progress.level,
        rank=place,
        xp_into_level=progress.into,
        xp_for_next_level=progress.needed,
        total_xp=xp,
    )
    key = f"{int(user.id)}:{user.avatar_hash}:{name}:{place}:{xp}:{avatar is None}"
    try:
        return await levels.kit.images.render("rank_card", key, render_rank_card, card)
    except (ImageRenderError, KitServiceUnavailableError) as error:
        _log.warning("rank card for user %d not rendered: %s", int(user.id), error)
        return None


def _page_buttons(page: int, pages: int) -> list[hikari.api.ComponentBuilder]:
    row = hikari.impl.MessageActionRowBuilder()
    row.add_interactive_button(
        hikari.ButtonStyle.SECONDARY,
        encode(PAGE_PREFIX, 1, max(1, page - 1)),
        label="Previous",
        is_disabled=page <= 1,
    )
    row.add_interactive_button(
        hikari.ButtonStyle.SECONDARY,
        encode(PAGE_PREFIX, 1, min(pages, page + 1)),
        label="Next",
        is_disabled=page >= pages,
    )
    return [row]


async def _board(levels: LevelsService, guild_id: int, page: int) -> tuple[hikari.Embed, int, int]:
    members = await levels.ledger.count(guild_id)
    pages = page_count(members)
    page = min(max(1, page), pages)
    rows = await levels.ledger.page(guild_id, page, PAGE_SIZE)
    embed = hikari.Embed(title="Leaderboard", description=leaderboard_lines(rows), colour=_COLOUR)
    embed.set_footer(f"Page {page} of {pages} · {members:,} members with XP")
    return embed, page, pages


async def leaderboard(
    ctx: arc.GatewayContext,
    page: Annotated[int, arc.IntParams("Which page", min=1, max=100_000)] = 1,
    levels: LevelsService = arc.inject(),
) -> None:
    """Show the server's members by XP, ten a page."""
    guild_id = _guild_of(ctx)
    if guild_id is None:
        await reply(ctx, "Levels belong to a server: use /leaderboard in one.", is_ephemeral=True)
        return
    embed, shown, pages = await _board(levels, guild_id, page)
    await reply(ctx, embed=embed, components=_page_buttons(shown, pages))


def page_route(levels: LevelsService) -> ComponentRoute:
    """Return the route of the leaderboard's page buttons (they work after any restart)."""

    async def turn(ctx: ComponentContext) -> None:
        page = ctx.custom_id.int_arg(0)
        if ctx.guild_id is None or page is None:
            await ctx.respond("This button is broken: run /leaderboard again.")
            return
        embed, shown, pages = await _board(levels, ctx.guild_id, page)
        await ctx.update_message(embeds=[embed], components=_page_buttons(shown, pages))

    return ComponentRoute(name="leaderboard page", prefix=PAGE_PREFIX, version=1, handler=turn)


def _is_admin(ctx: arc.GatewayContext) -> bool:
    member = ctx.member
    wanted = hikari.Permissions.MANAGE_GUILD | hikari.Permissions.ADMINISTRATOR
    return member is not None and bool(member.permissions & wanted)


async def _admin_guild(ctx: arc.GatewayContext) -> int | None:
    guild_id = _guild_of(ctx)
    if guild_id is None or not _is_admin(ctx):
        await reply(
            ctx, "Only members with the Manage Server permission can change XP.", is_ephemeral=True
        )
        return None
    return guild_id


async def xp_set(
    ctx: arc.GatewayContext,
    member: Annotated[hikari.User, arc.UserParams("Whose XP")],
    amount: Annotated[int, arc.IntParams("Their new XP", min=0, max=_MAX_XP)],
    levels: LevelsService = arc.inject(),
) -> None:
    """Set a member's XP."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    change = await levels.ledger.set_xp(guild_id, int(member.id), amount)
    await reply(
        ctx,
        f"{member.mention} now has {change.new_xp:,} XP (level {level_of(change.new_xp)}).",
        is_ephemeral=True,
    )


async def xp_add(
    ctx: arc.GatewayContext,
    member: Annotated[hikari.User, arc.UserParams("Whose XP")],
    amount: Annotated[
        int, arc.IntParams("XP to add (negative to take away)", min=-_MAX_XP, max=_MAX_XP)
    ],
    levels: LevelsService = arc.inject(),
) -> None:
    """Add XP to a member (or take it away)."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    change = await levels.ledger.add_xp(guild_id, int(member.id), amount)
    await reply(
        ctx,
        f"{member.mention} now has {change.new_xp:,} XP (level {level_of(change.new_xp)}).",
        is_ephemeral=True,
    )


async def xp_reset(
    ctx: arc.GatewayContext,
    member: Annotated[hikari.User, arc.UserParams("Whose XP to reset")],
    levels: LevelsService = arc.inject(),
) -> None:
    """Reset a member's XP to 0."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    await levels.ledger.reset(guild_id, int(member.id))
    await reply(ctx, f"{member.mention}'s XP is reset to 0.", is_ephemeral=True)


def levels_plugin() -> arc.GatewayPlugin:
    """Return a fresh plugin with the levels commands."""
    plugin = arc.GatewayPlugin("levels")
    plugin.include(arc.slash_command("rank", "Show your level and rank, or a member's.")(rank))
    plugin.include(
        arc.slash_command("leaderboard", "Show the members with the most XP.")(leaderboard)
    )
    group = plugin.include_slash_group(
        "xp",
        "Change members' XP (Manage Server).",
        default_permissions=hikari.Permissions.MANAGE_GUILD,
        invocation_contexts=[hikari.ApplicationContextType.GUILD],
    )
    group.include(arc.slash_subcommand("set", "Set a member's XP.")(xp_set))
    group.include(arc.slash_subcommand("add", "Add or take away XP.")(xp_add))
    group.include(arc.slash_subcommand("reset", "Reset a member's XP to 0.")(xp_reset))
    include_reward_commands(group)
    return plugin
