"""The role menus module: what the feature adds to a worker, built on the feature kit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import hikari

from shoal.features.rolemenus.commands import choice_route, rolemenu_plugin
from shoal.features.rolemenus.repository import rolemenus_migrations
from shoal.features.rolemenus.service import FEATURE, RoleMenusService
from shoal.features.rolemenus.settings import RoleMenusSettings
from shoal.interactions.modules import Listener, Module

if TYPE_CHECKING:
    from shoal.kit.services import FeatureKit

__all__ = ["ROLE_DELETED_CLAIM", "rolemenus_module"]

ROLE_DELETED_CLAIM = "rolemenus.role-deleted"
"""The event-claim kind of a role deletion: its options are disabled by one worker."""


def _role_deleted_claim(event: hikari.RoleDeleteEvent) -> tuple[str, int]:
    return ROLE_DELETED_CLAIM, int(event.role_id)


def rolemenus_module(kit: FeatureKit) -> Module:
    """Return a fresh role menus module on ``kit``."""
    service = RoleMenusService(kit)
    return Module(
        name=FEATURE,
        title="Role menus",
        settings=RoleMenusSettings,
        plugins=(rolemenu_plugin(),),
        components=(choice_route(service),),
        listeners=(
            # Every worker forgets its cached roles of the guild (not claimed: each has its
            # own cache); one worker disables the deleted role's options (claimed).
            Listener(hikari.RoleCreateEvent, service.roles_changed),
            Listener(hikari.RoleUpdateEvent, service.roles_changed),
            Listener(hikari.RoleDeleteEvent, service.roles_changed),
            Listener(hikari.RoleDeleteEvent, service.role_deleted, claim=_role_deleted_claim),
        ),
        dependencies={RoleMenusService: service},
        migrations=rolemenus_migrations(),
    )
