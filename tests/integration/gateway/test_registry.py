"""The shard registry against a real Redis: entries, expiry, guild totals and history."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from shoal.gateway.registry import ShardRegistry
from shoal.gateway.shard import ShardSnapshot
from shoal.observability.shard_status import ShardStatus
from shoal.storage.shard_registry import (
    RegistryEntry,
    read_guild_history,
    read_registry,
    record_guild_total,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys


def _snapshot(shard_id: int, guilds: int, *, latency_s: float = 0.0125) -> ShardSnapshot:
    return ShardSnapshot(
        shard_id=shard_id,
        status=ShardStatus.READY,
        latency_s=latency_s,
        guild_count=guilds,
        identifies=1,
        resumes=0,
        closes={},
        dispatches={},
    )


def _registry(redis: Redis, keys: RedisKeys, *, generation: int, count: int) -> ShardRegistry:
    return ShardRegistry(
        redis, keys, pod_name=f"shard-{generation}-0", generation=generation, shard_count=count
    )


async def test_registry_reads_back_every_field_when_a_worker_published(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    registry = _registry(redis_client, bot_keys, generation=0, count=2)
    await registry.publish([_snapshot(0, 10), _snapshot(1, 11, latency_s=math.nan)], now=100.5)
    assert await read_registry(redis_client, bot_keys) == [
        RegistryEntry(0, 0, 2, "ready", 10, 12.5, "shard-0-0", 100.5),
        RegistryEntry(0, 1, 2, "ready", 11, None, "shard-0-0", 100.5),
    ]
    ttl_ms = await redis_client.pttl(bot_keys.registry_shard(0, 0))
    assert 10_000 < ttl_ms <= 15_000


async def test_registry_drops_an_entry_from_the_index_when_it_expired(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    await _registry(redis_client, bot_keys, generation=0, count=2).publish(
        [_snapshot(0, 10), _snapshot(1, 11)], now=1.0
    )
    await redis_client.delete(bot_keys.registry_shard(0, 1))  # as its TTL would
    assert [e.shard_id for e in await read_registry(redis_client, bot_keys)] == [0]
    assert await redis_client.scard(bot_keys.registry_index()) == 1


async def test_record_guild_total_sums_the_active_generation_when_two_run_side_by_side(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    await _registry(redis_client, bot_keys, generation=0, count=2).publish(
        [_snapshot(0, 10), _snapshot(1, 11)], now=1.0
    )
    await _registry(redis_client, bot_keys, generation=1, count=4).publish(
        [_snapshot(0, 5), _snapshot(1, 5), _snapshot(2, 5), _snapshot(3, 6)], now=1.0
    )
    assert await record_guild_total(redis_client, bot_keys, now=50.0) == 21  # newest gen
    await redis_client.set(bot_keys.active_generation(), 0)
    assert await record_guild_total(redis_client, bot_keys, now=60.0) == 21  # gen 0
    await redis_client.set(bot_keys.active_generation(), 1)
    await _registry(redis_client, bot_keys, generation=1, count=4).publish(
        [_snapshot(3, 7)], now=2.0
    )
    assert await record_guild_total(redis_client, bot_keys, now=70.0, keep=2) == 22
    history = await redis_client.zrange(bot_keys.guild_history(), 0, -1, withscores=True)
    assert history == [(b"60.0:21", 60.0), (b"70.0:22", 70.0)]


async def test_record_guild_total_records_nothing_when_no_shard_is_registered(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    assert await record_guild_total(redis_client, bot_keys, now=1.0) is None
    assert await redis_client.exists(bot_keys.guild_history()) == 0


async def test_record_guild_total_skips_the_sample_when_the_newest_is_too_recent(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    await _registry(redis_client, bot_keys, generation=0, count=2).publish(
        [_snapshot(0, 10), _snapshot(1, 11)], now=1.0
    )
    assert await record_guild_total(redis_client, bot_keys, now=100.0, min_interval_s=60) == 21
    assert await record_guild_total(redis_client, bot_keys, now=130.0, min_interval_s=60) == 21
    assert await record_guild_total(redis_client, bot_keys, now=161.0, min_interval_s=60) == 21
    assert await read_guild_history(redis_client, bot_keys) == [(100.0, 21), (161.0, 21)]
