"""The onboarding commands and components: ``/onboarding setup|rules|post``, the rules buttons.

``/onboarding setup`` stores the roles and channel (refusing a role the bot may not give
to everyone). ``/onboarding rules`` shows the rules with an "Edit rules" button that
opens the rules modal: a slash command could open it directly, but the command
middleware would take the modal for a missing answer, while a component route that
opens modals is never deferred. The modal saves by compare-and-swap on the version it
opened, then edits the posted message. ``/onboarding post`` posts the rules message with
"View rules" and "I agree". The buttons and the modal are custom_id routes
(`shoal.features.onboarding.components`), so they work on any pod after any restart.
hikari-arc reads handler signatures at runtime (options and injected services), so the
types in them are imported at runtime here.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Final

import arc
import hikari
import pydantic

from shoal.features.onboarding.components import (
    CUSTOM_ID_PREFIX,
    CUSTOM_ID_VERSION,
    EDIT_PREFIX,
    RULES_INPUT_ID,
    AgreeButton,
    ViewRulesButton,
    agree_arguments,
    parse_arguments,
    parse_modal_arguments,
    save_arguments,
    view_arguments,
)
from shoal.features.onboarding.rules import (
    RULES_TEXT_MAX,
    RulesDocument,
    rules_view_text,
    setup_problems,
)
from shoal.features.onboarding.service import (  # arc reads OnboardingService at runtime
    FEATURE,
    OnboardingService,
)
from shoal.features.onboarding.settings import OnboardingSettings
from shoal.features.onboarding.texts import (
    ADMIN_ONLY_TEXT,
    BROKEN_BUTTON_TEXT,
    CONFLICT_TEXT,
    GUILD_ONLY_TEXT,
    MODAL_TITLE,
    RULES_TITLE,
    no_rules_text,
    not_posted_text,
    post_failed_text,
    posted_text,
    rules_preview_text,
    saved_text,
    setup_refused_text,
    setup_report_text,
)
from shoal.interactions.components import ComponentContext, ComponentKind, ComponentRoute
from shoal.interactions.custom_ids import encode
from shoal.interactions.limits import RateLimitRule, RateLimitScope
from shoal.interactions.replying import reply
from shoal.kit.roles import Refusal
from shoal.kit.settings import SettingsRefusedError, describe_error

__all__ = ["button_route", "edit_route", "modal_route", "onboarding_plugin", "rules_message"]

_log = logging.getLogger(__name__)

_COLOUR: Final = 0x5865F2
_ADMIN: Final = hikari.Permissions.MANAGE_GUILD | hikari.Permissions.ADMINISTRATOR
#: Clicks per member: generous (the member lock makes repeats harmless), and bounded.
BUTTON_RATE_LIMITS: Final = (
    RateLimitRule(RateLimitScope.USER, limit=10, window_s=10.0),
    RateLimitRule(RateLimitScope.GUILD, limit=120, window_s=10.0),
)


def rules_message(
    rules: RulesDocument,
) -> tuple[hikari.Embed, list[hikari.api.ComponentBuilder]]:
    """Return the rules message's embed and its buttons (for ``rules.version``)."""
    embed = hikari.Embed(title=RULES_TITLE, description=rules.text, colour=_COLOUR)
    embed.set_footer(f'Version {rules.version} · press "I agree" to join the server')
    row = hikari.impl.MessageActionRowBuilder()
    row.add_interactive_button(
        hikari.ButtonStyle.SECONDARY,
        encode(CUSTOM_ID_PREFIX, CUSTOM_ID_VERSION, *view_arguments()),
        label="View rules",
    )
    row.add_interactive_button(
        hikari.ButtonStyle.SUCCESS,
        encode(CUSTOM_ID_PREFIX, CUSTOM_ID_VERSION, *agree_arguments(rules.version)),
        label="I agree",
    )
    return embed, [row]


def _is_admin(member: hikari.InteractionMember | None) -> bool:
    return member is not None and bool(member.permissions & _ADMIN)


async def _admin_guild(ctx: arc.GatewayContext) -> int | None:
    if ctx.guild_id is None:
        await reply(ctx, GUILD_ONLY_TEXT, is_ephemeral=True)
        return None
    if not _is_admin(ctx.member):
        await reply(ctx, ADMIN_ONLY_TEXT, is_ephemeral=True)
        return None
    return int(ctx.guild_id)


def _changes(
    pre_member_role: hikari.Role | None,
    member_role: hikari.Role | None,
    rules_channel: hikari.PartialChannel | None,
) -> dict[str, Any]:
    picked = {
        "pre_member_role_id": pre_member_role,
        "member_role_id": member_role,
        "rules_channel_id": rules_channel,
    }
    return {field: int(value.id) for field, value in picked.items() if value is not None}


async def setup(
    ctx: arc.GatewayContext,
    pre_member_role: Annotated[
        hikari.Role | None, arc.RoleParams("The role new members get until they agree")
    ] = None,
    member_role: Annotated[
        hikari.Role | None, arc.RoleParams('The role "I agree" gives (Pre-Member is taken away)')
    ] = None,
    rules_channel: Annotated[
        hikari.GuildTextChannel | None, arc.ChannelParams("Where the rules message goes")
    ] = None,
    onboarding: OnboardingService = arc.inject(),
) -> None:
    """Pick the onboarding roles and channel, and see what is still to do."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    changes = _changes(pre_member_role, member_role, rules_channel)
    current = await onboarding.settings_of(guild_id)
    try:
        candidate = OnboardingSettings.model_validate(current.model_dump() | changes)
    except pydantic.ValidationError as error:
        field, message = describe_error(error)
        await reply(ctx, f"Nothing was saved: {field} {message}.", is_ephemeral=True)
        return
    onboarding.kit.roles.forget(guild_id)  # the admin may have just fixed a role
    standing = await onboarding.kit.roles.of(guild_id)
    picked_roles = [
        changes[field] for field in ("pre_member_role_id", "member_role_id") if field in changes
    ]
    refusals = [text for r in picked_roles if (text := _refusal_text(standing.refusal(r)))]
    if refusals:
        await reply(ctx, setup_refused_text(refusals), is_ephemeral=True)
        return
    if changes:
        try:
            await onboarding.kit.settings.update(guild_id, FEATURE, changes)
        except SettingsRefusedError as error:
            await reply(ctx, f"Nothing was saved: {error}.", is_ephemeral=True)
            return
    problems = setup_problems(
        candidate, standing.roles, bot_top=standing.top, bot_permissions=standing.permissions
    )
    rules = await onboarding.repository.get_rules(guild_id)
    await reply(ctx, setup_report_text(candidate, problems, rules), is_ephemeral=True)


def _refusal_text(refusal: Refusal | str | None) -> str | None:
    return refusal.message if isinstance(refusal, Refusal) else refusal


async def edit_rules(ctx: arc.GatewayContext, onboarding: OnboardingService = arc.inject()) -> None:
    """Show the rules, with a button that opens the form to edit them."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    rules = await onboarding.repository.get_rules(guild_id)
    row = hikari.impl.MessageActionRowBuilder()
    row.add_interactive_button(
        hikari.ButtonStyle.PRIMARY,
        encode(EDIT_PREFIX, CUSTOM_ID_VERSION),
        label="Write rules" if rules is None else "Edit rules",
    )
    await reply(ctx, rules_preview_text(rules), components=[row], is_ephemeral=True)


def _rules_modal_rows(rules: RulesDocument | None) -> list[hikari.api.ModalActionRowBuilder]:
    row = hikari.impl.ModalActionRowBuilder()
    row.add_text_input(
        RULES_INPUT_ID,
        "The rules members agree to",
        style=hikari.TextInputStyle.PARAGRAPH,
        value=hikari.UNDEFINED if rules is None else rules.text,
        min_length=1,
        max_length=RULES_TEXT_MAX,
    )
    return [row]


def edit_route(onboarding: OnboardingService) -> ComponentRoute:
    """Return the route of the "Edit rules" button: opens the modal on the current rules."""

    async def open_form(ctx: ComponentContext) -> None:
        if ctx.guild_id is None or not _is_admin(ctx.member):
            await ctx.respond(ADMIN_ONLY_TEXT)
            return
        rules = await onboarding.repository.get_rules(ctx.guild_id)
        expected = 0 if rules is None else rules.version
        custom_id = encode(CUSTOM_ID_PREFIX, CUSTOM_ID_VERSION, *save_arguments(expected))
        await ctx.open_modal(MODAL_TITLE, custom_id, _rules_modal_rows(rules))

    return ComponentRoute(
        name="onboarding edit",
        prefix=EDIT_PREFIX,
        version=CUSTOM_ID_VERSION,
        handler=open_form,
        opens_modal=True,
    )


async def post(ctx: arc.GatewayContext, onboarding: OnboardingService = arc.inject()) -> None:
    """Post the rules message, with its buttons, in the rules channel."""
    if (guild_id := await _admin_guild(ctx)) is None:
        return
    settings = await onboarding.settings_of(guild_id)
    channel_id = settings.rules_channel_id
    if not settings.is_complete or channel_id is None:
        await reply(ctx, not_posted_text(), is_ephemeral=True)
        return
    rules = await onboarding.repository.get_rules(guild_id)
    if rules is None:
        await reply(ctx, no_rules_text(), is_ephemeral=True)
        return
    embed, components = rules_message(rules)
    try:
        message = await onboarding.kit.rest.create_message(
            channel_id, embed=embed, components=components
        )
    except hikari.HTTPError as error:
        _log.info("rules not posted in channel %d: %s", channel_id, error)
        await reply(ctx, post_failed_text(channel_id), is_ephemeral=True)
        return
    attached = await onboarding.repository.attach_message(
        guild_id, channel_id=channel_id, message_id=int(message.id)
    )
    await reply(ctx, posted_text(attached or rules), is_ephemeral=True)


def onboarding_plugin() -> arc.GatewayPlugin:
    """Return a fresh plugin with the ``/onboarding`` commands."""
    plugin = arc.GatewayPlugin(FEATURE)
    group = plugin.include_slash_group(
        "onboarding",
        "Set up the rules new members agree to (Manage Server).",
        default_permissions=hikari.Permissions.MANAGE_GUILD,
        invocation_contexts=[hikari.ApplicationContextType.GUILD],
    )
    group.include(arc.slash_subcommand("setup", "Pick the roles and the rules channel.")(setup))
    group.include(arc.slash_subcommand("rules", "Write or edit the rules.")(edit_rules))
    group.include(arc.slash_subcommand("post", "Post the rules message.")(post))
    return plugin


def button_route(onboarding: OnboardingService) -> ComponentRoute:
    """Return the route of the rules message's buttons ("View rules", "I agree")."""

    async def press(ctx: ComponentContext) -> None:
        button = parse_arguments(ctx.custom_id.args)
        member = ctx.member
        if ctx.guild_id is None or member is None or button is None:
            await ctx.respond(BROKEN_BUTTON_TEXT)
            return
        if isinstance(button, ViewRulesButton):
            settings = await onboarding.settings_of(ctx.guild_id)
            rules = await onboarding.repository.get_rules(ctx.guild_id)
            text = rules_view_text(rules, settings)
            embed = hikari.Embed(title=RULES_TITLE, description=text, colour=_COLOUR)
            await ctx.respond(embeds=[embed])
            return
        assert isinstance(button, AgreeButton)  # noqa: S101 - parse_arguments returns one of two
        await ctx.respond(await onboarding.agree(ctx.guild_id, member, button.rules_version))

    return ComponentRoute(
        name="onboarding button",
        prefix=CUSTOM_ID_PREFIX,
        version=CUSTOM_ID_VERSION,
        handler=press,
        rate_limits=BUTTON_RATE_LIMITS,
    )


def modal_route(onboarding: OnboardingService) -> ComponentRoute:
    """Return the route of the rules modal: saves by compare-and-swap, edits the message."""

    async def submit(ctx: ComponentContext) -> None:
        modal = parse_modal_arguments(ctx.custom_id.args)
        if ctx.guild_id is None or modal is None:
            await ctx.respond("This form is broken: run /onboarding rules again.")
            return
        if not _is_admin(ctx.member):
            await ctx.respond(ADMIN_ONLY_TEXT)
            return
        text = ctx.modal_values().get(RULES_INPUT_ID, "")
        try:
            saved = await onboarding.repository.save_rules(
                ctx.guild_id, text, expected_version=modal.expected_version
            )
        except ValueError as error:
            await ctx.respond(f"Nothing was saved: {error}")
            return
        if saved is None:
            await ctx.respond(CONFLICT_TEXT)
            return
        updated = await _update_posted(onboarding, saved)
        await ctx.respond(saved_text(saved, is_message_updated=updated))

    return ComponentRoute(
        name="onboarding rules",
        prefix=CUSTOM_ID_PREFIX,
        version=CUSTOM_ID_VERSION,
        handler=submit,
        kind=ComponentKind.MODAL,
    )


async def _update_posted(onboarding: OnboardingService, rules: RulesDocument) -> bool | None:
    """Edit the posted rules message to ``rules``; None when none was posted."""
    if rules.channel_id is None or rules.message_id is None:
        return None
    embed, components = rules_message(rules)
    try:
        await onboarding.kit.rest.edit_message(
            rules.channel_id, rules.message_id, embed=embed, components=components
        )
    except hikari.HTTPError as error:
        _log.info(
            "rules message %d not updated: %s",
            rules.message_id,
            error,
            extra={"guild_id": rules.guild_id},
        )
        return False
    return True
