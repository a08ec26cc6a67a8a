"""Write-behind of XP to a real PostgreSQL: each batch exactly once, whatever dies when."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from shoal.features.levels.flushing import XpFlusher
from shoal.features.levels.keys import LevelsKeys
from shoal.features.levels.ledger import Grant, XpLedger
from tests.integration.features.levels.inspecting import stored_xp

if TYPE_CHECKING:
    from asyncpg import Pool, Record
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

GUILD = 555
T0_MS = 1_700_000_000_000


async def test_flush_applies_a_batch_once_when_the_flusher_died_after_the_commit(
    ledger: XpLedger,
    redis_client: Redis,
    keys: RedisKeys,
    levels_pool: Pool[Record],
) -> None:
    await ledger.grant_many([Grant(GUILD, user) for user in (1, 2, 3)], now_ms=T0_MS)
    flusher = XpFlusher(redis_client, keys, levels_pool)
    batch_id = await flusher.take_batch()
    assert batch_id is not None
    assert await flusher.apply_batch(batch_id) == 3  # committed; the delete never ran
    await ledger.grant(GUILD, 4, now_ms=T0_MS)
    result = await flusher.flush()
    assert result.rows == 1  # only member 4's new delta: the replayed batch adds nothing
    assert result.batch_id not in {None, batch_id}
    assert await stored_xp(levels_pool, GUILD) == {1: 10, 2: 10, 3: 10, 4: 10}
    assert await flusher.leftover_batches() == []
    assert not await redis_client.exists(LevelsKeys(keys).batch(batch_id))


async def test_flush_applies_a_taken_batch_first_when_its_flusher_died_before_the_commit(
    ledger: XpLedger,
    redis_client: Redis,
    keys: RedisKeys,
    levels_pool: Pool[Record],
) -> None:
    flusher = XpFlusher(redis_client, keys, levels_pool)
    await ledger.set_xp(GUILD, 1, 500)
    first = await flusher.take_batch()
    await ledger.add_xp(GUILD, 1, -200)
    second = await flusher.take_batch()
    assert first is not None
    assert second is not None
    assert await flusher.leftover_batches() == [first, second]
    result = await flusher.flush()
    assert result == type(result)(rows=2, batch_id=None)
    assert await stored_xp(levels_pool, GUILD) == {1: 300}


async def test_flush_returns_no_batch_when_nothing_is_dirty(
    redis_client: Redis, keys: RedisKeys, levels_pool: Pool[Record]
) -> None:
    result = await XpFlusher(redis_client, keys, levels_pool).flush()
    assert (result.rows, result.batch_id) == (0, None)


async def test_flushes_keep_exact_totals_when_two_workers_flush_during_grants(
    ledger: XpLedger,
    redis_client: Redis,
    keys: RedisKeys,
    levels_pool: Pool[Record],
) -> None:
    flushers = [XpFlusher(redis_client, keys, levels_pool) for _ in range(2)]

    async def grants() -> None:
        for round_index in range(20):
            now_ms = T0_MS + round_index * 60_001
            await ledger.grant_many([Grant(GUILD, u) for u in range(1, 101)], now_ms=now_ms)
            await asyncio.sleep(0)

    async def flushes(flusher: XpFlusher) -> None:
        for _ in range(15):
            await flusher.flush()

    await asyncio.gather(grants(), *(flushes(f) for f in flushers))
    await flushers[0].flush()
    assert await stored_xp(levels_pool, GUILD) == dict.fromkeys(range(1, 101), 200)
    applied = await levels_pool.fetchval("SELECT count(*) FROM levels_flush_batches")
    assert applied >= 1


async def test_flush_lowers_xp_but_never_below_zero_when_a_removal_meets_no_row(
    redis_client: Redis, keys: RedisKeys, levels_pool: Pool[Record]
) -> None:
    level_keys = LevelsKeys(keys)
    await levels_pool.execute(
        "INSERT INTO levels_members (guild_id, user_id, xp) VALUES ($1, 1, 50)", GUILD
    )
    await redis_client.hset(
        level_keys.dirty(), mapping={f"{GUILD}:1": -80, f"{GUILD}:2": -10, f"{GUILD}:3": 30}
    )
    result = await XpFlusher(redis_client, keys, levels_pool).flush()
    assert result.rows == 3
    assert await stored_xp(levels_pool, GUILD) == {1: 0, 3: 30}
