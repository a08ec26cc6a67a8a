"""A shard worker's life: connect Redis, start the shards, serve until told to stop.

:func:`run_worker` is what ``shoal worker`` runs. It wires the Redis identify gate,
session store and shard registry into a :class:`ShardWorkerBot`, starts every local
shard, keeps sessions and the registry fresh, and watches the shards. When ``stop`` is
set (SIGTERM) it closes every shard with a resumable code and saves the sessions, so the
next worker on these shards RESUMEs. A fatal close code is logged once, recorded for the
operator, and ends the worker with :data:`EXIT_FATAL_CLOSE`. Does not own signals,
logging setup or the HTTP server (the caller and ``shoal.observability``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Final

from shoal.gateway.bot import ShardWorkerBot
from shoal.gateway.closing import fatal_close_of, record_fatal_close
from shoal.gateway.identifying import RedisIdentifyGate
from shoal.gateway.registry import REGISTRY_REFRESH_S, ShardRegistry
from shoal.gateway.sessions import RedisSessionStore
from shoal.storage.errors import StorageUnavailableError
from shoal.storage.probing import REDIS_ERRORS, redis_health
from shoal.storage.redis_client import close_redis, create_redis
from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from redis.asyncio import Redis

    from shoal.config import WorkerSettings
    from shoal.gateway.closing import FatalClose
    from shoal.gateway.counting import RawEventFilter
    from shoal.observability.dependencies import DependencyHealth

__all__ = ["EXIT_FAILED", "EXIT_FATAL_CLOSE", "EXIT_OK", "run_worker"]

_LOG = logging.getLogger(__name__)

EXIT_OK: Final = 0
"""Stopped when asked; sessions saved for the next worker."""
EXIT_FAILED: Final = 1
"""Something unexpected (Redis unreachable at start, an error in a shard); see the log."""
EXIT_FATAL_CLOSE: Final = 3
"""Discord closed a shard with a code reconnecting cannot fix; the reason is in Redis."""


async def run_worker(
    settings: WorkerSettings,
    *,
    stop: asyncio.Event,
    identify_window_s: float | None = None,
    prepare_bot: Callable[[ShardWorkerBot], None] | None = None,
    health: DependencyHealth | None = None,
    raw_event_filter: RawEventFilter | None = None,
    on_start: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Run this pod's shards until ``stop`` is set or one closes fatally; return the exit code.

    Args:
        settings: The worker's settings.
        stop: Set it (e.g. on SIGTERM) to close the shards resumably and return.
        identify_window_s: Each identify bucket's window; by default
            ``settings.discord.identify_window_s`` (Discord: 5 s; the simulator's may be
            shorter).
        prepare_bot: Called with the bot before it starts (subscribe listeners here).
        on_start: Awaited after ``prepare_bot``, before any shard connects (the features'
            start hooks).
        health: Redis's health as this process sees it (the caller probes it); a
            private one by default.
        raw_event_filter: Drops dispatches before hikari parses them (see
            :class:`~shoal.gateway.counting.CountingEvents`).
    """
    health = health or redis_health(None)
    pod = settings.sharding.pod_name
    window_s = (
        settings.discord.identify_window_s if identify_window_s is None else identify_window_s
    )
    try:
        redis = await create_redis(settings.redis, client_name=f"shoal-worker-{pod}")
    except StorageUnavailableError as error:
        _LOG.error("cannot start the worker: %s", error)
        return EXIT_FAILED
    try:
        keys = RedisKeys(settings.redis.namespace)
        bot = ShardWorkerBot(
            settings,
            sessions=RedisSessionStore(redis, keys),
            gate_for=lambda max_concurrency: RedisIdentifyGate(
                redis, keys, max_concurrency=max_concurrency, window_s=window_s, health=health
            ),
            raw_event_filter=raw_event_filter,
        )
        if prepare_bot is not None:
            prepare_bot(bot)
        if on_start is not None:
            await on_start()
        registry = ShardRegistry(
            redis,
            keys,
            pod_name=pod,
            generation=settings.sharding.generation,
            shard_count=settings.sharding.total_shards,
        )
        return await _run(bot, registry, redis=redis, keys=keys, pod=pod, stop=stop, health=health)
    finally:
        await close_redis(redis)


async def _run(
    bot: ShardWorkerBot,
    registry: ShardRegistry,
    *,
    redis: Redis,
    keys: RedisKeys,
    pod: str,
    stop: asyncio.Event,
    health: DependencyHealth,
) -> int:
    background = [
        asyncio.create_task(bot.keep_sessions_flushed(health=health), name="session flush"),
        asyncio.create_task(_keep_registered(bot, registry, health), name="shard registry"),
    ]
    exit_code = EXIT_OK
    fatal: FatalClose | None = None
    try:
        fatal = await _serve(bot, registry, stop, health)
    except Exception as error:  # noqa: BLE001 - every failure ends in a clean, resumable stop
        fatal = fatal_close_of(error, shard_id=None, at=time.time())
        if fatal is None:
            _LOG.exception("the worker failed; stopping it")
            exit_code = EXIT_FAILED
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    if fatal is not None:
        exit_code = EXIT_FATAL_CLOSE
        _LOG.error(
            "fatal gateway close %s on shard %s (%s): stopping the worker",
            fatal.code,
            "-" if fatal.shard_id is None else fatal.shard_id,
            fatal.reason,
            extra={"shard_id": fatal.shard_id, "pod": pod},
        )
        try:
            await record_fatal_close(redis, keys, pod_name=pod, fatal=fatal)
        except Exception:  # noqa: BLE001 - the log line above still says why
            _LOG.warning("could not record the fatal close in Redis", exc_info=True)
    await bot.close_for_restart()
    await _publish(bot, registry, health)  # a failure: the entries expire by themselves
    _LOG.info("worker stopped", extra={"pod": pod, "exit_code": exit_code})
    return exit_code


async def _serve(
    bot: ShardWorkerBot, registry: ShardRegistry, stop: asyncio.Event, health: DependencyHealth
) -> FatalClose | None:
    """Start the shards, then watch them; None when ``stop`` was set."""
    started = await _unless_stopped(bot.start_worker(), stop)
    if not started:
        return None
    _LOG.info("every shard is ready", extra={"shards": bot.shard_ids})
    await _publish(bot, registry, health)
    supervising = asyncio.create_task(bot.supervise(), name="shard supervision")
    if not await _unless_stopped(supervising, stop):
        return None
    return supervising.result()


async def _unless_stopped(
    work: Coroutine[object, object, object] | asyncio.Task[object], stop: asyncio.Event
) -> bool:
    """Run ``work`` until it ends (True; its error is raised) or ``stop`` is set (False)."""
    task = work if isinstance(work, asyncio.Task) else asyncio.create_task(work)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


async def _keep_registered(
    bot: ShardWorkerBot, registry: ShardRegistry, health: DependencyHealth
) -> None:
    """Rewrite the registry entries every few seconds until cancelled (not while Redis is down)."""
    while True:
        await asyncio.sleep(REGISTRY_REFRESH_S)
        await _publish(bot, registry, health)  # Redis may come back: keep the shards running


async def _publish(bot: ShardWorkerBot, registry: ShardRegistry, health: DependencyHealth) -> None:
    """Write the registry entries now, unless Redis is down (a failure goes to its health)."""
    if not health.is_up:
        return
    try:
        await registry.publish(bot.snapshots(), now=time.time())
    except REDIS_ERRORS as error:
        health.report_failure(error, operation="registry")
    else:
        health.report_success()
