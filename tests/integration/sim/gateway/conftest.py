"""Fixtures of the gateway tests: an HTTP session and a loop exception recorder."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for one test (websockets, REST and the control API)."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Record calls of the loop's exception handler; the test fails if there was any.

    hikari reports a dispatch it cannot parse (a key missing from a payload) through the
    loop's exception handler ("Exception occurred in raw event dispatch conduit") and
    carries on, so a shape bug would otherwise pass unnoticed.
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
