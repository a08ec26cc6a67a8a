"""The cluster-wide identify gate: one IDENTIFY per bucket per window, across every process.

Discord allows one IDENTIFY per bucket (``shard_id % max_concurrency``) per window and
answers a second one with op 9. hikari paces identifies per process only, so every
worker of a bot asks this gate before each IDENTIFY (the first one and every
re-identify after op 9).

Redis state per bucket: a lock (set for one window when a shard gets its turn, restarted
for a window plus a small margin when its IDENTIFY is sent, and extended to a full window
from READY if READY comes later than the margin, never deleted early, so the next
IDENTIFY waits out the window; a crashed holder blocks the bucket for at most one window
and the margin), a queue of waiting shards scored by shard id (lowest first), and each
waiter's heartbeat deadline (a waiter that died is dropped once its deadline passes).
One Lua script does a poll atomically. Timing decisions come from
``shoal.planning.identifying``.

Why READY: Discord times the window from the IDENTIFY it *receives*, and that can be
later than the send by more than the margin (the sender's event loop or CPU stalled
between the send and the bytes leaving, a congested link, a busy gateway node): the next
shard, on time, then gets op 9 and spends a session start. READY proves Discord received
the IDENTIFY by then, so a window counted from READY is always safe; counting from the
send keeps the boot fast when READY is prompt (the usual case, then nothing changes).

While Redis cannot be reached a shard waiting for its turn keeps waiting (identifying
without the gate risks op 9 across the fleet); the outage is logged once by Redis's
health, not per poll. Does not own what an IDENTIFY is (the shard) or the window's
length (configuration).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any, Final, Protocol

from shoal.planning.identifying import retry_delay_s, send_margin_s, waiter_ttl_ms
from shoal.planning.shards import bucket_of
from shoal.storage.probing import DOWN_PROBE_EVERY_S, REDIS_ERRORS, redis_health

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

    from shoal.observability.dependencies import DependencyHealth
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
# KEYS: lock. ARGV: member, window ms. At READY: the window runs at least a full window
# from now, if this member still holds it (never shortened).
_EXTEND_WINDOW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
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

    async def identified(self, shard_id: int) -> None:
        """Note that READY arrived for ``shard_id``'s IDENTIFY (Discord has received it).

        The bucket stays shut for at least a window from now, however late the IDENTIFY
        reached Discord. Best effort: never raises.
        """


class RedisIdentifyGate:
    """An :class:`IdentifyGate` shared through Redis by every worker of a bot."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        max_concurrency: int,
        window_s: float,
        health: DependencyHealth | None = None,
    ) -> None:
        """Gate ``max_concurrency`` buckets of one IDENTIFY per ``window_s`` seconds.

        ``health`` is Redis's as this process sees it (a private one by default).
        """
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
        self._extend_window = redis.register_script(_EXTEND_WINDOW)
        self._health = health or redis_health(None)

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
                reply = await self._ask(self._poll, keys, args, operation="identify_gate")
                if reply is None:  # Redis is down: wait for it rather than risk op 9
                    await asyncio.sleep(DOWN_PROBE_EVERY_S)
                    continue
                is_granted, lock_ttl_ms = reply
                if is_granted:
                    _LOG.debug("identify turn granted", extra={"shard_id": shard_id})
                    return
                await asyncio.sleep(
                    retry_delay_s(lock_ttl_ms=int(lock_ttl_ms), window_s=self._window_s)
                )
        except BaseException:
            await self._leave(keys, member)
            raise

    async def _ask(
        self,
        script: AsyncScript,
        keys: list[str],
        args: list[str | int],
        *,
        operation: str,
    ) -> Any:  # noqa: ANN401 - whatever the script returns
        """Run ``script``; None when Redis is down or failed (reported to its health)."""
        if not self._health.is_up:
            return None
        try:
            reply = await script(keys=keys, args=args)
        except REDIS_ERRORS as error:
            self._health.report_failure(error, operation=operation)
            return None
        self._health.report_success()
        return reply

    async def _leave(self, keys: list[str], member: str) -> None:
        queue, waiters, _ = keys
        if not self._health.is_up:
            return  # the waiter's heartbeat lapses by itself
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(queue, member)
                pipe.zrem(waiters, member)
                await pipe.execute()
        except REDIS_ERRORS as error:  # leaving is best effort: the heartbeat lapses anyway
            self._health.report_failure(error, operation="identify_gate")

    async def identifying(self, shard_id: int) -> None:
        """Restart the bucket's window from now; wait for a new turn if this one lapsed."""
        lock = self._keys.identify_bucket(bucket_of(shard_id, self._max_concurrency))
        args: list[str | int] = [self._member(shard_id), self._held_ms]
        while not await self._ask(self._restart_window, [lock], args, operation="identify_gate"):
            # The turn ran out while the connection opened (slower than a window), or
            # Redis cannot say: another shard may be identifying now, so queue again
            # rather than risk op 9.
            _LOG.warning(
                "identify turn lapsed before the IDENTIFY was sent; waiting for a new turn",
                extra={"shard_id": shard_id},
            )
            await self.wait_turn(shard_id)

    async def identified(self, shard_id: int) -> None:
        """Keep the bucket shut for at least a window from READY (see the module docstring)."""
        lock = self._keys.identify_bucket(bucket_of(shard_id, self._max_concurrency))
        args: list[str | int] = [self._member(shard_id), self._window_ms]
        await self._ask(self._extend_window, [lock], args, operation="identify_gate")
