"""``/settings``: server admins switch modules and change their settings.

Every answer is private to the admin. A value the module's schema refuses is answered
with the field and the rule (``levels.announce_template: String should have at most 500
characters``) and nothing is stored. Discord shows the group only to members with Manage
Server (``default_member_permissions``); the handler checks it again, since a server can
grant a command to anyone.

hikari-arc reads handler signatures at runtime, so the types in them are imported at
runtime here.
"""

from __future__ import annotations

from typing import Annotated, Final

import arc
import hikari

from shoal.features.core.settings_rules import field_lines, parse_value, shown_value
from shoal.interactions.replying import reply
from shoal.kit.services import FeatureKit
from shoal.kit.settings import SettingsRefusedError

__all__ = ["settings_group"]

_COLOUR: Final = 0x5865F2
_MAX_SUGGESTIONS: Final = 25
_NOT_ADMIN: Final = "Only members with the Manage Server permission can change settings."
_DM: Final = "Settings belong to a server: use this command in one."


def _kit_of(data: arc.AutocompleteData[arc.GatewayClient, str]) -> FeatureKit:
    return data.client.get_type_dependency(FeatureKit)


async def _module_names(data: arc.AutocompleteData[arc.GatewayClient, str]) -> list[str]:
    typed = (data.focused_value or "").lower()
    names = list(_kit_of(data).settings.modules)
    return [name for name in names if typed in name][:_MAX_SUGGESTIONS]


async def _field_names(data: arc.AutocompleteData[arc.GatewayClient, str]) -> list[str]:
    kit = _kit_of(data)
    module = next(
        (str(o.value) for o in data.options if o.name == "module" and o.value is not None), ""
    )
    schema = kit.settings.schemas.get(module)
    if schema is None:
        return []
    typed = (data.focused_value or "").lower()
    return [name for name in schema.model_fields if typed in name][:_MAX_SUGGESTIONS]


def _is_admin(ctx: arc.GatewayContext) -> bool:
    member = ctx.member
    if member is None:
        return False
    permissions = member.permissions
    return bool(permissions & (hikari.Permissions.MANAGE_GUILD | hikari.Permissions.ADMINISTRATOR))


async def _refuse_unless_admin(ctx: arc.GatewayContext) -> bool:
    """Answer a member who may not change settings; return whether they were refused."""
    if ctx.guild_id is None:
        await reply(ctx, _DM, is_ephemeral=True)
        return True
    if not _is_admin(ctx):
        await reply(ctx, _NOT_ADMIN, is_ephemeral=True)
        return True
    return False


async def _unknown_module(ctx: arc.GatewayContext, kit: FeatureKit, module: str) -> bool:
    if module in kit.settings.modules:
        return False
    known = ", ".join(f"`{name}`" for name in kit.settings.modules)
    await reply(ctx, f"There is no module `{module}`. Modules: {known}.", is_ephemeral=True)
    return True


async def modules_overview(ctx: arc.GatewayContext, kit: FeatureKit = arc.inject()) -> None:
    """List every module and whether it is on in this server."""
    if await _refuse_unless_admin(ctx):
        return
    assert ctx.guild_id is not None  # checked above  # noqa: S101
    lines = []
    for entry in kit.settings.modules.values():
        is_on = True
        if entry.is_switchable:
            is_on = await kit.settings.is_enabled(
                int(ctx.guild_id), entry.name, is_on_by_default=entry.is_on_by_default
            )
        state = "on" if is_on else "off"
        fixed = "" if entry.is_switchable else " (always on)"
        lines.append(f"**{entry.title}** (`{entry.name}`): {state}{fixed}")
    embed = hikari.Embed(title="Modules", description="\n".join(lines), colour=_COLOUR)
    embed.set_footer("Switch one with /settings module; see its settings with /settings show.")
    await reply(ctx, embed=embed, is_ephemeral=True)


async def switch_module(
    ctx: arc.GatewayContext,
    module: Annotated[str, arc.StrParams("The module", autocomplete_with=_module_names)],
    state: Annotated[str, arc.StrParams("Turn it on or off", choices=["on", "off"])],
    kit: FeatureKit = arc.inject(),
) -> None:
    """Turn a module on or off in this server."""
    if await _refuse_unless_admin(ctx) or await _unknown_module(ctx, kit, module):
        return
    assert ctx.guild_id is not None  # noqa: S101
    entry = kit.settings.modules[module]
    if not entry.is_switchable:
        await reply(ctx, f"{entry.title} cannot be turned off.", is_ephemeral=True)
        return
    await kit.settings.switch(int(ctx.guild_id), module, is_on=state == "on")
    await reply(ctx, f"{entry.title} is now **{state}** in this server.", is_ephemeral=True)


async def show_settings(
    ctx: arc.GatewayContext,
    module: Annotated[str, arc.StrParams("The module", autocomplete_with=_module_names)],
    kit: FeatureKit = arc.inject(),
) -> None:
    """Show a module's settings in this server."""
    if await _refuse_unless_admin(ctx) or await _unknown_module(ctx, kit, module):
        return
    assert ctx.guild_id is not None  # noqa: S101
    entry = kit.settings.modules[module]
    if entry.schema is None:
        await reply(ctx, f"{entry.title} has no settings.", is_ephemeral=True)
        return
    current = await kit.settings.get(int(ctx.guild_id), entry.schema, module)
    embed = hikari.Embed(title=f"{entry.title} settings", colour=_COLOUR)
    for name, text in field_lines(current):
        embed.add_field(name, text[:1024])
    embed.set_footer(f"Change one with /settings set module:{module} field:<name> value:<value>")
    await reply(ctx, embed=embed, is_ephemeral=True)


async def set_setting(
    ctx: arc.GatewayContext,
    module: Annotated[str, arc.StrParams("The module", autocomplete_with=_module_names)],
    field: Annotated[str, arc.StrParams("The setting", autocomplete_with=_field_names)],
    value: Annotated[
        str, arc.StrParams("The new value: text, on/off, #channel, @role, ids", max_length=1000)
    ],
    kit: FeatureKit = arc.inject(),
) -> None:
    """Change one of a module's settings in this server."""
    if await _refuse_unless_admin(ctx) or await _unknown_module(ctx, kit, module):
        return
    assert ctx.guild_id is not None  # noqa: S101
    entry = kit.settings.modules[module]
    if entry.schema is None:
        await reply(ctx, f"{entry.title} has no settings.", is_ephemeral=True)
        return
    try:
        updated = await kit.settings.update(int(ctx.guild_id), module, {field: parse_value(value)})
    except SettingsRefusedError as error:
        await reply(
            ctx,
            f"Not saved: `{error.feature}.{error.field}` {error.message}. "
            f"See the allowed values with /settings show module:{module}.",
            is_ephemeral=True,
        )
        return
    except ValueError as error:
        await reply(ctx, f"Not saved: {error}.", is_ephemeral=True)
        return
    shown = shown_value(updated.model_dump(mode="json")[field])
    await reply(ctx, f"Saved: `{module}.{field}` is now `{shown}`.", is_ephemeral=True)


async def reset_setting(
    ctx: arc.GatewayContext,
    module: Annotated[str, arc.StrParams("The module", autocomplete_with=_module_names)],
    field: Annotated[
        str | None,
        arc.StrParams("The setting (leave out to reset them all)", autocomplete_with=_field_names),
    ] = None,
    kit: FeatureKit = arc.inject(),
) -> None:
    """Put one setting, or all of a module's, back to the default."""
    if await _refuse_unless_admin(ctx) or await _unknown_module(ctx, kit, module):
        return
    assert ctx.guild_id is not None  # noqa: S101
    entry = kit.settings.modules[module]
    if entry.schema is None:
        await reply(ctx, f"{entry.title} has no settings.", is_ephemeral=True)
        return
    try:
        await kit.settings.reset(int(ctx.guild_id), module, field)
    except SettingsRefusedError as error:
        await reply(ctx, f"Not reset: `{module}.{error.field}` {error.message}.", is_ephemeral=True)
        return
    what = f"`{module}.{field}` is" if field else f"Every {entry.title} setting is"
    await reply(ctx, f"{what} back to the default.", is_ephemeral=True)


def settings_group(plugin: arc.GatewayPlugin) -> None:
    """Add the ``/settings`` group to ``plugin``."""
    group = plugin.include_slash_group(
        "settings",
        "Server settings: modules and their options (Manage Server).",
        default_permissions=hikari.Permissions.MANAGE_GUILD,
        invocation_contexts=[hikari.ApplicationContextType.GUILD],
    )
    group.include(
        arc.slash_subcommand("modules", "List the modules and whether each is on.")(
            modules_overview
        )
    )
    group.include(arc.slash_subcommand("module", "Turn a module on or off.")(switch_module))
    group.include(arc.slash_subcommand("show", "Show a module's settings.")(show_settings))
    group.include(arc.slash_subcommand("set", "Change one setting.")(set_setting))
    group.include(arc.slash_subcommand("reset", "Put settings back to the default.")(reset_setting))
