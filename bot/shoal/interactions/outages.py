"""Commands and clicks that fail because Redis or PostgreSQL cannot be reached.

Pure. Owns telling a server outage (a connection refused, reset or timed out) from a
bug, the member's reply for it, and logging it once a minute per command instead of a
traceback per use: the outage itself is reported by the servers' health
(:mod:`shoal.observability.dependencies`). A SQL error or a Redis reply error is a bug
and is not an outage.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

import asyncpg
import redis.exceptions

from shoal.storage.errors import StorageUnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["OUTAGE_REPLY", "OutageNotes", "is_outage"]

OUTAGE_REPLY: Final = (
    "I cannot reach my database right now, so this could not run and nothing was changed. "
    "Try again in a minute."
)
_OUTAGES: Final = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    StorageUnavailableError,
    ConnectionError,
    TimeoutError,
    OSError,
)
_NOTE_EVERY_S: Final = 60.0


def is_outage(error: BaseException) -> bool:
    """Return whether ``error`` (or what caused it) is a server that cannot be reached."""
    seen: BaseException | None = error
    for _ in range(5):  # a short chain: a wrapped error, never a loop
        if seen is None:
            return False
        if isinstance(seen, _OUTAGES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class OutageNotes:
    """Decides which outage failures are logged: the first per command each minute."""

    __slots__ = ("_clock", "_last")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Measure the minute on ``clock`` (monotonic seconds)."""
        self._clock = clock
        self._last: dict[str, float] = {}

    def is_due(self, name: str) -> bool:
        """Return whether a failure of ``name`` now deserves a log line."""
        now = self._clock()
        last = self._last.get(name)
        if last is not None and now - last < _NOTE_EVERY_S:
            return False
        self._last[name] = now
        return True
