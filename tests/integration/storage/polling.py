"""Waiting for an asynchronous condition with a deadline, never on a bare sleep."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["eventually"]

_POLL_S: Final = 0.01  # the conditions here turn true within milliseconds


async def eventually(
    condition: Callable[[], Awaitable[bool]], what: str, *, timeout_s: float
) -> float:
    """Return the seconds ``condition()`` took to hold; fail naming ``what`` after ``timeout_s``."""
    started = time.monotonic()
    while not await condition():
        if time.monotonic() - started > timeout_s:
            msg = f"timed out after {timeout_s} s waiting for {what}"
            raise AssertionError(msg)
        await asyncio.sleep(_POLL_S)
    return time.monotonic() - started
