"""The Redis session store against a real Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shoal.gateway.sessions import RedisSessionStore, StoredSession

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

_ONE = StoredSession("abc", 41, "ws://127.0.0.1:1/gateway-resume")
_TWO = StoredSession("def", 7, "ws://127.0.0.1:1/gateway-resume")


async def test_session_store_loads_what_it_saved_when_keyed_by_shard_and_count(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    store = RedisSessionStore(redis_client, bot_keys)
    await store.save(4, {0: _ONE, 1: _TWO})
    assert await store.load(0, 4) == _ONE
    assert await store.load(1, 4) == _TWO
    assert await store.load(0, 8) is None  # another generation's shard 0


async def test_session_store_expires_sessions_when_the_ttl_passes(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    store = RedisSessionStore(redis_client, bot_keys, ttl_s=150.0)
    await store.save(1, {0: _ONE})
    ttl_ms = await redis_client.pttl(bot_keys.session(0, 1))
    assert 149_000 < ttl_ms <= 150_000


async def test_session_store_forgets_a_session_when_cleared(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    store = RedisSessionStore(redis_client, bot_keys)
    await store.save(1, {0: _ONE})
    await store.clear(0, 1)
    assert await store.load(0, 1) is None


async def test_session_store_loads_nothing_when_the_stored_hash_is_malformed(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    await redis_client.hset(bot_keys.session(0, 1), mapping={"session_id": "x", "seq": "nan"})
    assert await RedisSessionStore(redis_client, bot_keys).load(0, 1) is None
