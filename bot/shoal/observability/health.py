"""The worker's HTTP server: ``/livez``, ``/readyz`` and ``/metrics`` on one port.

Owns the three endpoints and the event-loop watch behind ``/livez``. Does not own what
"ready" means for a shard (see :mod:`shoal.observability.shard_status`) nor the metrics
themselves (see :mod:`shoal.observability.metrics`).

- ``/livez``: 200 while the process runs and its event loop keeps ticking; 503 when the
  loop has not ticked for ``stall_after_s`` (a loop that is fully blocked cannot answer at
  all, and the probe's own timeout catches that).
- ``/readyz``: 200 when every local shard is READY, else 503 naming the shards that are not.
- ``/metrics``: every ``shoal_*`` metric in the Prometheus text format (or OpenMetrics when
  the scraper asks for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Final

from aiohttp import web

from shoal.observability.shard_status import readiness_of

if TYPE_CHECKING:
    from shoal.config import HttpSettings
    from shoal.observability.metrics import Metrics
    from shoal.observability.shard_status import ShardStatusSource

__all__ = ["HealthServer", "LoopWatch", "is_loop_stalled"]

logger = logging.getLogger(__name__)

#: The loop watch ticks this often; a tick late by more than a few of these means the loop
#: is starved (CPU-bound work on it), well before Kubernetes would restart the pod.
_TICK_S: Final = 0.5
#: Default for a stalled loop: long enough that a GC pause or a burst never flaps liveness.
_STALL_AFTER_S: Final = 10.0


def is_loop_stalled(*, last_tick_s: float, now_s: float, stall_after_s: float) -> bool:
    """Return whether the loop has not ticked for longer than ``stall_after_s``."""
    return now_s - last_tick_s > stall_after_s


class LoopWatch:
    """A task that ticks every ``tick_s`` and remembers when it last ran and how late."""

    def __init__(self, *, tick_s: float = _TICK_S) -> None:
        """Watch the running loop once :meth:`start` is called."""
        self._tick_s = tick_s
        self._task: asyncio.Task[None] | None = None
        self.last_tick_s = time.monotonic()
        """Monotonic time of the last tick."""
        self.lag_s = 0.0
        """How late the last tick ran (event loop lag)."""

    def start(self) -> None:
        """Start ticking on the running loop."""
        if self._task is None:
            self.last_tick_s = time.monotonic()
            self._task = asyncio.create_task(self._run(), name="shoal-loop-watch")

    async def stop(self) -> None:
        """Stop ticking."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            due = time.monotonic() + self._tick_s
            await asyncio.sleep(self._tick_s)
            now = time.monotonic()
            self.lag_s = max(0.0, now - due)
            self.last_tick_s = now


class HealthServer:
    """The aiohttp server for probes and scrapes, on ``HttpSettings.host:port``."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        metrics: Metrics,
        shards: ShardStatusSource,
        stall_after_s: float = _STALL_AFTER_S,
        loop_watch: LoopWatch | None = None,
    ) -> None:
        """Serve ``metrics`` and the readiness of ``shards`` once :meth:`start` is awaited."""
        self._settings = settings
        self._metrics = metrics
        self._shards = shards
        self._stall_after_s = stall_after_s
        self._watch = loop_watch or LoopWatch()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when the settings ask for port 0).

        Raises:
            RuntimeError: before :meth:`start`.
        """
        if self._port is None:
            raise RuntimeError("the health server is not started")
        return self._port

    async def start(self) -> None:
        """Bind and serve; starts the loop watch."""
        app = web.Application()
        app.router.add_get("/livez", self._livez)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics_text)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._settings.host, self._settings.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._watch.start()
        logger.info("health server listening on %s:%d", self._settings.host, self._port)

    async def stop(self) -> None:
        """Stop serving and stop the loop watch."""
        await self._watch.stop()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _livez(self, _: web.Request) -> web.Response:
        stalled = is_loop_stalled(
            last_tick_s=self._watch.last_tick_s,
            now_s=time.monotonic(),
            stall_after_s=self._stall_after_s,
        )
        body = {"alive": not stalled, "loop_lag_ms": round(self._watch.lag_s * 1000, 3)}
        return web.json_response(body, status=503 if stalled else 200)

    async def _readyz(self, _: web.Request) -> web.Response:
        readiness = readiness_of(self._shards.shard_states())
        body = {
            "ready": readiness.is_ready,
            "not_ready": {str(shard): state.value for shard, state in readiness.not_ready.items()},
        }
        return web.json_response(body, status=200 if readiness.is_ready else 503)

    async def _metrics_text(self, request: web.Request) -> web.Response:
        body, content_type = self._metrics.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})
