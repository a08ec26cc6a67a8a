"""The onboarding module: what the feature adds to a worker, built on the feature kit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import hikari

from shoal.features.onboarding.commands import (
    button_route,
    edit_route,
    modal_route,
    onboarding_plugin,
)
from shoal.features.onboarding.repository import onboarding_migrations
from shoal.features.onboarding.service import FEATURE, OnboardingService
from shoal.features.onboarding.settings import OnboardingSettings
from shoal.interactions.limits import RateLimitRule, RateLimitScope
from shoal.interactions.modules import Listener, Module

if TYPE_CHECKING:
    from shoal.kit.services import FeatureKit

__all__ = ["onboarding_module"]


def onboarding_module(kit: FeatureKit) -> Module:
    """Return a fresh onboarding module on ``kit``.

    Member events need the privileged GUILD_MEMBERS intent; guild and role events come
    with GUILDS.
    """
    service = OnboardingService(kit)
    admin = (RateLimitRule(RateLimitScope.USER, limit=5, window_s=10.0),)
    return Module(
        name=FEATURE,
        title="Onboarding",
        settings=OnboardingSettings,
        plugins=(onboarding_plugin(),),
        components=(button_route(service), edit_route(service), modal_route(service)),
        listeners=(
            Listener(hikari.MemberCreateEvent, service.member_joined, claim=service.join_claim),
            Listener(hikari.MemberUpdateEvent, service.member_updated, claim=service.update_claim),
            Listener(hikari.RoleCreateEvent, service.roles_changed),
            Listener(hikari.RoleUpdateEvent, service.roles_changed),
            Listener(hikari.RoleDeleteEvent, service.roles_changed),
        ),
        guild_taps=(service.guild_seen,),
        on_stop=(service.guilds.flush,),
        dependencies={OnboardingService: service},
        migrations=onboarding_migrations(),
        rate_limits={
            "onboarding setup": admin,
            "onboarding rules": admin,
            "onboarding post": admin,
        },
    )
