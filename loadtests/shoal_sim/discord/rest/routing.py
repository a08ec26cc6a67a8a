"""Mounts Discord's REST API under ``/api/v10`` and guards every request.

The guard (one aiohttp middleware on the ``/api/v10`` sub-application) authenticates
``Authorization: Bot <token>``, applies the token's global limit and the route's
bucket, adds Discord's rate-limit headers, turns :class:`.errors.DiscordError` and
unknown routes into Discord's JSON errors and counts everything in
:class:`~shoal_sim.discord.stats.SimStats` (every error body by its JSON ``code``, so a
test can assert that no 50013 Missing Permissions was answered). Handlers live in the
route modules; the arithmetic of limits in :mod:`.ratelimiting`.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING, Final

import orjson
from aiohttp import web

from shoal_sim.discord.rest import (
    applications,
    bans,
    channels,
    commands,
    errors,
    gateway_routes,
    guilds,
    interactions,
    members,
    messages,
    ratelimiting,
    users,
    webhooks,
)
from shoal_sim.discord.rest.calls import Call, json_response
from shoal_sim.discord.rest.endpoints import Auth, Endpoint

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiohttp.web_urldispatcher import AbstractRoute

    from shoal_sim.discord.entities import Application
    from shoal_sim.discord.server import Simulator

__all__ = ["API_PREFIX", "ENDPOINTS", "RestGuard", "add_routes"]

_LOG = logging.getLogger(__name__)

API_PREFIX: Final = "/api/v10"
ENDPOINTS: Final[tuple[Endpoint, ...]] = (
    *gateway_routes.ENDPOINTS,
    *users.ENDPOINTS,
    *applications.ENDPOINTS,
    *commands.ENDPOINTS,
    *interactions.ENDPOINTS,
    *webhooks.ENDPOINTS,
    *channels.ENDPOINTS,
    *messages.ENDPOINTS,
    *guilds.ENDPOINTS,
    *members.ENDPOINTS,
    *bans.ENDPOINTS,
)
"""Every endpoint the simulator serves."""

_CALL_KEY: Final = web.RequestKey("shoal_sim_rest_call", Call)
_UNROUTED: Final = "<unrouted>"
#: Statuses Cloudflare counts as invalid requests (429 counts unless its scope is shared).
_INVALID_STATUSES: Final = frozenset({401, 403, 429})
_BOT_PREFIX: Final = "Bot "


def add_routes(app: web.Application, sim: Simulator) -> None:
    """Mount every endpoint under ``/api/v10`` on the simulator's application."""
    guard = RestGuard(sim)

    @web.middleware
    async def guarding(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        return await guard.middleware(request, handler)

    api = web.Application(middlewares=[guarding])
    for endpoint in ENDPOINTS:
        route = api.router.add_route(
            endpoint.method, endpoint.template, functools.partial(_call_handler, endpoint)
        )
        guard.endpoints[route] = endpoint
    app.add_subapp(API_PREFIX, api)


async def _call_handler(endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
    return await endpoint.handler(request[_CALL_KEY])


class RestGuard:
    """Authentication, limits, error shapes and statistics for every REST request."""

    def __init__(self, sim: Simulator) -> None:
        """Guard the REST API of ``sim``; limits start empty."""
        self._sim = sim
        self.endpoints: dict[AbstractRoute, Endpoint] = {}
        self._route_buckets = ratelimiting.BucketTable()
        self._global_windows = ratelimiting.BucketTable()
        self._global_limit = ratelimiting.RouteLimit(sim.settings.global_rate_per_s, 1.0)
        self._hashes: dict[Endpoint, str] = {}

    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Serve one request under ``/api/v10`` (the body of an aiohttp middleware)."""
        endpoint = self.endpoints.get(request.match_info.route)
        label = f"{request.method} {_UNROUTED}" if endpoint is None else endpoint.key
        self._sim.stats.rest_requests[label] += 1
        if endpoint is None:
            response: web.StreamResponse = _unrouted(request)
        else:
            response = await self._serve(request, endpoint, handler)
        self._count(label, response)
        return response

    async def _serve(
        self,
        request: web.Request,
        endpoint: Endpoint,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        now = time.monotonic()
        app: Application | None = None
        if endpoint.auth is Auth.BOT:
            app = self._sim.world.application_for_token(_bot_token(request))
            if app is None:
                return _error(errors.DiscordError(errors.UNAUTHORIZED))
            verdict = self._global_windows.take((app.token,), self._global_limit, now)
            if not verdict.is_allowed:
                return _global_limited(verdict.reset_after_s)
        headers: dict[str, str] = {}
        if endpoint.limit is not None:
            bucket = self._bucket_hash(endpoint)
            majors = tuple(request.match_info[name] for name in endpoint.major)
            identity = None if app is None else app.id
            verdict = self._route_buckets.take((identity, bucket, *majors), endpoint.limit, now)
            headers = ratelimiting.route_headers(verdict, bucket, time.time())
            if not verdict.is_allowed:
                return _route_limited(verdict, bucket)
        request[_CALL_KEY] = Call(request=request, sim=self._sim, app=app)
        response = await _handle(request, handler)
        response.headers.update(headers)
        return response

    def _bucket_hash(self, endpoint: Endpoint) -> str:
        bucket = self._hashes.get(endpoint)
        if bucket is None:
            bucket = ratelimiting.bucket_hash(endpoint.method, endpoint.template)
            self._hashes[endpoint] = bucket
        return bucket

    def _count(self, label: str, response: web.StreamResponse) -> None:
        stats = self._sim.stats
        status = response.status
        stats.rest_statuses[f"{label} {status}"] += 1
        scope = response.headers.get("X-RateLimit-Scope")
        if status == 429:  # noqa: PLR2004 - HTTP Too Many Requests
            stats.rest_429s[f"{label} {scope or 'user'}"] += 1
        if status in _INVALID_STATUSES and scope != "shared":
            stats.invalid_requests += 1
        if status >= 400 and isinstance(response, web.Response):  # noqa: PLR2004 - errors
            code = _error_code(response)
            if code is not None:
                stats.rest_error_codes[code] += 1


async def _handle(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Run the handler, turning every failure into a Discord-shaped JSON error."""
    try:
        return await handler(request)
    except errors.DiscordError as exc:
        return _error(exc)
    except web.HTTPRequestEntityTooLarge:
        return _error(errors.DiscordError(errors.ENTITY_TOO_LARGE))
    except web.HTTPException as exc:
        return json_response({"message": f"{exc.status}: {exc.reason}", "code": 0}, exc.status)
    except Exception:  # noqa: BLE001 - any handler bug becomes Discord's 500, and is logged
        _LOG.exception("REST handler failed: %s %s", request.method, request.path)
        return _error(errors.DiscordError(errors.INTERNAL_ERROR))


def _error_code(response: web.Response) -> int | None:
    """Return the JSON ``code`` of an error body (None for a body without one)."""
    body = response.body
    if not isinstance(body, bytes) or response.content_type != "application/json":
        return None
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    code = decoded.get("code") if isinstance(decoded, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _bot_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[len(_BOT_PREFIX) :] if header.startswith(_BOT_PREFIX) else ""


def _unrouted(request: web.Request) -> web.Response:
    exception = request.match_info.http_exception
    if exception is not None and exception.status == 405:  # noqa: PLR2004 - Method Not Allowed
        return _error(errors.DiscordError(errors.METHOD_NOT_ALLOWED))
    return _error(errors.DiscordError(errors.NOT_FOUND))


def _error(exc: errors.DiscordError) -> web.Response:
    return json_response(exc.body(), exc.failure.status)


def _global_limited(retry_after_s: float) -> web.Response:
    response = json_response(ratelimiting.rate_limited_body(retry_after_s, is_global=True), 429)
    response.headers.update(ratelimiting.global_limited_headers(retry_after_s))
    return response


def _route_limited(verdict: ratelimiting.Verdict, bucket: str) -> web.Response:
    body = ratelimiting.rate_limited_body(verdict.reset_after_s, is_global=False)
    response = json_response(body, 429)
    response.headers.update(ratelimiting.route_limited_headers(verdict, bucket, time.time()))
    return response
