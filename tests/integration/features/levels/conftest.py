"""Fixtures of the levels tests: a key namespace per test, a migrated schema, ledgers.

Owns the bridges from the suite's servers (`tests.fixtures`) to the levels feature: a
`RedisKeys` namespace unique to the test (its keys unlinked afterwards), the test's schema
with core's and the levels migrations, and a ledger on both. Does not start servers.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import aiohttp
import pytest
from redis.asyncio import Redis

from shoal.features.levels.ledger import XpLedger, levels_migrations
from shoal.storage.migrating import apply_migrations, core_migrations
from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import asyncpg

__all__ = ["keys", "ledger", "levels_pool"]

_UNLINK_BATCH = 500


@pytest.fixture
async def keys(redis_url: str) -> AsyncIterator[RedisKeys]:
    """Shoal's key builders under a namespace unique to the test; its keys go afterwards."""
    namespace = f"t{uuid.uuid4().hex}"
    yield RedisKeys(namespace)
    client = Redis.from_url(redis_url)
    try:
        found = [key async for key in client.scan_iter(match=f"shoal:{{{namespace}}}:*")]
        for start in range(0, len(found), _UNLINK_BATCH):
            await client.unlink(*found[start : start + _UNLINK_BATCH])
    finally:
        await client.aclose()


@pytest.fixture
async def levels_pool(
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> asyncpg.Pool[asyncpg.Record]:
    """The test's pool, its schema migrated with core's and the levels migrations."""
    await apply_migrations(postgres_pool, [*core_migrations(), *levels_migrations()])
    return postgres_pool


@pytest.fixture
def ledger(
    redis_client: Redis, keys: RedisKeys, levels_pool: asyncpg.Pool[asyncpg.Record]
) -> XpLedger:
    """A ledger on the test's namespace and schema."""
    return XpLedger(redis_client, keys, levels_pool)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for one test (the simulator's control API and CDN)."""
    async with aiohttp.ClientSession() as session:
        yield session
