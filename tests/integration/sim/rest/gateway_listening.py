"""A bare gateway session that records dispatches, to see what REST calls announce.

Identifies as shard 0 of 1 over an uncompressed websocket and queues every dispatch.
Enough to assert which events a REST call emits; the gateway itself is tested apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import orjson

from shoal_sim.discord.settings import DEFAULT_TOKEN

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from shoal_sim.discord.server import Simulator

__all__ = ["GatewayListener", "listening"]

_OP_DISPATCH: Final = 0
_OP_IDENTIFY: Final = 2
_WAIT_S: Final = 5.0


class GatewayListener:
    """Dispatches received by one gateway session, in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Read dispatches from an identified websocket."""
        self._ws = ws
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read_forever())

    async def _read_forever(self) -> None:
        async for frame in self._ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            payload = orjson.loads(frame.data)
            if payload["op"] == _OP_DISPATCH:
                await self._queue.put((payload["t"], payload["d"]))

    async def next_event(self, name: str) -> dict[str, Any]:
        """Return the body of the next ``name`` dispatch, skipping others.

        Raises:
            TimeoutError: when none arrives within a few seconds.
        """
        async with asyncio.timeout(_WAIT_S):
            while True:
                event, body = await self._queue.get()
                if event == name:
                    return body

    def drain(self) -> list[str]:
        """Return (and forget) the names of the dispatches already received."""
        names = []
        while not self._queue.empty():
            names.append(self._queue.get_nowait()[0])
        return names

    async def close(self) -> None:
        """Close the websocket and stop reading."""
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def listening(
    session: aiohttp.ClientSession, sim: Simulator, *, intents: int, token: str = DEFAULT_TOKEN
) -> AsyncIterator[GatewayListener]:
    """Identify a session with ``intents`` and yield it once READY has arrived."""
    ws = await session.ws_connect(f"{sim.gateway.ws_url}?v=10&encoding=json")
    await ws.receive_json()  # HELLO
    await ws.send_json(
        {
            "op": _OP_IDENTIFY,
            "d": {
                "token": token,
                "intents": intents,
                "shard": [0, 1],
                "properties": {"os": "linux", "browser": "shoal-tests", "device": "shoal-tests"},
            },
        }
    )
    listener = GatewayListener(ws)
    try:
        await listener.next_event("READY")
        yield listener
    finally:
        await listener.close()
