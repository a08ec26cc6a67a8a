"""The role menu commands (``/rolemenu``, Manage Server) and the menus' component route.

``/rolemenu create|add|remove|post|list|delete``: every answer is private and says what to
do next; alerts waiting for the admins (deleted roles, roles refused at a member's click)
come at the end of the next one. Menu ids and roles are suggested as the admin types
(autocomplete: the server's menus; the allow-listed roles; the menu's roles). A role is
checked against the live roles when added and when the menu is posted, and again by the
service before every member PATCH. The component route ``rm:1`` serves every posted menu's
select and buttons, stateless.

hikari-arc reads handler signatures at runtime (options and injected services), so the
types in them are imported at runtime here.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, Final

import arc
import hikari

from shoal.features.rolemenus.components import (
    CUSTOM_ID_PREFIX,
    CUSTOM_ID_VERSION,
    parse_arguments,
)
from shoal.features.rolemenus.rules import (
    DESCRIPTION_MAX,
    LABEL_MAX,
    MAX_OPTIONS,
    TITLE_MAX,
    GroupMode,
    MenuKind,
    MenuOption,
    MenuSpec,
    RoleMenu,
    menu_problems,
    role_problems,
)
from shoal.features.rolemenus.service import RoleMenusService
from shoal.features.rolemenus.texts import (
    ALLOW_LIST_HINT,
    default_label,
    menus_overview,
    role_reference,
    with_alerts,
)
from shoal.interactions.components import ComponentContext, ComponentRoute
from shoal.interactions.replying import reply

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["choice_route", "rolemenu_plugin"]

_MAX_SUGGESTIONS: Final = 25
_SUGGESTION_MAX: Final = 100  # Discord's limit for a choice's name
_NOT_ADMIN: Final = "Only members with the Manage Server permission can change role menus."
_BROKEN: Final = "This menu is broken: ask the server's admins to post it again."
_KINDS: Final = {
    "Select menu (a dropdown)": MenuKind.SELECT.value,
    "Buttons (rows of five)": MenuKind.BUTTONS.value,
}
_MODES: Final = {
    "Single: one role (choosing one removes the others)": GroupMode.SINGLE.value,
    "Multiple: several roles, between min and max": GroupMode.MULTIPLE.value,
}


def _services(data: arc.AutocompleteData[arc.GatewayClient, Any]) -> RoleMenusService:
    return data.client.get_type_dependency(RoleMenusService)


def _typed(data: arc.AutocompleteData[arc.GatewayClient, Any]) -> str:
    return str(data.focused_value or "").strip().casefold()


async def _menu_choices(data: arc.AutocompleteData[arc.GatewayClient, int]) -> dict[str, int]:
    if data.guild_id is None:
        return {}
    menus = await _services(data).repository.list_menus(int(data.guild_id))
    typed = _typed(data)
    found = {
        f"{menu.menu_id}: {menu.spec.title}"[:_SUGGESTION_MAX]: menu.menu_id
        for menu in menus
        if typed in f"{menu.menu_id} {menu.spec.title}".casefold()
    }
    return dict(list(found.items())[:_MAX_SUGGESTIONS])


async def _allowed_roles(data: arc.AutocompleteData[arc.GatewayClient, str]) -> dict[str, str]:
    if data.guild_id is None:
        return {}
    services = _services(data)
    guild_id = int(data.guild_id)
    settings = await services.settings_of(guild_id)
    standing = await services.standing(guild_id)
    typed = _typed(data)
    roles = sorted(
        (standing.roles[r] for r in settings.allowed_role_ids if r in standing.roles),
        key=lambda role: (-role.position, role.id),
    )
    found = {
        f"@{role.name}"[:_SUGGESTION_MAX]: str(role.id)
        for role in roles
        if typed.removeprefix("@") in role.name.casefold()
    }
    return dict(list(found.items())[:_MAX_SUGGESTIONS])


async def _menu_roles(data: arc.AutocompleteData[arc.GatewayClient, str]) -> dict[str, str]:
    chosen = next((o.value for o in data.options if o.name == "menu"), None)
    if data.guild_id is None or not isinstance(chosen, int | str) or not str(chosen).isdigit():
        return {}
    services = _services(data)
    menu = await services.repository.get_menu(int(data.guild_id), int(chosen))
    if menu is None:
        return {}
    typed = _typed(data)
    found = {
        (option.label + (" (role deleted)" if option.is_disabled else ""))[:_SUGGESTION_MAX]: str(
            option.role_id
        )
        for option in menu.spec.options
        if typed in option.label.casefold()
    }
    return dict(list(found.items())[:_MAX_SUGGESTIONS])


def _is_admin(ctx: arc.GatewayContext) -> bool:
    member = ctx.member
    wanted = hikari.Permissions.MANAGE_GUILD | hikari.Permissions.ADMINISTRATOR
    return member is not None and bool(member.permissions & wanted)


async def _admin_guild(ctx: arc.GatewayContext) -> int | None:
    if ctx.guild_id is None or not _is_admin(ctx):
        await reply(ctx, _NOT_ADMIN, is_ephemeral=True)
        return None
    return int(ctx.guild_id)


async def _answer(ctx: arc.GatewayContext, services: RoleMenusService, text: str) -> None:
    """Reply privately, with the alerts waiting for the admins at the end."""
    assert ctx.guild_id is not None  # noqa: S101 - only called after _admin_guild
    alerts = await services.take_alerts(int(ctx.guild_id))
    await reply(ctx, with_alerts(text, alerts), is_ephemeral=True)


async def _menu_or_answer(
    ctx: arc.GatewayContext, services: RoleMenusService, guild_id: int, menu_id: int
) -> RoleMenu | None:
    menu = await services.repository.get_menu(guild_id, menu_id)
    if menu is None:
        await _answer(
            ctx, services, f"This server has no role menu {menu_id}: see `/rolemenu list`."
        )
    return menu


async def create_menu(
    ctx: arc.GatewayContext,
    title: Annotated[str, arc.StrParams("The menu's title", max_length=TITLE_MAX)],
    kind: Annotated[str, arc.StrParams("A select menu or buttons", choices=_KINDS)],
    mode: Annotated[str, arc.StrParams("One role, or several", choices=_MODES)],
    minimum: Annotated[
        int | None,
        arc.IntParams("The fewest roles a member keeps (default 0)", name="min", min=0, max=25),
    ] = None,
    maximum: Annotated[
        int | None,
        arc.IntParams("The most roles a member holds (default: all)", name="max", min=1, max=25),
    ] = None,
    services: RoleMenusService = arc.inject(),
) -> None:
    """Create a role menu (then add roles to it and post it)."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    spec = MenuSpec(
        title=title.strip(),
        kind=MenuKind(kind),
        mode=GroupMode(mode),
        options=(),
        min_values=minimum or 0,
        max_values=maximum,
    )
    problems = menu_problems(spec, is_draft=True)
    if problems:
        await _answer(ctx, services, "Not created: " + " ".join(problems))
        return
    settings = await services.settings_of(guild_id)
    menu = await services.repository.create_menu(guild_id, spec, max_menus=settings.max_menus)
    if menu is None:
        await _answer(
            ctx,
            services,
            f"Not created: this server already has {settings.max_menus} role menus. Delete "
            "one with `/rolemenu delete`, or raise `rolemenus.max_menus` with `/settings set`.",
        )
        return
    await _answer(
        ctx,
        services,
        f'Created role menu {menu.menu_id}, "{spec.title}". Add roles with `/rolemenu add '
        f"menu:{menu.menu_id} role:...` (up to {MAX_OPTIONS}), then post it with "
        f"`/rolemenu post menu:{menu.menu_id}`.",
    )


async def add_role(
    ctx: arc.GatewayContext,
    menu: Annotated[int, arc.IntParams("The menu", min=1, autocomplete_with=_menu_choices)],
    role: Annotated[
        str,
        arc.StrParams(
            "The role (allow-listed roles are suggested)", autocomplete_with=_allowed_roles
        ),
    ],
    label: Annotated[
        str | None,
        arc.StrParams("What members read (default: the role's name)", max_length=LABEL_MAX),
    ] = None,
    description: Annotated[
        str | None,
        arc.StrParams("A line under the label (select menus only)", max_length=DESCRIPTION_MAX),
    ] = None,
    emoji: Annotated[str | None, arc.StrParams("An emoji shown with it", max_length=64)] = None,
    services: RoleMenusService = arc.inject(),
) -> None:
    """Add a role to a menu."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    current = await _menu_or_answer(ctx, services, guild_id, menu)
    if current is None:
        return
    services.kit.roles.forget(guild_id)  # an admin's change is checked on the freshest roles
    standing = await services.standing(guild_id)
    role_id = role_reference(role, standing.roles)
    facts = None if role_id is None else standing.roles.get(role_id)
    if facts is None:
        await _answer(
            ctx,
            services,
            f'Not added: I found no role "{role[:100]}". Pick one of the suggestions, or '
            "mention the role.",
        )
        return
    option = MenuOption(
        role_id=facts.id,
        label=(label or "").strip() or default_label(facts),
        description=(description or "").strip() or None,
        emoji=(emoji or "").strip() or None,
    )
    settings = await services.settings_of(guild_id)
    problems = role_problems(
        dataclasses.replace(current.spec, options=(option,)),
        settings,
        standing.roles,
        bot_top=standing.top,
        bot_permissions=standing.permissions,
    )
    if problems:
        hint = "" if settings.is_allowed(facts.id) else f" {ALLOW_LIST_HINT}"
        await _answer(ctx, services, f"Not added: {' '.join(problems)}{hint}")
        return

    def added(menu: RoleMenu) -> MenuSpec:
        if any(o.role_id == option.role_id for o in menu.spec.options):
            raise ValueError(
                f"{facts.label} is already on this menu: remove it first to change its label."
            )
        return dataclasses.replace(menu.spec, options=(*menu.spec.options, option))

    await _edit(ctx, services, guild_id, menu, added, f"Added {facts.label}")


async def remove_role(
    ctx: arc.GatewayContext,
    menu: Annotated[int, arc.IntParams("The menu", min=1, autocomplete_with=_menu_choices)],
    role: Annotated[str, arc.StrParams("The role to take off", autocomplete_with=_menu_roles)],
    services: RoleMenusService = arc.inject(),
) -> None:
    """Take a role off a menu."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    current = await _menu_or_answer(ctx, services, guild_id, menu)
    if current is None:
        return
    standing = await services.standing(guild_id)
    role_id = role_reference(role, standing.roles)
    option = next((o for o in current.spec.options if o.role_id == role_id), None)
    if option is None:
        await _answer(
            ctx,
            services,
            f'Not removed: "{role[:100]}" is not on menu {menu}. Pick one of the suggestions.',
        )
        return

    def removed(found: RoleMenu) -> MenuSpec:
        kept = tuple(o for o in found.spec.options if o.role_id != option.role_id)
        return dataclasses.replace(found.spec, options=kept)

    await _edit(ctx, services, guild_id, menu, removed, f'Removed "{option.label}"')


async def _edit(
    ctx: arc.GatewayContext,
    services: RoleMenusService,
    guild_id: int,
    menu_id: int,
    change: Callable[[RoleMenu], MenuSpec],
    done: str,
) -> None:
    """Apply ``change`` to the menu under its lock; re-render it if posted; answer."""
    try:
        updated = await services.repository.edit_menu(guild_id, menu_id, change)
    except ValueError as error:
        await _answer(ctx, services, f"Not changed: {error}")
        return
    if updated is None:
        await _answer(
            ctx, services, f"This server has no role menu {menu_id}: see `/rolemenu list`."
        )
        return
    count = len(updated.spec.options)
    text = f'{done} ({"1 role" if count == 1 else f"{count} roles"} on "{updated.spec.title}").'
    if updated.channel_id is not None and await services.refresh(updated):
        text += " The posted menu is updated."
    else:
        text += f" Post it with `/rolemenu post menu:{menu_id}`."
    await _answer(ctx, services, text)


async def post_menu(
    ctx: arc.GatewayContext,
    menu: Annotated[int, arc.IntParams("The menu", min=1, autocomplete_with=_menu_choices)],
    channel: Annotated[
        hikari.GuildTextChannel | None, arc.ChannelParams("Where (default: this channel)")
    ] = None,
    services: RoleMenusService = arc.inject(),
) -> None:
    """Post a menu, or update it where it is posted."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    current = await _menu_or_answer(ctx, services, guild_id, menu)
    if current is None:
        return
    problems = list(menu_problems(current.spec))
    if current.spec.options and not current.enabled_role_ids():
        problems.append("Every role on this menu was deleted: add roles with `/rolemenu add`.")
    services.kit.roles.forget(guild_id)
    standing = await services.standing(guild_id)
    settings = await services.settings_of(guild_id)
    problems.extend(
        role_problems(
            current.spec,
            settings,
            standing.roles,
            bot_top=standing.top,
            bot_permissions=standing.permissions,
        )
    )
    if problems:
        await _answer(ctx, services, "Not posted: " + " ".join(problems))
        return
    channel_id = int(ctx.channel_id) if channel is None else int(channel.id)
    try:
        posted = await services.post(current, channel_id)
    except hikari.ForbiddenError:
        await _answer(
            ctx,
            services,
            f"Not posted: I may not post in <#{channel_id}>. Give me View Channel, Send "
            "Messages and Embed Links there, or pick another channel.",
        )
        return
    if posted is None:
        await _answer(ctx, services, f"Menu {menu} was deleted meanwhile: nothing posted.")
        return
    await _answer(ctx, services, f'Posted "{posted.spec.title}" in <#{channel_id}>.')


async def list_menus(ctx: arc.GatewayContext, services: RoleMenusService = arc.inject()) -> None:
    """List this server's role menus."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    menus = await services.repository.list_menus(guild_id)
    settings = await services.settings_of(guild_id)
    await _answer(ctx, services, menus_overview(menus, max_menus=settings.max_menus))


async def delete_menu(
    ctx: arc.GatewayContext,
    menu: Annotated[int, arc.IntParams("The menu", min=1, autocomplete_with=_menu_choices)],
    services: RoleMenusService = arc.inject(),
) -> None:
    """Delete a menu and its posted message (members keep the roles they took)."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    deleted = await services.repository.delete_menu(guild_id, menu)
    if deleted is None:
        await _answer(ctx, services, f"This server has no role menu {menu}: see `/rolemenu list`.")
        return
    await services.delete_message(deleted)
    await _answer(
        ctx,
        services,
        f'Deleted role menu {menu}, "{deleted.spec.title}". Members keep the roles they took.',
    )


def choice_route(services: RoleMenusService) -> ComponentRoute:
    """Return the route of every posted menu's select and buttons (``rm:1:...``)."""

    async def choose(ctx: ComponentContext) -> None:
        component = parse_arguments(ctx.custom_id.args)
        member = ctx.member
        if ctx.guild_id is None or member is None or component is None:
            await ctx.respond(_BROKEN)
            return
        text = await services.choose(
            ctx.guild_id,
            int(ctx.user.id),
            [int(role_id) for role_id in member.role_ids],
            component,
            ctx.values,
        )
        await ctx.respond(text)

    return ComponentRoute(
        name="rolemenu choose",
        prefix=CUSTOM_ID_PREFIX,
        version=CUSTOM_ID_VERSION,
        handler=choose,
    )


def rolemenu_plugin() -> arc.GatewayPlugin:
    """Return a fresh plugin with the ``/rolemenu`` group."""
    plugin = arc.GatewayPlugin("rolemenus")
    group = plugin.include_slash_group(
        "rolemenu",
        "Menus of roles members give themselves (Manage Server).",
        default_permissions=hikari.Permissions.MANAGE_GUILD,
        invocation_contexts=[hikari.ApplicationContextType.GUILD],
    )
    group.include(arc.slash_subcommand("create", "Create a role menu.")(create_menu))
    group.include(arc.slash_subcommand("add", "Add a role to a menu.")(add_role))
    group.include(arc.slash_subcommand("remove", "Take a role off a menu.")(remove_role))
    group.include(
        arc.slash_subcommand("post", "Post a menu, or update it where it is posted.")(post_menu)
    )
    group.include(arc.slash_subcommand("list", "List this server's role menus.")(list_menus))
    group.include(arc.slash_subcommand("delete", "Delete a menu and its message.")(delete_menu))
    return plugin
