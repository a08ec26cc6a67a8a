"""Fixtures of the command tests: Redis keys per test, an HTTP session, loop errors (all)."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from redis.asyncio import Redis

from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


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


@pytest.fixture(autouse=True)
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Fail the test if anything reached the loop's exception handler.

    hikari reports a dispatch it cannot parse there and carries on; arc reports a task
    that died there too.
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    try:
        yield errors
    finally:
        loop.set_exception_handler(previous)
    assert not errors, [str(context.get("message")) for context in errors]
