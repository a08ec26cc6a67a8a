"""Watching Redis and PostgreSQL while a worker runs: probes, and which errors are outages.

Owns the health of the two shared servers as a worker sees them: :func:`redis_health` and
:func:`postgres_health` build their :class:`~shoal.observability.dependencies.
DependencyHealth` (which errors are known connection failures, logged without a
traceback), :data:`REDIS_ERRORS` and :data:`POSTGRES_ERRORS` are what a request that
uses them catches, and :func:`keep_probing` probes one every few seconds while it is up
and every second while it is down, so the gauge is right with no traffic and a recovery
is noticed within a second. Does not own what a request does without a dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Final

import asyncpg
import redis.exceptions

from shoal.observability.dependencies import DependencyHealth

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from redis.asyncio import Redis

    from shoal.observability.metrics import Metrics

__all__ = [
    "DOWN_PROBE_EVERY_S",
    "POSTGRES_ERRORS",
    "REDIS_ERRORS",
    "UP_PROBE_EVERY_S",
    "is_postgres_connection_error",
    "is_redis_connection_error",
    "keep_probing",
    "postgres_health",
    "postgres_probe",
    "probing",
    "redis_health",
    "redis_probe",
]

UP_PROBE_EVERY_S: Final = 5.0
"""While a dependency is up, requests notice an outage first; the probe keeps the gauge
right on a quiet worker."""
DOWN_PROBE_EVERY_S: Final = 1.0
"""While it is down, requests skip it: the probe alone notices that it is back."""
_PROBE_TIMEOUT_S: Final = 2.0  # a PING or SELECT 1 answers in milliseconds when healthy

REDIS_ERRORS: Final = (redis.exceptions.RedisError, OSError, TimeoutError)
"""What a Redis request raises when Redis fails (TimeoutError: a caller's own deadline)."""
POSTGRES_ERRORS: Final = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
"""What a PostgreSQL request raises when the server fails."""


def is_redis_connection_error(error: BaseException) -> bool:
    """Return whether ``error`` means Redis cannot be reached (no traceback needed)."""
    return isinstance(
        error,
        (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError, TimeoutError),
    )


def is_postgres_connection_error(error: BaseException) -> bool:
    """Return whether ``error`` means PostgreSQL cannot be reached (no traceback needed)."""
    return isinstance(
        error,
        (
            OSError,
            TimeoutError,
            asyncpg.PostgresConnectionError,  # incl. the connection was closed under us
            asyncpg.CannotConnectNowError,  # starting up or shutting down
            asyncpg.AdminShutdownError,
            asyncpg.TooManyConnectionsError,
            asyncpg.InterfaceError,  # e.g. the pool is closing
        ),
    )


def redis_health(metrics: Metrics | None, *, consequence: str = "") -> DependencyHealth:
    """Return the health of the shared Redis (metric label ``redis``)."""
    return DependencyHealth(
        "redis",
        label="Redis",
        consequence=consequence,
        metrics=metrics,
        is_expected=is_redis_connection_error,
    )


def postgres_health(metrics: Metrics | None, *, consequence: str = "") -> DependencyHealth:
    """Return the health of the shared PostgreSQL (metric label ``postgres``)."""
    return DependencyHealth(
        "postgres",
        label="PostgreSQL",
        consequence=consequence,
        metrics=metrics,
        is_expected=is_postgres_connection_error,
    )


def redis_probe(client: Redis) -> Callable[[], Awaitable[object]]:
    """Return a probe of ``client``'s server: one PING."""
    return client.ping


def postgres_probe(pool: asyncpg.Pool[asyncpg.Record]) -> Callable[[], Awaitable[object]]:
    """Return a probe of ``pool``'s server: one ``SELECT 1``."""

    async def select_one() -> object:
        return await pool.fetchval("SELECT 1")

    return select_one


async def keep_probing(
    health: DependencyHealth,
    probe: Callable[[], Awaitable[object]],
    *,
    up_every_s: float = UP_PROBE_EVERY_S,
    down_every_s: float = DOWN_PROBE_EVERY_S,
    timeout_s: float = _PROBE_TIMEOUT_S,
) -> None:
    """Probe the dependency now and then for ever, reporting to ``health`` (cancel to stop).

    Also writes the outage's periodic summary when it is due.
    """
    errors = (*REDIS_ERRORS, *POSTGRES_ERRORS)
    while True:
        try:
            async with asyncio.timeout(timeout_s):
                await probe()
        except errors as error:
            health.report_failure(error, operation="probe")
        else:
            health.report_success()
        health.summarise_if_due()
        await asyncio.sleep(up_every_s if health.is_up else down_every_s)


@contextlib.asynccontextmanager
async def probing(
    health: DependencyHealth, probe: Callable[[], Awaitable[object]], **timing: float
) -> AsyncIterator[None]:
    """Run :func:`keep_probing` for the ``async with`` block."""
    task = asyncio.create_task(keep_probing(health, probe, **timing), name=f"probe {health.name}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
