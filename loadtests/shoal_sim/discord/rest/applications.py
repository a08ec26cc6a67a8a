"""GET /oauth2/applications/@me and GET /applications/@me: the bot's application.

hikari-arc reads the first at start; the operator reads ``approximate_guild_count`` from
the second to size a first deployment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal_sim.discord import payloads
from shoal_sim.discord.rest import limits
from shoal_sim.discord.rest.calls import json_response
from shoal_sim.discord.rest.endpoints import Endpoint

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS"]


async def get_my_application(call: Call) -> web.Response:
    """GET /oauth2/applications/@me or /applications/@me (the same body)."""
    return json_response(payloads.application_json(call.bot, call.world))


ENDPOINTS: Final = (
    Endpoint("GET", "/oauth2/applications/@me", get_my_application, limits.READ),
    Endpoint("GET", "/applications/@me", get_my_application, limits.READ),
)
