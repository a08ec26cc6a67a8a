"""The composition root: which features run, and how a worker's parts are wired together.

The only module (with the CLI) that knows every part: settings, storage, the gateway bot,
the command client with its features, health and metrics. Each ``run_*`` function is one
``shoal`` command's body and returns its exit code.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

from shoal.features.core.commands import core_module
from shoal.gateway.reporting import MetricsReporter
from shoal.gateway.rest_limiting import RedisGlobalLimiter, SharedGlobalBucketManager
from shoal.gateway.rest_tracing import instrument_rest
from shoal.gateway.running import EXIT_FAILED, EXIT_OK, run_worker
from shoal.interactions.claiming import RedisInteractionClaims
from shoal.interactions.client import build_command_client
from shoal.interactions.expiring import ExpiredInteractionFilter
from shoal.interactions.gating import ListenerGate
from shoal.interactions.generations import ActiveGeneration, RedisEventClaims
from shoal.interactions.identity import WorkerIdentity
from shoal.interactions.rate_limiting import RedisRateLimiter
from shoal.interactions.syncing import sync_commands
from shoal.observability.health import HealthServer
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
    from shoal.observability.shard_status import ShardStatus

__all__ = [
    "feature_modules",
    "run_migrate",
    "run_status",
    "run_sync_commands",
    "run_worker_process",
]

_LOG = logging.getLogger(__name__)


def feature_modules() -> list[Module]:
    """Return fresh instances of every feature module the bot runs, in load order."""
    return [core_module()]


async def run_migrate(settings: PostgresSettings) -> int:
    """``shoal migrate``: apply every pending migration (safe to run several at once)."""
    try:
        applied = await migrate(settings, [m.migrations for m in feature_modules()])
    except StorageUnavailableError as error:
        _LOG.error("cannot migrate: %s", error)
        return EXIT_FAILED
    _LOG.info("migrations applied: %d", applied)
    return 0


async def run_sync_commands(settings: DiscordSettings) -> int:
    """``shoal sync-commands``: register every module's commands once (workers never do)."""
    count = await sync_commands(settings.token, settings.rest_url, feature_modules())
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

    def prepare(bot: ShardWorkerBot) -> None:
        shards.bot = bot
        # The fleet shares Discord's global REST limit through Redis (hikari's seam).
        limiter = RedisGlobalLimiter(redis, keys.rest_global_window(), health=redis_up)
        bot.rest._bucket_manager = SharedGlobalBucketManager(  # type: ignore[attr-defined] # noqa: SLF001
            limiter, on_start=lambda: instrument_rest(bot.rest, metrics)
        )
        owner = identity.claim_owner
        build_command_client(
            bot,
            modules=feature_modules(),
            identity=identity,
            gate=ListenerGate(
                claims=RedisInteractionClaims(redis, keys, owner=owner, health=redis_up),
                generation=active,
                metrics=metrics,
            ),
            event_claims=RedisEventClaims(redis, keys, owner=owner, health=redis_up),
            rate_limiter=RedisRateLimiter(redis, keys, health=redis_up),
            metrics=metrics,
        )

    reporter = MetricsReporter(metrics)

    async def report_every_second() -> None:
        while True:
            await asyncio.sleep(1.0)
            if shards.bot is not None:
                reporter.report(shards.bot.snapshots())

    reporting = asyncio.create_task(report_every_second(), name="metrics reporting")
    try:
        async with (
            probing(redis_up, redis_probe(redis)),
            probing(postgres_up, postgres_probe(postgres)),
        ):
            await active.start()
            return await run_worker(
                settings,
                stop=stop,
                identify_window_s=settings.discord.identify_window_s,
                prepare_bot=prepare,
                health=redis_up,
                raw_event_filter=ExpiredInteractionFilter(metrics),
            )
    finally:
        reporting.cancel()
        await active.stop()
        await close_pool(postgres)
        await close_redis(redis)
        await health.stop()


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
