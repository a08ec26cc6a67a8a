"""A bot namespace per test: Shoal's keys (``shoal:{name}:...``) isolated and cleaned up.

Shoal builds its own key names (``shoal.storage.redis_keys``), so the ``redis_key_prefix``
fixture cannot hold them; a namespace of its own per test does the same job. Worker
processes get it as ``SHOAL_BOT_NAME``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Final

import pytest
from redis.asyncio import Redis

from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["bot_keys", "bot_namespace"]

_UNLINK_BATCH: Final = 500


@pytest.fixture
async def bot_namespace(redis_url: str) -> AsyncIterator[str]:
    """A bot name (a DNS label) unique to the test; its keys are unlinked afterwards."""
    name = f"t-{uuid.uuid4().hex[:20]}"
    yield name
    client = Redis.from_url(redis_url)
    try:
        # Braces are literal in a SCAN pattern; the name is hex, so nothing else is special.
        keys = [key async for key in client.scan_iter(match=f"shoal:{{{name}}}:*")]
        for start in range(0, len(keys), _UNLINK_BATCH):
            await client.unlink(*keys[start : start + _UNLINK_BATCH])
    finally:
        await client.aclose()


@pytest.fixture
def bot_keys(bot_namespace: str) -> RedisKeys:
    """Key builders for the test's bot namespace."""
    return RedisKeys(bot_namespace)
