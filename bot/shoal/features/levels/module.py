"""The levels module: what the feature adds to a worker, built on the feature kit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import hikari

from shoal.features.levels.commands import levels_plugin, page_route
from shoal.features.levels.ledger import levels_migrations
from shoal.features.levels.service import FEATURE, LevelsService
from shoal.features.levels.settings import LevelsSettings
from shoal.interactions.limits import RateLimitRule, RateLimitScope
from shoal.interactions.modules import Listener, Module
from shoal.kit.jobs import Job

if TYPE_CHECKING:
    from shoal.kit.services import FeatureKit

__all__ = ["FLUSH_EVERY_S", "levels_module"]

FLUSH_EVERY_S: Final = 1.0
"""How often granted XP moves to PostgreSQL: one transaction a second for the whole fleet,
and at most this much XP lost if Redis itself loses its data."""


def levels_module(kit: FeatureKit) -> Module:
    """Return a fresh levels module on ``kit``."""
    service = LevelsService(kit)
    return Module(
        name=FEATURE,
        title="Levels",
        settings=LevelsSettings,
        plugins=(levels_plugin(),),
        components=(page_route(service),),
        listeners=(
            Listener(hikari.MemberDeleteEvent, service.member_left),
            Listener(hikari.MemberCreateEvent, service.member_joined),
        ),
        message_taps=(service.offer,),
        jobs=(Job(name="levels.flush", run=lambda _run: service.flush(), every_s=FLUSH_EVERY_S),),
        on_start=(service.start,),
        on_stop=(service.stop,),
        dependencies={LevelsService: service},
        migrations=levels_migrations(),
        rate_limits={
            "rank": (RateLimitRule(RateLimitScope.USER, limit=3, window_s=10.0),),
            "leaderboard": (RateLimitRule(RateLimitScope.USER, limit=5, window_s=10.0),),
        },
    )
