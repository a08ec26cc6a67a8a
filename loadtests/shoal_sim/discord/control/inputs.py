"""What a control request carries: its JSON body, its fields and what they name.

Owns the control API's conventions: JSON answers, ``{"error": ...}`` with 400 for bad
input (:class:`BadInputError`, turned into a response by :func:`bad_input`) and 404 for
unknown things, and the lookups every group needs (the application, the guild, the place
an injected event happens). Does not own any route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from shoal_sim.discord.world import generated_channel_id, generated_member_id

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Application, Guild
    from shoal_sim.discord.server import Simulator

__all__ = [
    "JSON",
    "BadInputError",
    "application_at",
    "application_of",
    "bad_input",
    "bool_field",
    "error_response",
    "guild_of",
    "int_field",
    "json_response",
    "optional_int_field",
    "place_of",
    "read_body",
]

JSON = dict[str, Any]


class BadInputError(Exception):
    """Raised by parsers; becomes a 400 with the message."""


def json_response(data: Any, status: int = 200) -> web.Response:  # noqa: ANN401 - any JSON
    """Answer ``data`` as JSON."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def error_response(message: str, status: int = 400) -> web.Response:
    """Answer ``{"error": message}``."""
    return json_response({"error": message}, status)


@web.middleware
async def bad_input(request: web.Request, handler: Any) -> web.StreamResponse:  # noqa: ANN401
    """Turn :class:`BadInputError` into a 400 and :class:`LookupError` into a 404."""
    try:
        response: web.StreamResponse = await handler(request)
    except BadInputError as exc:
        return error_response(str(exc))
    except LookupError as exc:
        return error_response(str(exc), 404)
    return response


async def read_body(request: web.Request) -> JSON:
    """Return the request's JSON object (empty without a body)."""
    if not request.can_read_body:
        return {}
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        msg = f"body is not valid JSON: {exc}"
        raise BadInputError(msg) from exc
    if not isinstance(body, dict):
        msg = "body must be a JSON object"
        raise BadInputError(msg)
    return body


def int_field(body: JSON, key: str, default: int | None = None) -> int:
    """Return ``body[key]`` as an integer (snowflakes may be strings); required without default."""
    value = body.get(key, default)
    if value is None:
        msg = f"{key} is required"
        raise BadInputError(msg)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        msg = f"{key} must be an integer (snowflakes may be strings), got {value!r}"
        raise BadInputError(msg) from exc


def bool_field(body: JSON, key: str, *, default: bool) -> bool:
    """Return ``body[key]`` as a boolean (``default`` when absent or null)."""
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        msg = f"{key} must be true or false, got {value!r}"
        raise BadInputError(msg)
    return value


def optional_int_field(body: JSON, key: str) -> int | None:
    """Return ``body[key]`` as an integer, or None when absent or null."""
    return None if body.get(key) is None else int_field(body, key)


def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(
        text=orjson.dumps({"error": message}).decode(), content_type="application/json"
    )


def application_of(sim: Simulator, body: JSON) -> Application:
    """Return the application ``application_id`` names (default: the first); unknown is a 400."""
    app_id = optional_int_field(body, "application_id")
    apps = sim.world.applications
    if app_id is None:
        return next(iter(apps.values()))
    if app_id not in apps:
        msg = f"unknown application {app_id}"
        raise BadInputError(msg)
    return apps[app_id]


def application_at(sim: Simulator, request: web.Request) -> Application:
    """Return the application named in the path; an unknown one is a 404."""
    app_id = int_field(dict(request.match_info), "application_id")
    app = sim.world.applications.get(app_id)
    if app is None:
        raise _not_found(f"unknown application {app_id}")
    return app


def guild_of(sim: Simulator, guild_id: int) -> Guild:
    """Return the guild; an unknown one is a 404."""
    guild = sim.world.guild(guild_id)
    if guild is None:
        raise _not_found(f"unknown guild {guild_id}")
    return guild


def place_of(sim: Simulator, body: JSON) -> tuple[Guild | None, int, int]:
    """Return where an injected event happens: the guild (None in DMs), channel and user."""
    guild_id = optional_int_field(body, "guild_id")
    if guild_id is None:
        user_id = int_field(body, "user_id")
        return None, sim.world.dm_channel(user_id).id, user_id
    guild = guild_of(sim, guild_id)
    channel_id = optional_int_field(body, "channel_id") or generated_channel_id(guild, 1)
    has_author = any(body.get(k) is not None for k in ("user_id", "webhook_id")) or bool(
        body.get("bot")
    )
    if guild.generated_members < 1 and not has_author:
        msg = "this guild has no generated members: give user_id"
        raise BadInputError(msg)
    user_id = optional_int_field(body, "user_id") or generated_member_id(guild, 0)
    if sim.world.channel(channel_id) is None:
        msg = f"unknown channel {channel_id}"
        raise BadInputError(msg)
    return guild, channel_id, user_id
