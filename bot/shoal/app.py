"""The composition root: which features run, and how a worker's parts are wired together.

The only module (with the CLI) that knows every part: settings, storage, the gateway bot,
the command client with its features, health and metrics. Each ``run_*`` function is one
``shoal`` command's body and returns its exit code.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Final

from shoal.features.core.commands import core_module
from shoal.features.levels.card import warm_up_rank_cards
from shoal.features.levels.module import levels_module
from shoal.features.onboarding.module import onboarding_module
from shoal.features.rolemenus.module import rolemenus_module
from shoal.gateway.reporting import MetricsReporter
from shoal.gateway.rest_limiting import RedisGlobalLimiter, SharedGlobalBucketManager
from shoal.gateway.rest_tracing import instrument_rest
from shoal.gateway.running import EXIT_FAILED, EXIT_OK, run_worker
from shoal.interactions.expiring import ExpiredInteractionFilter
from shoal.interactions.generations import ActiveGeneration
from shoal.interactions.identity import WorkerIdentity
from shoal.interactions.syncing import sync_commands
from shoal.kit.building import build_modules, declaring_kit, open_kit, wire_bot
from shoal.kit.images import ImagePool, ImagePoolSettings
from shoal.observability.health import HealthServer
from shoal.observability.heap import settle_heap
from shoal.observability.logging import configure_logging
from shoal.observability.metrics import Metrics
from shoal.observability.status_report import ShardRow, render_status
from shoal.planning.generations import active_generation_of
from shoal.storage.errors import StorageUnavailableError
from shoal.storage.migrating import migrate
from shoal.storage.postgres import close_pool, create_pool
from shoal.storage.probing import (
    postgres_health,
    postgres_probe,
    probing,
    redis_health,
    redis_probe,
)
from shoal.storage.redis_client import close_redis, create_redis, create_redis_when_up
from shoal.storage.redis_keys import RedisKeys
from shoal.storage.shard_registry import read_registry

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shoal.config import DiscordSettings, PostgresSettings, RedisSettings, WorkerSettings
    from shoal.gateway.bot import ShardWorkerBot
    from shoal.interactions.modules import Module
    from shoal.kit.building import ModuleFactory
    from shoal.kit.running import FeatureRuntime
    from shoal.kit.services import FeatureKit
    from shoal.observability.dependencies import DependencyHealth
    from shoal.observability.shard_status import ShardStatus

__all__ = [
    "FEATURES",
    "IMAGES",
    "feature_modules",
    "run_migrate",
    "run_status",
    "run_sync_commands",
    "run_worker_process",
]

_LOG = logging.getLogger(__name__)


FEATURES: Final[tuple[ModuleFactory, ...]] = (
    core_module,
    levels_module,
    onboarding_module,
    rolemenus_module,
)
IMAGES: Final = ImagePoolSettings(warm_ups=(warm_up_rank_cards,))
"""The render processes: each draws a throwaway rank card at start, so the first /rank a
member asks for does not pay for imports and font loading."""
"""Every feature the bot runs, in load order: each a factory taking the feature kit."""


def feature_modules(kit: FeatureKit) -> list[Module]:
    """Return fresh instances of every feature module the bot runs, built on ``kit``."""
    return build_modules(kit, FEATURES)


async def run_migrate(settings: PostgresSettings) -> int:
    """``shoal migrate``: apply every pending migration (safe to run several at once)."""
    modules = feature_modules(declaring_kit("shoal migrate"))
    try:
        applied = await migrate(settings, [m.migrations for m in modules])
    except StorageUnavailableError as error:
        _LOG.error("cannot migrate: %s", error)
        return EXIT_FAILED
    _LOG.info("migrations applied: %d", applied)
    return 0


async def run_sync_commands(settings: DiscordSettings) -> int:
    """``shoal sync-commands``: register every module's commands once (workers never do)."""
    modules = feature_modules(declaring_kit("shoal sync-commands"))
    count = await sync_commands(settings.token, settings.rest_url, modules)
    _LOG.info("registered %d commands", count)
    return 0


class _BotShards:
    """The bot's shard states for /readyz, before the bot exists (then: none ready)."""

    def __init__(self) -> None:
        self.bot: ShardWorkerBot | None = None

    def shard_states(self) -> Mapping[int, ShardStatus]:
        return {} if self.bot is None else self.bot.shard_states()


_REDIS_CONSEQUENCE: Final = (
    "interactions are answered without claims by the last known active generation only, "
    "rate limits are off, shards that need to IDENTIFY wait for it, sessions are saved "
    "when it is back"
)
_POSTGRES_CONSEQUENCE: Final = "what needs the database waits until it is back"


async def run_worker_process(settings: WorkerSettings, *, stop: asyncio.Event) -> int:
    """``shoal worker``: serve this pod's shards, commands, health and metrics until ``stop``."""
    configure_logging(
        settings.log,
        static_fields={
            "pod": settings.sharding.pod_name,
            "generation": settings.sharding.generation,
        },
        secrets=[settings.discord.token, settings.postgres.dsn],
    )
    metrics = Metrics()
    shards = _BotShards()
    health = HealthServer(settings.http, metrics=metrics, shards=shards)
    await health.start()
    try:
        redis = await create_redis_when_up(
            settings.redis, client_name=f"shoal-commands-{settings.sharding.pod_name}", stop=stop
        )
        if redis is None:  # asked to stop before Redis came back
            await health.stop()
            return EXIT_OK
        postgres = await create_pool(
            settings.postgres,
            application_name=f"shoal-worker-{settings.sharding.pod_name}"[:63],
            is_connected_at_start=False,  # a worker runs its shards through a database outage
        )
    except StorageUnavailableError as error:
        _LOG.error("cannot start the worker: %s", error)
        await health.stop()
        return EXIT_FAILED
    redis_up = redis_health(metrics, consequence=_REDIS_CONSEQUENCE)
    postgres_up = postgres_health(metrics, consequence=_POSTGRES_CONSEQUENCE)
    keys = RedisKeys(settings.redis.namespace)
    identity = WorkerIdentity.from_settings(settings.sharding)
    # Read once before the shards start, then every second: listeners never wait on Redis.
    active = ActiveGeneration(redis, keys, generation=identity.generation, health=redis_up)
    reporter = MetricsReporter(metrics)

    async def report_every_second() -> None:
        while True:
            await asyncio.sleep(1.0)
            if shards.bot is not None:
                reporter.report(shards.bot.snapshots())

    reporting = asyncio.create_task(report_every_second(), name="metrics reporting")
    images = ImagePool(metrics.registry, IMAGES)
    try:
        await images.start()  # warms the render processes before any command needs one
        async with (
            probing(redis_up, redis_probe(redis)),
            probing(postgres_up, postgres_probe(postgres)),
            open_kit(
                process=f"worker {settings.sharding.pod_name}",
                redis=redis,
                postgres=postgres,
                keys=keys,
                metrics=metrics,
                identity=identity,
                generation=active,
                redis_health=redis_up,
                cdn_url=settings.discord.cdn_url,
                images=images,
            ) as kit,
        ):
            await active.start()
            return await _serve(settings, kit, shards=shards, stop=stop, health=redis_up)
    finally:
        reporting.cancel()
        await images.close()
        await active.stop()
        await close_pool(postgres)
        await close_redis(redis)
        await health.stop()


async def _serve(
    settings: WorkerSettings,
    kit: FeatureKit,
    *,
    shards: _BotShards,
    stop: asyncio.Event,
    health: DependencyHealth,
) -> int:
    """Build the modules on the bot, run the features' start hooks, serve, then stop them."""
    runtime: FeatureRuntime | None = None
    metrics = kit.metrics

    def prepare(bot: ShardWorkerBot) -> None:
        nonlocal runtime
        shards.bot = bot
        # The fleet shares Discord's global REST limit through Redis (hikari's seam).
        limiter = RedisGlobalLimiter(kit.redis, kit.keys.rest_global_window(), health=health)
        bot.rest._bucket_manager = SharedGlobalBucketManager(  # type: ignore[attr-defined] # noqa: SLF001
            limiter, on_start=lambda: instrument_rest(bot.rest, metrics)
        )
        runtime = wire_bot(bot, kit, FEATURES, redis_health=health).runtime

    expired = ExpiredInteractionFilter(metrics)

    def raw_filter(event_name: str, payload: dict[str, Any]) -> bool:
        # The runtime exists once prepare has run, before any shard connects.
        if runtime is None:
            return expired(event_name, payload)
        return runtime.feed(event_name, payload) and expired(event_name, payload)

    async def start_features() -> None:
        if runtime is not None:
            await runtime.start()
        frozen = settle_heap()  # the bot, its modules and every import are built by now
        _LOG.debug("garbage collector settled: %d objects frozen", frozen)

    try:
        return await run_worker(
            settings,
            stop=stop,
            identify_window_s=settings.discord.identify_window_s,
            prepare_bot=prepare,
            health=health,
            raw_event_filter=raw_filter,
            on_start=start_features,
        )
    finally:
        if runtime is not None:
            await runtime.stop()


async def run_status(settings: RedisSettings, *, now: float) -> tuple[int, str]:
    """``shoal status``: the shard registry as text; returns (exit code, text)."""
    try:
        redis = await create_redis(settings, client_name="shoal-status")
    except StorageUnavailableError as error:
        return EXIT_FAILED, f"cannot read the registry: {error}\n"
    try:
        keys = RedisKeys(settings.namespace)
        entries = await read_registry(redis, keys)
        raw_active = await redis.get(keys.active_generation())
    finally:
        await close_redis(redis)
    rows = [
        ShardRow(
            generation=e.generation,
            shard_id=e.shard_id,
            shard_count=e.shard_count,
            state=e.state,
            guild_count=e.guild_count,
            latency_ms=e.latency_ms,
            pod=e.pod,
            age_s=max(0.0, now - e.updated_at),
        )
        for e in entries
    ]
    try:
        active = active_generation_of(raw_active)  # the workers' own rule (absent: 0)
    except ValueError as error:
        return EXIT_FAILED, f"{keys.active_generation()}: {error}\n"
    return 0, render_status(rows, active_generation=active)
