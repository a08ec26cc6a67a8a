"""Counting command uses in Redis windows shared by every worker, then judging them.

Each rule's window is one Redis counter per (scope, subject, command): the first use sets it
with an expiry of one window (``SET NX PX``), every use increments it, and its remaining
time says when the window ends. The three commands run in one MULTI/EXEC for all of a
command's rules, so a crash can never leave a counter without its expiry. The decision is
:func:`shoal.interactions.limits.judge`.

If Redis cannot be reached (or is known to be down: it is then not even asked) the use is
allowed (fail open) and counted as served without Redis; the outage is logged once by
Redis's health, not per use.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final, Protocol

from shoal.interactions.limits import ALLOWED, RateLimitVerdict, WindowUsage, judge, subject_of
from shoal.storage.probing import REDIS_ERRORS, redis_health

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.asyncio import Redis

    from shoal.interactions.limits import RateLimitRule
    from shoal.observability.dependencies import DependencyHealth
    from shoal.storage.redis_keys import RedisKeys

__all__ = ["RateLimiter", "RedisRateLimiter"]

_TIMEOUT_S: Final = 1.0  # one round trip; longer is a hung Redis, and the user is waiting


class RateLimiter(Protocol):
    """Counts a command use against its rules and says whether it is allowed."""

    async def check(
        self,
        *,
        command: str,
        user_id: int,
        guild_id: int | None,
        rules: Sequence[RateLimitRule],
    ) -> RateLimitVerdict:
        """Count one use of ``command`` and judge it against ``rules``."""
        ...


class RedisRateLimiter:
    """Fixed windows kept in Redis, shared by every worker of the bot."""

    def __init__(
        self, redis: Redis, keys: RedisKeys, *, health: DependencyHealth | None = None
    ) -> None:
        """Count in ``redis`` under ``keys``; ``health`` is Redis's (private by default)."""
        self._redis = redis
        self._keys = keys
        self._health = health or redis_health(None)

    async def check(
        self,
        *,
        command: str,
        user_id: int,
        guild_id: int | None,
        rules: Sequence[RateLimitRule],
    ) -> RateLimitVerdict:
        """Count one use of ``command`` in every applicable window and judge it."""
        applicable = [
            (rule, subject)
            for rule in rules
            if (subject := subject_of(rule, user_id=user_id, guild_id=guild_id)) is not None
        ]
        if not applicable:
            return ALLOWED
        health = self._health
        if not health.is_up:
            health.count_degraded("rate_limit")
            return ALLOWED
        try:
            async with asyncio.timeout(_TIMEOUT_S), self._redis.pipeline(transaction=True) as pipe:
                for rule, subject in applicable:
                    key = self._keys.rate_limit(rule.scope.value, subject, command)
                    pipe.set(key, 0, nx=True, px=rule.window_ms)
                    pipe.incr(key)
                    pipe.pttl(key)
                replies = await pipe.execute()
        except REDIS_ERRORS as error:
            health.report_failure(error, operation="rate_limit")
            health.count_degraded("rate_limit")
            return ALLOWED
        health.report_success()
        usages = [
            WindowUsage(rule=rule, count=int(replies[3 * i + 1]), ttl_ms=int(replies[3 * i + 2]))
            for i, (rule, _) in enumerate(applicable)
        ]
        return judge(usages)
