"""Fixtures of the role menu tests: a key namespace per test and an HTTP session.

Owns the bridges from the suite's servers (`tests.fixtures`) to the role menu tests; the
repository tests migrate their own schema, the worker tests let ``running_worker`` do it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import aiohttp
import pytest
from redis.asyncio import Redis

from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["http", "keys"]


@pytest.fixture
async def keys(redis_url: str) -> AsyncIterator[RedisKeys]:
    """Shoal's key builders under a namespace unique to the test; its keys go afterwards."""
    namespace = f"t{uuid.uuid4().hex}"
    yield RedisKeys(namespace)
    client = Redis.from_url(redis_url)
    try:
        found = [key async for key in client.scan_iter(match=f"shoal:{{{namespace}}}:*")]
        if found:
            await client.unlink(*found)
    finally:
        await client.aclose()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for one test (the simulator's control API)."""
    async with aiohttp.ClientSession() as session:
        yield session
