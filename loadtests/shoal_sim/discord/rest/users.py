"""Users: the bot itself, other users, and opening DM channels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal_sim.discord import payloads
from shoal_sim.discord.rest import access, limits
from shoal_sim.discord.rest.calls import json_response, parse_snowflake
from shoal_sim.discord.rest.endpoints import Endpoint

if TYPE_CHECKING:
    from aiohttp import web

    from shoal_sim.discord.rest.calls import Call

__all__ = ["ENDPOINTS"]


async def get_me(call: Call) -> web.Response:
    """GET /users/@me: the bot user, with the fields only its owner sees."""
    bot = access.user_of(call.world, call.bot.bot_user_id)
    return json_response(
        payloads.user_json(bot)
        | {
            "bot": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "verified": True,
            "email": None,
        }
    )


async def get_user(call: Call) -> web.Response:
    """GET /users/{user_id}."""
    user = access.user_of(call.world, call.snowflake("user_id"))
    return json_response(payloads.user_json(user))


async def open_dm(call: Call) -> web.Response:
    """POST /users/@me/channels: the bot's DM channel with ``recipient_id``."""
    body = await call.object_body()
    user_id = parse_snowflake(body.get("recipient_id"), ("recipient_id",))
    user = access.user_of(call.world, user_id)
    channel = call.world.dm_channel(user.id)
    payload = payloads.channel_json(channel)
    payload["recipients"] = [payloads.user_json(user)]
    return json_response(payload)


ENDPOINTS: Final = (
    Endpoint("GET", "/users/@me", get_me, limits.READ),
    Endpoint("GET", "/users/{user_id}", get_user, limits.READ),
    Endpoint("POST", "/users/@me/channels", open_dm, limits.DM_OPEN),
)
