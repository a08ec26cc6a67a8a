"""What a REST endpoint declares: method, route template, handler, auth and limit.

Route modules list their endpoints; :mod:`.routing` mounts them and applies what
they declare (authentication, the global limit, the per-route bucket).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiohttp import web

    from shoal_sim.discord.rest.calls import Call
    from shoal_sim.discord.rest.ratelimiting import RouteLimit

__all__ = ["Auth", "Endpoint"]


class Auth(enum.Enum):
    """How a request to an endpoint is authorised."""

    BOT = "bot"
    """``Authorization: Bot <token>``; counts towards the token's global limit."""
    PATH_TOKEN = "path-token"  # noqa: S105 - names a kind of route, holds no secret
    """An interaction or webhook token in the path; no bot token, exempt from the global limit."""
    NONE = "none"
    """Public routes (GET /gateway): no token, exempt from the global limit."""


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST endpoint."""

    method: str
    template: str
    """Path under ``/api/v10`` with Discord's parameter names, e.g. ``/channels/{channel_id}``."""
    handler: Callable[[Call], Awaitable[web.StreamResponse]]
    limit: RouteLimit | None
    """The per-route bucket; None for routes Discord does not bucket (interaction callbacks)."""
    major: tuple[str, ...] = ()
    """Path parameters whose values split the bucket (channel, guild, webhook id and token)."""
    auth: Auth = Auth.BOT

    @property
    def key(self) -> str:
        """Return ``"METHOD template"``, the statistics key of this endpoint."""
        return f"{self.method} {self.template}"
