"""Real hikari ``GatewayBot``s against an in-process simulator, with a stateless cache.

Built the way a Shoal worker builds its bot (no cache, no member chunking, no update
check), so these tests show the simulator is good enough for the real thing.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import hikari

from shoal_sim.discord.settings import DEFAULT_TOKEN

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from shoal_sim.discord.server import Simulator

__all__ = ["gateway_bot", "running_bot"]


def gateway_bot(
    sim: Simulator, *, intents: hikari.Intents, token: str = DEFAULT_TOKEN
) -> hikari.GatewayBot:
    """Return a bot for ``sim`` that caches nothing and logs through the root logger."""
    return hikari.GatewayBot(
        token,
        rest_url=sim.rest_url,
        banner=None,
        logs=None,
        suppress_optimization_warning=True,
        intents=intents,
        cache_settings=hikari.impl.CacheSettings(components=hikari.api.CacheComponents.NONE),
        auto_chunk_members=False,
    )


@contextlib.asynccontextmanager
async def running_bot(
    bot: hikari.GatewayBot,
    *,
    shard_ids: Sequence[int] = (0,),
    shard_count: int = 1,
    ignore_session_start_limit: bool = False,
) -> AsyncIterator[hikari.GatewayBot]:
    """Start ``bot`` (every shard READY on return) and close it when the block ends."""
    try:
        await bot.start(
            shard_ids=shard_ids,
            shard_count=shard_count,
            check_for_updates=False,
            ignore_session_start_limit=ignore_session_start_limit,
        )
        yield bot
    finally:
        if bot.is_alive:
            await bot.close()
