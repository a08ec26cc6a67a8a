"""Waiting on a Redis-side condition with a deadline, never on a bare sleep."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["until_true"]

_POLL_S: Final = 0.01  # short: the conditions here turn true within milliseconds


async def until_true(
    check: Callable[[], Awaitable[bool]], what: str, *, timeout_s: float = 10.0
) -> None:
    """Return once ``await check()`` is true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s} s waiting for {what}"
            raise AssertionError(msg)
        await asyncio.sleep(_POLL_S)
