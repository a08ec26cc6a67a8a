"""Write-behind of XP: the deltas gathered in Redis, added to PostgreSQL exactly once.

Owns :class:`XpFlusher`. Every grant and admin change adds its delta to one fleet-wide
"dirty" hash in Redis (``guild:user`` -> delta; see `shoal.features.levels.ledger`). A
flush, under a fleet-wide lease (the same one a board rebuild takes, so the two never
overlap):

1. applies any batch left by a flusher that died mid-flush, oldest first;
2. takes the dirty hash atomically (a Lua ``RENAME`` to ``flushing:<batch id>``, listed in
   a sorted set by sequence number), so deltas arriving meanwhile start a new hash;
3. applies the batch in ONE PostgreSQL transaction: the batch id goes into
   ``levels_flush_batches`` (``ON CONFLICT DO NOTHING``), and only if it went in are the
   deltas added, every row in one statement over ``unnest`` arrays;
4. deletes the batch key.

A process that dies after the commit and before the delete leaves the batch in Redis; the
next flush finds its id already recorded and only deletes it: applied exactly once.

Durability, as wired by the worker (a leased periodic job every 1 s on exactly one worker,
and a flush in the SIGTERM stop hook): a SIGTERM loses no XP (the tap drains its queue into
Redis, then the stop hook flushes); a SIGKILL of any worker loses no XP either, since every
granted delta is already in Redis, and a batch it was flushing is picked up by the next
flush on any worker. Only losing Redis's data loses XP: at most what was granted since the
last flush (about one interval, 1 s), or since Redis's last persistence point if later.

Does not own what a delta means (see `shoal.features.levels.ledger`) nor when flushes run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from typing import TYPE_CHECKING, Final

from shoal.features.levels.keys import LevelsKeys, parse_dirty_field, text_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import asyncpg
    import redis.asyncio as redis_asyncio

    from shoal.storage.redis_keys import RedisKeys

__all__ = ["FLUSH_INTERVAL_S", "FlushLeaseTimeoutError", "FlushResult", "XpFlusher"]

_log = logging.getLogger(__name__)

#: How often the worker's leased job flushes: the most XP a Redis data loss can cost.
FLUSH_INTERVAL_S: Final = 1.0
#: A flush takes milliseconds; a lease this long outlives any live holder, and a dead
#: holder's lease frees the next flusher soon enough (its batch is safe in Redis meanwhile).
_LEASE_MS: Final = 30_000
_LEASE_POLL_S: Final = 0.005
_DEFAULT_LEASE_WAIT_S: Final = 10.0
#: Batch ids are needed only until their batch key is deleted (the next flush at worst);
#: a week is a wide margin, pruned every ~10 minutes of flushing.
_PRUNE_EVERY: Final = 600

# KEYS: dirty, batch, batches, sequence. ARGV: batch id.
_TAKE: Final = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[1])
return 1
"""
# KEYS: lock. ARGV: token.
_RELEASE_LEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RECORD_BATCH: Final = (
    "INSERT INTO levels_flush_batches (batch_id) VALUES ($1) "
    "ON CONFLICT (batch_id) DO NOTHING RETURNING true"
)
#: Positive deltas upsert; negative ones (admin removals) only lower existing rows, never
#: below 0 (the CHECK holds even if two flushers ever applied batches out of order). A
#: batch holds each member once, so the two parts touch disjoint rows.
_ADD_DELTAS: Final = """
WITH deltas AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS d (guild_id, user_id, delta)
), lowered AS (
    UPDATE levels_members AS m
    SET xp = GREATEST(0, m.xp + deltas.delta), updated_at = now()
    FROM deltas
    WHERE deltas.delta < 0 AND m.guild_id = deltas.guild_id AND m.user_id = deltas.user_id
)
INSERT INTO levels_members AS m (guild_id, user_id, xp)
SELECT guild_id, user_id, delta FROM deltas WHERE delta > 0
ON CONFLICT (guild_id, user_id) DO UPDATE SET xp = m.xp + EXCLUDED.xp, updated_at = now()
"""
_PRUNE_BATCHES: Final = (
    "DELETE FROM levels_flush_batches WHERE applied_at < now() - interval '7 days'"
)


class FlushLeaseTimeoutError(TimeoutError):
    """The flush lease stayed taken (another flush or a rebuild) longer than the wait."""


@dataclasses.dataclass(frozen=True, slots=True)
class FlushResult:
    """What one :meth:`XpFlusher.flush` wrote."""

    rows: int
    """Members whose XP changed in PostgreSQL (leftover batches included)."""
    batch_id: str | None
    """The batch this flush took from the dirty hash; None when there was nothing new."""


class XpFlusher:
    """Moves the dirty XP deltas from Redis into PostgreSQL, exactly once.

    Args:
        redis: The shared client (bytes responses).
        keys: The bot's key builders.
        pool: PostgreSQL, migrated with the levels migrations.
        lease_wait_s: How long :meth:`flush` waits for a flush or rebuild in progress.
    """

    __slots__ = ("_flushes", "_keys", "_lease_wait_s", "_pool", "_redis", "_release", "_take")

    def __init__(
        self,
        redis: redis_asyncio.Redis,
        keys: RedisKeys,
        pool: asyncpg.Pool[asyncpg.Record],
        *,
        lease_wait_s: float = _DEFAULT_LEASE_WAIT_S,
    ) -> None:
        self._redis = redis
        self._keys = LevelsKeys(keys)
        self._pool = pool
        self._lease_wait_s = lease_wait_s
        self._take = redis.register_script(_TAKE)
        self._release = redis.register_script(_RELEASE_LEASE)
        self._flushes = 0

    async def flush(self) -> FlushResult:
        """Apply leftover batches, then the dirty deltas, to PostgreSQL; once each.

        Raises:
            FlushLeaseTimeoutError: Another flush or a rebuild held the lease too long.
            redis.exceptions.RedisError, asyncpg.PostgresError, OSError: A server failed;
                the deltas stay in Redis for the next flush.
        """
        async with self.lease():
            return await self.flush_leased()

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[None]:
        """Hold the fleet-wide flush lease (waiting for it) for the body of the block.

        Raises:
            FlushLeaseTimeoutError: It stayed taken for ``lease_wait_s``.
        """
        token = uuid.uuid4().hex
        lock = self._keys.flush_lock()
        deadline = time.monotonic() + self._lease_wait_s
        while not await self._redis.set(lock, token, nx=True, px=_LEASE_MS):
            if time.monotonic() >= deadline:
                raise FlushLeaseTimeoutError(
                    f"levels flush lease still taken after {self._lease_wait_s:.1f} s"
                )
            await asyncio.sleep(_LEASE_POLL_S)
        try:
            yield
        finally:
            await self._release(keys=[lock], args=[token])

    async def flush_leased(self) -> FlushResult:
        """Do :meth:`flush`'s work; the caller holds :meth:`lease` (a board rebuild does)."""
        rows = 0
        for batch_id in await self.leftover_batches():
            rows += await self.apply_batch(batch_id)
            await self.release_batch(batch_id)
        taken = await self.take_batch()
        if taken is not None:
            rows += await self.apply_batch(taken)
            await self.release_batch(taken)
        self._flushes += 1
        if self._flushes % _PRUNE_EVERY == 0:
            await self._pool.execute(_PRUNE_BATCHES)
        return FlushResult(rows=rows, batch_id=taken)

    async def leftover_batches(self) -> list[str]:
        """Return the ids of batches taken and not deleted, oldest first."""
        ids = await self._redis.zrange(self._keys.batches(), 0, -1)
        return [text_of(raw) for raw in ids]

    async def take_batch(self) -> str | None:
        """Step 2: move the dirty hash to a new batch; return its id, or None when empty."""
        batch_id = f"{time.time_ns()}-{uuid.uuid4().hex}"
        keys = self._keys
        taken = await self._take(
            keys=[keys.dirty(), keys.batch(batch_id), keys.batches(), keys.batch_sequence()],
            args=[batch_id],
        )
        return batch_id if taken else None

    async def apply_batch(self, batch_id: str) -> int:
        """Step 3: add the batch's deltas in one transaction, unless applied before.

        Returns:
            The rows changed (0 when the batch had been applied already).
        """
        raw = await self._redis.hgetall(self._keys.batch(batch_id))
        guilds: list[int] = []
        users: list[int] = []
        deltas: list[int] = []
        for field, value in raw.items():
            delta = int(value)
            if delta:
                guild_id, user_id = parse_dirty_field(field)
                guilds.append(guild_id)
                users.append(user_id)
                deltas.append(delta)
        async with self._pool.acquire() as connection, connection.transaction():
            if not await connection.fetchval(_RECORD_BATCH, batch_id):
                _log.info("levels flush batch %s was applied before; deleting it", batch_id)
                return 0
            if deltas:
                await connection.execute(_ADD_DELTAS, guilds, users, deltas)
        return len(deltas)

    async def release_batch(self, batch_id: str) -> None:
        """Step 4: forget an applied batch."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.unlink(self._keys.batch(batch_id))
            pipe.zrem(self._keys.batches(), batch_id)
            await pipe.execute()
