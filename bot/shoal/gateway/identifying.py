"""The cluster-wide identify gate: one IDENTIFY per bucket per window, across every process.

Discord allows one IDENTIFY per bucket (``shard_id % max_concurrency``) per window and
answers a second one with op 9. hikari paces identifies per process only, so every
worker of a bot asks this gate before each IDENTIFY (the first one and every
re-identify after op 9).

Redis state per bucket: a lock (set for one window when a shard gets its turn, restarted
for a window plus a small margin when its IDENTIFY is sent, never deleted early, so the
next IDENTIFY waits out the window; a crashed holder blocks the bucket for at most one
window and the margin), a queue of waiting shards scored by shard id (lowest first),
and each waiter's heartbeat deadline (a waiter that died is dropped once its deadline
passes). One Lua script does a poll atomically. Timing decisions come from
``shoal.planning.identifying``. Does not own what an IDENTIFY is (the shard) or the
window's length (configuration).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Final, Protocol

from shoal.planning.identifying import retry_delay_s, send_margin_s, waiter_ttl_ms
from shoal.planning.shards import bucket_of

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

__all__ = ["IdentifyGate", "RedisIdentifyGate"]

_LOG = logging.getLogger(__name__)

# KEYS: queue, waiters, lock. ARGV: member, shard id (its score), window ms, waiter ttl ms.
# Returns {1, window ms} when the turn is granted, else {0, the lock's PTTL}.
_POLL: Final = """
local queue, waiters, lock = KEYS[1], KEYS[2], KEYS[3]
local member, shard_id = ARGV[1], tonumber(ARGV[2])
local window_ms, ttl_ms = tonumber(ARGV[3]), tonumber(ARGV[4])
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', waiters, '-inf', now_ms, 'LIMIT', 0, 1000)
for _, gone in ipairs(dead) do
  redis.call('ZREM', queue, gone)
  redis.call('ZREM', waiters, gone)
end
redis.call('ZADD', queue, shard_id, member)
redis.call('ZADD', waiters, now_ms + ttl_ms, member)
redis.call('PEXPIRE', queue, 2 * ttl_ms)
redis.call('PEXPIRE', waiters, 2 * ttl_ms)
local lock_ttl = redis.call('PTTL', lock)
if lock_ttl ~= -2 or redis.call('ZRANGE', queue, 0, 0)[1] ~= member then
  return {0, lock_ttl}
end
redis.call('SET', lock, member, 'PX', window_ms)
redis.call('ZREM', queue, member)
redis.call('ZREM', waiters, member)
return {1, window_ms}
"""
# KEYS: lock. ARGV: member, held ms. Restarts the window if this member still holds it.
_RESTART_WINDOW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class IdentifyGate(Protocol):
    """Decides when a shard may IDENTIFY, for every process of a bot."""

    async def wait_turn(self, shard_id: int) -> None:
        """Return when ``shard_id`` may send its IDENTIFY now."""

    async def identifying(self, shard_id: int) -> None:
        """Return when ``shard_id`` may send its IDENTIFY on the connection it opened.

        Called right before the IDENTIFY goes out: the bucket's window then runs from
        the send (plus a margin for Discord's receipt), so neither a slow connection
        between :meth:`wait_turn` and the IDENTIFY nor a slow READY lets the next shard
        in early or holds it back. If the turn lapsed meanwhile, waits for a new one.
        """


class RedisIdentifyGate:
    """An :class:`IdentifyGate` shared through Redis by every worker of a bot."""

    def __init__(
        self, redis: Redis, keys: RedisKeys, *, max_concurrency: int, window_s: float
    ) -> None:
        """Gate ``max_concurrency`` buckets of one IDENTIFY per ``window_s`` seconds."""
        if max_concurrency < 1:
            msg = f"max_concurrency must be at least 1, got {max_concurrency}"
            raise ValueError(msg)
        self._redis = redis
        self._keys = keys
        self._max_concurrency = max_concurrency
        self._window_s = window_s
        self._window_ms = max(1, round(window_s * 1000))
        self._held_ms = self._window_ms + round(send_margin_s(window_s) * 1000)
        self._waiter_ttl_ms = waiter_ttl_ms(window_s)
        # Unique per gate: two generations may queue the same shard id in one bucket.
        self._instance = uuid.uuid4().hex
        self._poll = redis.register_script(_POLL)
        self._restart_window = redis.register_script(_RESTART_WINDOW)

    @property
    def window_s(self) -> float:
        """The identify window in seconds."""
        return self._window_s

    def _member(self, shard_id: int) -> str:
        return f"{shard_id}:{self._instance}"

    async def wait_turn(self, shard_id: int) -> None:
        """Queue ``shard_id`` in its bucket and return when it holds the bucket's window.

        Cancelling the wait leaves the queue, so the shards behind move up at once.
        """
        bucket = bucket_of(shard_id, self._max_concurrency)
        member = self._member(shard_id)
        keys = [
            self._keys.identify_turn(bucket),
            self._keys.identify_waiters(bucket),
            self._keys.identify_bucket(bucket),
        ]
        args: list[str | int] = [member, shard_id, self._window_ms, self._waiter_ttl_ms]
        try:
            while True:
                is_granted, lock_ttl_ms = await self._poll(keys=keys, args=args)
                if is_granted:
                    _LOG.debug("identify turn granted", extra={"shard_id": shard_id})
                    return
                await asyncio.sleep(
                    retry_delay_s(lock_ttl_ms=int(lock_ttl_ms), window_s=self._window_s)
                )
        except BaseException:
            await self._leave(keys, member)
            raise

    async def _leave(self, keys: list[str], member: str) -> None:
        queue, waiters, _ = keys
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(queue, member)
                pipe.zrem(waiters, member)
                await pipe.execute()
        except Exception:  # noqa: BLE001 - leaving is best effort: the heartbeat lapses anyway
            _LOG.warning("could not leave the identify queue", exc_info=True)

    async def identifying(self, shard_id: int) -> None:
        """Restart the bucket's window from now; wait for a new turn if this one lapsed."""
        lock = self._keys.identify_bucket(bucket_of(shard_id, self._max_concurrency))
        args: list[str | int] = [self._member(shard_id), self._held_ms]
        while not await self._restart_window(keys=[lock], args=args):
            # The turn ran out while the connection opened (slower than a window):
            # another shard may be identifying now, so queue again rather than risk op 9.
            _LOG.warning(
                "identify turn lapsed before the IDENTIFY was sent; waiting for a new turn",
                extra={"shard_id": shard_id},
            )
            await self.wait_turn(shard_id)
