"""What Discord says about a bot's sharding: ``GET /gateway/bot``.

The recommended shard count is the floor of the plan; ``max_concurrency`` sets the
identify buckets (a shard count is planned as a multiple of it); the session start
budget decides whether a reshard may begin. Owns the call and the parsing; does not
own what the operator does with the answer (``reconciling``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

import aiohttp
import orjson

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DiscordApiError",
    "GatewayInfo",
    "fetch_approximate_guild_count",
    "fetch_gateway_info",
    "parse_gateway_info",
]

_TIMEOUT: Final = aiohttp.ClientTimeout(total=15)


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayInfo:
    """``GET /gateway/bot``: the recommendation and the session start budget."""

    recommended_shards: int
    """Discord's recommended shard count."""
    max_concurrency: int
    """Identify buckets per window."""
    session_starts_total: int
    """Session starts allowed per reset period."""
    session_starts_remaining: int
    """Session starts left before the reset."""
    reset_after_s: float
    """Seconds until the budget refills."""


class DiscordApiError(RuntimeError):
    """Discord refused ``GET /gateway/bot`` or answered something unreadable."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def parse_gateway_info(body: Mapping[str, object]) -> GatewayInfo:
    """Read :class:`GatewayInfo` from the JSON body; DiscordApiError when a field is off."""
    try:
        limit = body["session_start_limit"]
        if not isinstance(limit, dict):
            raise TypeError("session_start_limit")  # noqa: TRY301 - one error path for shapes
        values = (
            body["shards"],
            limit["max_concurrency"],
            limit["total"],
            limit["remaining"],
            limit["reset_after"],
        )
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise TypeError("not an integer")  # noqa: TRY301 - one error path for shapes
        shards, mc, total, remaining, reset_after_ms = (int(str(v)) for v in values)
    except (KeyError, TypeError) as error:
        msg = f"GET /gateway/bot answered an unexpected body ({error})"
        raise DiscordApiError(msg) from None
    if shards < 1 or mc < 1:
        msg = f"GET /gateway/bot answered shards={shards}, max_concurrency={mc}"
        raise DiscordApiError(msg)
    return GatewayInfo(
        recommended_shards=shards,
        max_concurrency=mc,
        session_starts_total=total,
        session_starts_remaining=remaining,
        reset_after_s=reset_after_ms / 1000,
    )


async def fetch_gateway_info(
    http: aiohttp.ClientSession, *, api_base_url: str, token: str
) -> GatewayInfo:
    """Call ``GET {api_base_url}/gateway/bot`` with the bot's token."""
    url = f"{api_base_url.rstrip('/')}/gateway/bot"
    try:
        async with http.get(
            url, headers={"Authorization": f"Bot {token}"}, timeout=_TIMEOUT
        ) as response:
            raw = await response.read()
            if response.status == 401:  # noqa: PLR2004 - HTTP Unauthorized
                msg = "Discord refused the bot token (401): check the token Secret"
                raise DiscordApiError(msg, status=401)
            if response.status != 200:  # noqa: PLR2004 - HTTP OK
                msg = f"GET /gateway/bot answered HTTP {response.status}"
                raise DiscordApiError(msg, status=response.status)
    except (aiohttp.ClientError, TimeoutError) as error:
        # aiohttp raises the builtin TimeoutError, not a ClientError, when _TIMEOUT runs out.
        msg = f"cannot reach {url}: {str(error) or 'timed out'}"
        raise DiscordApiError(msg) from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        msg = "GET /gateway/bot answered something that is not JSON"
        raise DiscordApiError(msg) from None
    if not isinstance(body, dict):
        msg = "GET /gateway/bot answered JSON that is not an object"
        raise DiscordApiError(msg)
    return parse_gateway_info(body)


async def fetch_approximate_guild_count(
    http: aiohttp.ClientSession, *, api_base_url: str, token: str
) -> int | None:
    """Return ``GET /applications/@me``'s ``approximate_guild_count``; None when unavailable.

    Before any shard has registered a count, this sizes a bot's first deployment so it
    does not start small and reshard at once.
    """
    url = f"{api_base_url.rstrip('/')}/applications/@me"
    try:
        async with http.get(
            url, headers={"Authorization": f"Bot {token}"}, timeout=_TIMEOUT
        ) as response:
            if response.status != 200:  # noqa: PLR2004 - HTTP OK
                return None
            body = orjson.loads(await response.read())
    except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError):
        return None
    count = body.get("approximate_guild_count") if isinstance(body, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None
