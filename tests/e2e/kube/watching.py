"""Watch events: the history a watch replays, the buses open watches stream from, and waiting.

Owns :class:`EventLog` (every event written, by resource, with the resourceVersion it was
written at; one kmock bus per resource; a signal for "something changed") and streaming a
bus until a watch's server-side timeout. Does not own which events a watch selects nor
serving the watch (``tests.e2e.kube.emulator``), nor writing objects
(``tests.e2e.kube.writing``).
"""

from __future__ import annotations

import asyncio
import copy
from typing import TYPE_CHECKING, Any

from kmock._internal.aiobus import Bus  # kmock re-exports it without __all__ listing it

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import kmock

    from tests.e2e.kube.kinds import JsonObject

__all__ = ["EventLog", "stream_until"]


class EventLog:
    """Every watch event written, replayed to new watches and streamed to open ones."""

    __slots__ = ("_buses", "_changed", "_history")

    def __init__(self) -> None:
        self._history: list[tuple[int, kmock.resource, JsonObject]] = []
        self._buses: dict[kmock.resource, Bus[JsonObject]] = {}
        self._changed = asyncio.Event()

    def bus(self, resource: kmock.resource) -> Bus[JsonObject]:
        """The event bus of ``resource`` (created on first use)."""
        return self._buses.setdefault(resource, Bus())

    async def emit(self, resource: kmock.resource, event_type: str, obj: JsonObject) -> None:
        """Record and publish an event of ``obj`` at its resourceVersion; wake the waiters."""
        event = {"type": event_type, "object": copy.deepcopy(obj)}
        rv = int(obj["metadata"]["resourceVersion"])
        self._history.append((rv, resource, event))
        await self.bus(resource).put(copy.deepcopy(event))
        self._changed.set()
        self._changed = asyncio.Event()

    def since(self, resource: kmock.resource, resource_version: int) -> list[JsonObject]:
        """Copies of the events of ``resource`` written after ``resource_version``, in order."""
        return [
            copy.deepcopy(event)
            for rv, written, event in self._history
            if written == resource and rv > resource_version
        ]

    async def wait_for_change(self) -> None:
        """Return after the next event (any resource)."""
        await self._changed.wait()


async def stream_until(
    stream: AsyncIterator[tuple[int, JsonObject]] | AsyncIterator[Any], timeout_s: float | None
) -> AsyncIterator[JsonObject]:
    """Events from the bus until the server-side watch timeout (``timeoutSeconds``), if any."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    try:
        while True:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            try:
                event = await asyncio.wait_for(anext(stream), remaining)
            except (TimeoutError, StopAsyncIteration):
                return
            yield event
    finally:
        aclose: Callable[[], Any] | None = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
