"""A global REST rate limit shared by every pod of a bot, kept in Redis.

Discord allows 50 REST requests per second per bot, counted across all its processes;
hikari only paces the requests of its own process. :class:`SharedGlobalBucketManager`
wraps hikari's bucket manager so that every rate-limited request first takes a slot in a
Redis sliding window that all pods share. Interaction callbacks (no rate limit in
hikari) and webhook routes (interaction follow-ups) are exempt, as on Discord.

When Redis cannot be reached (or is known to be down) a request goes ahead without a
slot (fail open: hikari still paces this process and backs off on a 429), counted as
served without Redis; the outage is logged once by Redis's health.

Alternative: point ``SHOAL_REST_URL`` at a REST proxy such as nirn-proxy, which then
owns the limit for the whole fleet; leave this limiter off in that case.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import TYPE_CHECKING, Final

from hikari.impl import buckets
from typing_extensions import override

from shoal.storage.probing import REDIS_ERRORS, redis_health

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import redis.asyncio as redis_asyncio
    from hikari.internal import routes

    from shoal.observability.dependencies import DependencyHealth

__all__ = ["RedisGlobalLimiter", "SharedGlobalBucketManager"]

#: Sliding window in Redis time, so pods with skewed clocks agree. Returns 0 when a slot
#: was taken, else the microseconds until the oldest slot leaves the window.
_TAKE_SLOT: Final = """
local now_parts = redis.call('TIME')
local now_us = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local window_us = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_us - window_us)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now_us, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.floor(window_us / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window_us - now_us)
"""
_TIMEOUT_S: Final = 1.0  # one script run; longer is a hung Redis, and the request is waiting
#: Discord's global limit per bot.
DEFAULT_LIMIT_PER_S: Final = 50
#: Slots live slightly longer than a second: requests taken at the edge of a window may
#: reach Discord a few milliseconds apart, and Discord's window is not aligned with ours.
DEFAULT_WINDOW_S: Final = 1.1


class RedisGlobalLimiter:
    """At most ``limit`` slots per ``window_s`` across every process sharing ``key``."""

    def __init__(
        self,
        client: redis_asyncio.Redis,
        key: str,
        *,
        limit: int = DEFAULT_LIMIT_PER_S,
        window_s: float = DEFAULT_WINDOW_S,
        health: DependencyHealth | None = None,
    ) -> None:
        """Share the window stored at ``key`` (one per bot token).

        ``health`` is Redis's as this process sees it (a private one by default).
        """
        if limit < 1 or window_s <= 0:
            msg = "limit must be at least 1 and window_s positive"
            raise ValueError(msg)
        self._client = client
        self._key = key
        self._limit = limit
        self._window_us = int(window_s * 1_000_000)
        self._script = client.register_script(_TAKE_SLOT)
        self._health = health or redis_health(None)

    async def take(self) -> None:
        """Wait until a slot is free, then take it (at once when Redis cannot be asked)."""
        member = secrets.token_hex(8)
        health = self._health
        while True:
            if not health.is_up:
                health.count_degraded("rest_limit")
                return
            try:
                async with asyncio.timeout(_TIMEOUT_S):
                    reply = await self._script(
                        keys=[self._key], args=[self._window_us, self._limit, member]
                    )
            except REDIS_ERRORS as error:
                health.report_failure(error, operation="rest_limit")
                health.count_degraded("rest_limit")
                return
            health.report_success()
            wait_us = int(reply)
            if wait_us <= 0:
                return
            await asyncio.sleep(wait_us / 1_000_000)


class SharedGlobalBucketManager(buckets.RESTBucketManager):
    """hikari's per-route buckets, plus a slot from the fleet-wide global limiter."""

    __slots__ = ("_limiter", "_on_start")

    def __init__(
        self,
        limiter: RedisGlobalLimiter,
        max_rate_limit: float = 300.0,
        *,
        on_start: Callable[[], object] | None = None,
    ) -> None:
        """Wrap hikari's bucket manager (``max_rate_limit`` as in hikari).

        ``on_start`` runs when hikari starts its REST client, right after it made its
        HTTP session (the worker instruments the session then).
        """
        super().__init__(max_rate_limit)
        self._limiter = limiter
        self._on_start = on_start

    @override
    def start(self, poll_period: float = 20.0, expire_after: float = 10.0) -> None:
        """Start hikari's bucket bookkeeping, then call ``on_start``."""
        super().start(poll_period, expire_after)
        if self._on_start is not None:
            self._on_start()

    @override
    def acquire_bucket(
        self, compiled_route: routes.CompiledRoute, authentication: str | None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Take a global slot (unless the route is exempt), then hikari's route bucket."""
        bucket = super().acquire_bucket(compiled_route, authentication)
        if is_global_exempt(compiled_route.route.path_template):
            return bucket
        return self._limited(bucket)

    @contextlib.asynccontextmanager
    async def _limited(
        self, bucket: contextlib.AbstractAsyncContextManager[None]
    ) -> AsyncIterator[None]:
        await self._limiter.take()
        async with bucket:
            yield


def is_global_exempt(path_template: str) -> bool:
    """Return whether Discord exempts a route from the global limit (interactions, webhooks)."""
    return path_template.startswith(("/interactions/", "/webhooks/"))
