"""GET /gateway and GET /gateway/bot: where to connect, how many shards, identify budget."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Final

from shoal_sim.discord.rest import limits
from shoal_sim.discord.rest.calls import json_response
from shoal_sim.discord.rest.endpoints import Auth, Endpoint

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS", "recommended_shards"]

#: Discord recommends about one shard per this many guilds.
_GUILDS_PER_RECOMMENDED_SHARD: Final = 1000


def recommended_shards(guild_count: int) -> int:
    """Return the ``shards`` Discord recommends for a bot in ``guild_count`` guilds."""
    return max(1, math.ceil(guild_count / _GUILDS_PER_RECOMMENDED_SHARD))


async def get_gateway(call: Call) -> web.Response:
    """GET /gateway."""
    return json_response({"url": call.sim.gateway.ws_url})


async def get_gateway_bot(call: Call) -> web.Response:
    """GET /gateway/bot: URL, recommended shards and the session start limit."""
    app = call.bot
    now = time.monotonic()
    call.world.refresh_session_starts(app, now)
    reset_after_ms = max(0, int((app.session_start_reset_at - now) * 1000))
    return json_response(
        {
            "url": call.sim.gateway.ws_url,
            "shards": recommended_shards(len(app.guild_ids)),
            "session_start_limit": {
                "total": app.session_start_total,
                "remaining": app.session_start_remaining,
                "reset_after": reset_after_ms,
                "max_concurrency": app.max_concurrency,
            },
        }
    )


ENDPOINTS: Final = (
    Endpoint("GET", "/gateway", get_gateway, limits.GATEWAY_INFO, auth=Auth.NONE),
    Endpoint("GET", "/gateway/bot", get_gateway_bot, limits.GATEWAY_INFO),
)
