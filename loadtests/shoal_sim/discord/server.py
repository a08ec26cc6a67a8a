"""The simulator's composition root: one aiohttp application for REST, gateway and control.

``/api/v10/...`` is Discord's REST API (:mod:`.rest`), ``/gateway`` and
``/gateway-resume`` the gateway websocket (:mod:`.gateway`), ``/_sim/...`` the control
API for tests and load tests (:mod:`.control`), ``/avatars/...`` and
``/embed/avatars/...`` the CDN's images (:mod:`.cdn`; :attr:`Simulator.cdn_url` is
the base a bot uses where Discord's is ``https://cdn.discordapp.com``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import pathlib
import time
from typing import TYPE_CHECKING, Final

from aiohttp import web

from shoal_sim.discord.gateway.closing import CloseCode
from shoal_sim.discord.gateway.connection import MAX_CLIENT_PAYLOAD_BYTES, Connection
from shoal_sim.discord.gateway.hub import Gateway
from shoal_sim.discord.stats import SimStats
from shoal_sim.discord.world import World

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine

    from shoal_sim.discord.settings import SimSettings

__all__ = ["SIMULATOR_KEY", "Simulator", "running_simulator"]

_LOG = logging.getLogger(__name__)
_API_VERSIONS: Final = frozenset({"10"})


class Simulator:
    """The simulated Discord: state, statistics, gateway and the HTTP application."""

    def __init__(self, settings: SimSettings) -> None:
        """Build the world from ``settings`` (guild generation happens here)."""
        self.settings = settings
        self.world = World(settings)
        self.stats = SimStats()
        self.gateway = Gateway(self.world, self.stats, settings)
        self.base_url = "http://127.0.0.1:0"
        self.app = self._build_app()
        self._runner: web.AppRunner | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self.background: set[asyncio.Task[None]] = set()
        """Tasks the simulator owns (load generator runs, interaction deadline checks)."""

    @property
    def rest_url(self) -> str:
        """The REST base URL hikari's ``rest_url`` takes (``.../api/v10``)."""
        return f"{self.base_url}/api/v10"

    @property
    def cdn_url(self) -> str:
        """The CDN base URL (Discord's ``https://cdn.discordapp.com``): the base URL itself."""
        return self.base_url

    def _build_app(self) -> web.Application:
        from shoal_sim.discord import cdn, control  # noqa: PLC0415 - they import this module
        from shoal_sim.discord.rest import routing  # noqa: PLC0415

        app = web.Application(client_max_size=32 * 1024 * 1024)
        app[SIMULATOR_KEY] = self
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_get("/gateway-resume", self._gateway_handler)
        routing.add_routes(app, self)
        control.add_routes(app, self)
        cdn.add_routes(app, self)
        return app

    async def start(self) -> None:
        """Listen on the configured host and port and start background work."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.settings.host, self.settings.port, backlog=1024, reuse_address=True
        )
        await site.start()
        server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
        assert server is not None  # noqa: S101 - set by start()
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.base_url = f"http://{self.settings.host}:{port}"
        self.gateway.ws_url = f"ws://{self.settings.host}:{port}/gateway"
        self.gateway.rest_base_url = self.rest_url
        self.gateway.start()
        self._housekeeping = asyncio.create_task(
            self._forget_expired_interactions(), name="interaction housekeeping"
        )
        # The generated world is long-lived: keep it out of every garbage collection.
        gc.collect()
        gc.freeze()
        if self.settings.url_file:
            # Tiny, once, at start-up: not worth a thread.
            pathlib.Path(self.settings.url_file).write_text(  # noqa: ASYNC240
                self.rest_url + "\n", encoding="utf-8"
            )
        _LOG.info(
            "Discord simulator listening: REST %s, gateway %s", self.rest_url, self.gateway.ws_url
        )

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        tasks = [*self.background, *([self._housekeeping] if self._housekeeping else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.gateway.stop()
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forget_expired_interactions(self) -> None:
        """Drop interactions whose token expired, so a long load test keeps memory flat."""
        ttl_s = self.settings.interaction_token_ttl_s
        while True:
            await asyncio.sleep(min(10.0, ttl_s))
            self.world.forget_interactions_before(time.monotonic() - ttl_s)

    def spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        """Run ``coro`` as a background task the simulator cancels on stop."""
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        compress = query.get("compress")
        if compress not in (None, "zlib-stream"):
            raise web.HTTPBadRequest(text=f"compress={compress} is not supported (use zlib-stream)")
        ws = web.WebSocketResponse(
            # Above Discord's 4096-byte cap, so the connection answers 4002 as Discord does.
            autoping=True,
            max_msg_size=MAX_CLIENT_PAYLOAD_BYTES * 16,
        )
        await ws.prepare(request)
        transport = request.transport
        connection = Connection(
            self.gateway, ws, transport, is_compressed=compress == "zlib-stream"
        )
        self.gateway.connection_opened(connection)
        if query.get("v") not in _API_VERSIONS:
            connection.close(CloseCode.INVALID_API_VERSION, CloseCode.INVALID_API_VERSION.reason)
        elif query.get("encoding", "json") != "json":
            connection.close(CloseCode.DECODE_ERROR, "only encoding=json is simulated")
        await connection.serve()
        return ws


SIMULATOR_KEY: Final = web.AppKey("simulator", Simulator)


@contextlib.asynccontextmanager
async def running_simulator(settings: SimSettings) -> AsyncIterator[Simulator]:
    """Run a simulator for the duration of the ``async with`` block (tests use this)."""
    simulator = Simulator(settings)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()
