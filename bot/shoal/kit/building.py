"""Building the feature kit and the modules: one builder for every process.

:func:`open_kit` builds a worker's kit on the Redis client and PostgreSQL pool the
process opened (the guild settings cache started and subscribed to invalidations, the
image pool warmed up) and closes what it started on exit; :func:`declaring_kit` builds
the kit of a process that only declares modules (``shoal migrate``, ``shoal
sync-commands``), with no live service. :func:`build_modules` calls the feature
factories with a kit and declares their settings schemas on it. The worker, both
commands and the tests all go through these, so no caller copies the wiring.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, TypeAlias

from shoal.interactions.claiming import RedisInteractionClaims
from shoal.interactions.client import build_command_client
from shoal.interactions.gating import ListenerGate
from shoal.interactions.generations import RedisEventClaims
from shoal.interactions.rate_limiting import RedisRateLimiter
from shoal.kit.jobs import JobRunner
from shoal.kit.running import FeatureRuntime
from shoal.kit.services import DISCORD_CDN_URL, FeatureKit, KitServiceUnavailableError
from shoal.kit.settings import FeatureSettings, ModuleEntry
from shoal.observability.metrics import Metrics
from shoal.storage.guild_settings_caching import CachedGuildSettingsRepository
from shoal.storage.guild_settings_repository import PostgresGuildSettingsRepository
from shoal.storage.migrating import core_migrations
from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence

    import arc
    import asyncpg
    import hikari
    from redis.asyncio import Redis

    from shoal.interactions.gating import GenerationView
    from shoal.interactions.identity import WorkerIdentity
    from shoal.interactions.middleware import CommandSettings
    from shoal.interactions.modules import Module
    from shoal.kit.images import ImagePool
    from shoal.kit.services import Clock
    from shoal.observability.dependencies import DependencyHealth
    from shoal.storage.migration_plans import Migration

__all__ = [
    "ModuleFactory",
    "WiredBot",
    "build_modules",
    "declaring_kit",
    "migrations_of",
    "open_kit",
    "wire_bot",
]

ModuleFactory: TypeAlias = "Callable[[FeatureKit], Module]"
"""A feature's factory: the kit in, its module out."""


def declaring_kit(process: str, *, namespace: str = "default") -> FeatureKit:
    """Return the kit of a process that only declares modules: no live service."""
    return FeatureKit(process=process, keys=RedisKeys(namespace), metrics=Metrics())


def migrations_of(modules: Sequence[Module]) -> list[Migration]:
    """Return core's migrations then each module's, in the order ``shoal migrate`` applies."""
    return [*core_migrations(), *(m for module in modules for m in module.migrations)]


def build_modules(
    kit: FeatureKit, factories: Sequence[Callable[[FeatureKit], Module]]
) -> list[Module]:
    """Call each factory with ``kit``, declare the modules' settings schemas, return them."""
    modules = [factory(kit) for factory in factories]
    try:
        settings = kit.settings
    except KitServiceUnavailableError:  # a declaring kit: nothing reads settings
        return modules
    for module in modules:
        settings.declare_module(
            ModuleEntry(
                name=module.name,
                title=module.shown_name,
                is_switchable=module.is_switchable,
                is_on_by_default=module.is_on_by_default,
                schema=module.settings,
            )
        )
    return modules


@contextlib.asynccontextmanager
async def open_kit(  # noqa: PLR0913 - the process's services, all keyword-only
    *,
    process: str,
    redis: Redis,
    postgres: asyncpg.Pool[asyncpg.Record],
    keys: RedisKeys,
    metrics: Metrics,
    identity: WorkerIdentity,
    generation: GenerationView,
    redis_health: DependencyHealth | None = None,
    cdn_url: str = DISCORD_CDN_URL,
    clock: Clock | None = None,
    images: ImagePool | None = None,
) -> AsyncIterator[FeatureKit]:
    """Yield a worker's kit on ``redis`` and ``postgres``; close what it started on exit.

    The caller owns (opens and closes) ``redis``, ``postgres`` and ``images``.
    """
    cache = CachedGuildSettingsRepository(
        PostgresGuildSettingsRepository(postgres),
        redis=redis,
        channel=keys.guild_settings_channel(),
    )
    await cache.start()
    try:
        yield FeatureKit(
            process=process,
            keys=keys,
            metrics=metrics,
            clock=clock,
            cdn_url=cdn_url,
            redis=redis,
            postgres=postgres,
            settings=FeatureSettings(cache),
            event_claims=RedisEventClaims(
                redis, keys, owner=identity.claim_owner, health=redis_health
            ),
            images=images,
            identity=identity,
            generation=generation,
        )
    finally:
        await cache.close()


@dataclasses.dataclass(frozen=True, slots=True)
class WiredBot:
    """A bot's command client and the features' runtime, wired by :func:`wire_bot`."""

    client: arc.GatewayClient
    modules: Sequence[Module]
    runtime: FeatureRuntime


def wire_bot(
    bot: hikari.GatewayBotAware,
    kit: FeatureKit,
    factories: Sequence[Callable[[FeatureKit], Module]],
    *,
    redis_health: DependencyHealth | None = None,
    command_settings: CommandSettings | None = None,
) -> WiredBot:
    """Build the modules on ``kit`` bound to ``bot``; install the client and the runtime.

    Every interaction enters through one gate (claims in Redis, the generation rule when
    Redis cannot be asked), commands and components answer a module switched off with a
    note, and listeners, taps and jobs run on the active generation only.
    """
    bound = kit.with_app(bot)
    modules = build_modules(bound, factories)
    metrics = kit.metrics
    client = build_command_client(
        bot,
        modules=modules,
        identity=kit.identity,
        gate=ListenerGate(
            claims=RedisInteractionClaims(
                kit.redis, kit.keys, owner=kit.identity.claim_owner, health=redis_health
            ),
            generation=kit.generation,
            metrics=metrics,
        ),
        event_claims=kit.event_claims,
        rate_limiter=RedisRateLimiter(kit.redis, kit.keys, health=redis_health),
        metrics=metrics,
        settings=command_settings,
        switch=kit.settings,
    )
    client.set_type_dependency(FeatureKit, bound)
    jobs = [job for module in modules for job in module.jobs]
    runner = None
    if jobs:
        runner = JobRunner(
            kit.redis,
            kit.keys,
            owner=kit.identity.claim_owner,
            generation=kit.generation,
            jobs=jobs,
            health=redis_health,
            registry=metrics.registry,
        )
    runtime = FeatureRuntime(modules, generation=kit.generation, jobs=runner)
    return WiredBot(client=client, modules=modules, runtime=runtime)
