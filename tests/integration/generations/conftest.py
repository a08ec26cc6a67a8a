"""Fixtures of the generation tests: a bot namespace per test in the shared Redis, HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
import pytest

from tests.integration.gateway.redis_namespaces import bot_keys, bot_namespace

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["bot_keys", "bot_namespace", "http"]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for one test (the simulator's control API, /readyz)."""
    async with aiohttp.ClientSession() as session:
        yield session
