"""Raw gateway sessions of any shard, recording dispatches (the REST tests' listener).

:func:`tests.integration.sim.rest.gateway_listening.listening` identifies shard 0 of 1;
the control API's DMs and load spread need sessions of several shards.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final

from shoal_sim.discord.settings import DEFAULT_TOKEN
from tests.integration.sim.rest.gateway_listening import GatewayListener

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp

    from shoal_sim.discord.server import Simulator

__all__ = ["listening_as_shard"]

_OP_IDENTIFY: Final = 2


@contextlib.asynccontextmanager
async def listening_as_shard(
    session: aiohttp.ClientSession, sim: Simulator, *, shard: tuple[int, int], intents: int
) -> AsyncIterator[GatewayListener]:
    """Identify as ``shard`` (id, count) with ``intents``; yield once READY has arrived.

    The simulator must let these IDENTIFYs through together (``max_concurrency`` at least
    the shard count).
    """
    ws = await session.ws_connect(f"{sim.gateway.ws_url}?v=10&encoding=json")
    await ws.receive_json()  # HELLO
    await ws.send_json(
        {
            "op": _OP_IDENTIFY,
            "d": {
                "token": DEFAULT_TOKEN,
                "intents": intents,
                "shard": list(shard),
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
