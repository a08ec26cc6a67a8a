"""The role menus feature's I/O on the kit: members' choices, posted messages, deleted roles.

Owns :class:`RoleMenusService`, which the commands, the component route and the listeners
share:

- **a member's choice** (a select or a button): the menu is read for the interaction's
  guild, the guild's live roles and the bot's standing come from ``kit.roles`` (cached
  briefly, forgotten on every role event), `shoal.features.rolemenus.rules` decides, and
  the change is ONE member PATCH with the full role list, or none when nothing changes or
  every role concerned is refused (so Discord never answers 50013);
- **posted messages**: posted, edited in place when the menu changes, re-posted when gone;
- **deleted roles**: the role's options are disabled (`repository.disable_role`), their
  posted messages re-rendered without them, and the admins told on their next
  ``/rolemenu`` command (alerts kept in Redis, a set per guild, for 30 days).

Does not own the commands' wording (`texts`), the components (`rendering`) or any decision
(`rules`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import hikari
import redis.exceptions

from shoal.features.rolemenus.components import MenuButton, MenuSelect
from shoal.features.rolemenus.rendering import menu_components, menu_embed
from shoal.features.rolemenus.repository import PostgresRoleMenusRepository
from shoal.features.rolemenus.rules import (
    MenuKind,
    button_change,
    deleted_roles_alert,
    selection_change,
)
from shoal.features.rolemenus.settings import SETTINGS_KEY, RoleMenusSettings

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from shoal.features.rolemenus.rules import RoleMenu, SelectionOutcome
    from shoal.kit.role_lookup import BotRoles
    from shoal.kit.services import FeatureKit

__all__ = ["ALERT_TTL_S", "FEATURE", "RoleMenusService"]

_log = logging.getLogger(__name__)

FEATURE: Final = SETTINGS_KEY
#: How long an alert waits for an admin's next /rolemenu command.
ALERT_TTL_S: Final = 30 * 24 * 3600
_MAX_ALERTS: Final = 20  # a reply shows this many at most; older ones are dropped
_REDIS_ERRORS: Final = (redis.exceptions.RedisError, OSError)
_GONE_MENU: Final = "This role menu was deleted: ask the server's admins for a new one."
_BROKEN: Final = "This menu is broken: ask the server's admins to post it again."
_PATCH_FAILED: Final = (
    "I could not change your roles: my role may have been moved below them. Ask the "
    "server's admins to check this menu."
)


class RoleMenusService:
    """Everything the role menu commands, components and listeners share (module docstring)."""

    def __init__(self, kit: FeatureKit) -> None:
        """Keep ``kit``; the repository is made on first use (a declaring kit has no pool)."""
        self.kit: Final = kit
        self._repository: PostgresRoleMenusRepository | None = None

    @property
    def repository(self) -> PostgresRoleMenusRepository:
        """Menus and options in PostgreSQL."""
        if self._repository is None:
            self._repository = PostgresRoleMenusRepository(self.kit.postgres)
        return self._repository

    async def settings_of(self, guild_id: int) -> RoleMenusSettings:
        """Return the guild's role menu settings (the allow-list)."""
        return await self.kit.settings.get(guild_id, RoleMenusSettings, FEATURE)

    async def standing(self, guild_id: int) -> BotRoles:
        """Return the guild's roles and the bot's place among them (briefly cached)."""
        return await self.kit.roles.of(guild_id)

    async def choose(
        self,
        guild_id: int,
        user_id: int,
        member_role_ids: Sequence[int],
        component: MenuSelect | MenuButton,
        values: Sequence[str],
    ) -> str:
        """Apply a member's choice on a menu; return the ephemeral reply.

        Args:
            guild_id: The interaction's guild (the menu is read there only).
            user_id: The member.
            member_role_ids: The member's roles, from the interaction (@everyone may be
                among them, as hikari lists it: it is left out).
            component: What the custom_id said (the menu, and the button's role).
            values: A select's chosen values (role ids as text; junk is ignored).
        """
        menu = await self.repository.get_menu(guild_id, component.menu_id)
        if menu is None:
            return _GONE_MENU
        standing = await self.standing(guild_id)
        settings = await self.settings_of(guild_id)
        # hikari lists @everyone (the guild's id) among a member's roles; Discord's member
        # PATCH must not carry it (changing it is refused with 50013).
        held = [role_id for role_id in member_role_ids if role_id != guild_id]
        outcome = self._decide(menu, held, component, values, standing, settings)
        if outcome is None:
            return _BROKEN
        if outcome.deleted_role_ids:
            await self.roles_deleted(guild_id, outcome.deleted_role_ids)
        for refused in outcome.refused:
            _log.warning(
                "role menu %d refused role %d at a member's choice: %s",
                menu.menu_id,
                refused.role_id,
                refused.message,
                extra={"guild_id": guild_id},
            )
            await self.add_alert(
                guild_id, f'Role menu "{menu.spec.title}" (id {menu.menu_id}): {refused.message}'
            )
        if outcome.role_ids is None:
            return outcome.reply
        try:
            await self.kit.rest.edit_member(
                guild_id, user_id, roles=outcome.role_ids, reason=f"Role menu {menu.menu_id}"
            )
        except hikari.HTTPError as error:
            self.kit.roles.forget(guild_id)
            _log.warning(
                "role menu %d could not change the roles of user %d: %s",
                menu.menu_id,
                user_id,
                error,
                extra={"guild_id": guild_id},
            )
            return _PATCH_FAILED
        return outcome.reply

    @staticmethod
    def _decide(
        menu: RoleMenu,
        member_role_ids: Sequence[int],
        component: MenuSelect | MenuButton,
        values: Sequence[str],
        standing: BotRoles,
        settings: RoleMenusSettings,
    ) -> SelectionOutcome | None:
        if isinstance(component, MenuButton):
            if menu.spec.kind is not MenuKind.BUTTONS:
                return None
            return button_change(
                menu,
                member_role_ids,
                component.role_id,
                standing.roles,
                settings,
                bot_top=standing.top,
                bot_permissions=standing.permissions,
            )
        if menu.spec.kind is not MenuKind.SELECT:
            return None
        chosen = {int(value) for value in values if value.isascii() and value.isdigit()}
        return selection_change(
            menu,
            member_role_ids,
            chosen,
            standing.roles,
            settings,
            bot_top=standing.top,
            bot_permissions=standing.permissions,
        )

    async def post(self, menu: RoleMenu, channel_id: int) -> RoleMenu | None:
        """Post ``menu`` in ``channel_id`` (or edit its message there); return it attached.

        A menu already posted in that channel has its message edited in place (a message
        deleted since is posted again); one posted elsewhere moves: posted here, the old
        message deleted. None when the menu was deleted meanwhile.

        Raises:
            hikari.ForbiddenError: the bot may not post in the channel.
        """
        if menu.channel_id == channel_id and await self.refresh(menu):
            return menu
        message = await self.kit.rest.create_message(
            channel_id,
            embed=menu_embed(menu),
            components=menu_components(menu),
            user_mentions=False,
            role_mentions=False,
            mentions_everyone=False,
        )
        attached = await self.repository.attach_message(
            menu.guild_id, menu.menu_id, channel_id=channel_id, message_id=int(message.id)
        )
        if menu.channel_id is not None and menu.channel_id != channel_id:
            await self.delete_message(menu)
        return attached

    async def refresh(self, menu: RoleMenu) -> bool:
        """Re-render the menu's posted message; False when it is not posted or is gone."""
        if menu.channel_id is None or menu.message_id is None:
            return False
        try:
            await self.kit.rest.edit_message(
                menu.channel_id,
                menu.message_id,
                embed=menu_embed(menu),
                components=menu_components(menu),
            )
        except hikari.NotFoundError:
            return False
        except hikari.HTTPError as error:
            _log.warning(
                "could not update the message of role menu %d: %s",
                menu.menu_id,
                error,
                extra={"guild_id": menu.guild_id},
            )
            return False
        return True

    async def delete_message(self, menu: RoleMenu) -> None:
        """Delete the menu's posted message, if any (already gone is fine)."""
        if menu.channel_id is None or menu.message_id is None:
            return
        try:
            await self.kit.rest.delete_message(menu.channel_id, menu.message_id)
        except hikari.NotFoundError:
            return
        except hikari.HTTPError as error:
            _log.warning(
                "could not delete the message of role menu %d: %s",
                menu.menu_id,
                error,
                extra={"guild_id": menu.guild_id},
            )

    async def roles_deleted(self, guild_id: int, role_ids: Collection[int]) -> None:
        """Disable the deleted roles' options, re-render their menus, alert the admins."""
        touched: set[int] = set()
        for role_id in sorted(set(role_ids)):
            touched.update(await self.repository.disable_role(guild_id, role_id))
        for menu_id in sorted(touched):
            menu = await self.repository.get_menu(guild_id, menu_id)
            if menu is None:
                continue
            await self.refresh(menu)
            await self.add_alert(guild_id, deleted_roles_alert(menu, role_ids))

    async def role_deleted(self, event: hikari.RoleDeleteEvent) -> None:
        """The exactly-once listener: a role was deleted in a guild."""
        guild_id = int(event.guild_id)
        self.kit.roles.forget(guild_id)
        await self.roles_deleted(guild_id, (int(event.role_id),))

    async def roles_changed(self, event: hikari.RoleEvent) -> None:
        """Every worker's listener: forget the guild's cached roles (checked again next click)."""
        self.kit.roles.forget(int(event.guild_id))

    async def add_alert(self, guild_id: int, text: str) -> None:
        """Keep ``text`` for the admins' next /rolemenu command (the same text once)."""
        key = self._alerts_key(guild_id)
        try:
            async with self.kit.redis.pipeline(transaction=True) as pipe:
                pipe.sadd(key, text)
                pipe.expire(key, ALERT_TTL_S)
                await pipe.execute()
        except _REDIS_ERRORS as error:
            _log.info(
                "a role menu alert was not kept (%s): %s",
                type(error).__name__,
                text,
                extra={"guild_id": guild_id},
            )

    async def take_alerts(self, guild_id: int) -> tuple[str, ...]:
        """Return the alerts waiting for the guild's admins and forget them (each told once)."""
        key = self._alerts_key(guild_id)
        try:
            async with self.kit.redis.pipeline(transaction=True) as pipe:
                pipe.smembers(key)
                pipe.delete(key)
                members, _ = await pipe.execute()
        except _REDIS_ERRORS:
            return ()
        texts = sorted(
            member.decode() if isinstance(member, bytes) else str(member) for member in members
        )
        return tuple(texts[:_MAX_ALERTS])

    def _alerts_key(self, guild_id: int) -> str:
        return self.kit.keys.feature(FEATURE, "alerts", guild_id)
