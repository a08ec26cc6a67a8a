"""Waiting on a condition with a deadline, never on a bare sleep."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["eventually"]

_POLL_S: Final = 0.01  # short: the conditions here turn true within milliseconds
_DEADLINE_S: Final = 10.0  # covers hikari's reconnect back-off (up to ~3 s twice) on a slow CI


async def eventually(
    condition: Callable[[], bool], what: str, *, timeout_s: float = _DEADLINE_S
) -> None:
    """Return once ``condition()`` is true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s} s waiting for {what}"
            raise AssertionError(msg)
        await asyncio.sleep(_POLL_S)
