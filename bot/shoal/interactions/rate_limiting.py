"""Counting command uses in Redis windows shared by every worker, then judging them.

Each rule's window is one Redis counter per (scope, subject, command): the first use sets it
with an expiry of one window (``SET NX PX``), every use increments it, and its remaining
time says when the window ends. The three commands run in one MULTI/EXEC for all of a
command's rules, so a crash can never leave a counter without its expiry. The decision is
:func:`shoal.interactions.limits.judge`.

If Redis cannot be reached the use is allowed (fail open), like the interaction claim.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from redis.exceptions import RedisError

from shoal.interactions.limits import ALLOWED, RateLimitVerdict, WindowUsage, judge, subject_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.asyncio import Redis

    from shoal.interactions.limits import RateLimitRule
    from shoal.storage.redis_keys import RedisKeys

__all__ = ["RateLimiter", "RedisRateLimiter"]

logger = logging.getLogger(__name__)


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

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        """Count in ``redis`` under ``keys``."""
        self._redis = redis
        self._keys = keys

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
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for rule, subject in applicable:
                    key = self._keys.rate_limit(rule.scope.value, subject, command)
                    pipe.set(key, 0, nx=True, px=rule.window_ms)
                    pipe.incr(key)
                    pipe.pttl(key)
                replies = await pipe.execute()
        except (RedisError, OSError):
            logger.warning("cannot count /%s in Redis; allowing it", command, exc_info=True)
            return ALLOWED
        usages = [
            WindowUsage(rule=rule, count=int(replies[3 * i + 1]), ttl_ms=int(replies[3 * i + 2]))
            for i, (rule, _) in enumerate(applicable)
        ]
        return judge(usages)
