"""What Discord (or the simulator) says about the bot before its shards start.

Owns ``GET /gateway/bot`` for a local run: the recommended shard count and the identify
``max_concurrency`` that the shard plan needs, with a clear error when the token is refused
or Discord cannot be reached. Does not own the plan (:mod:`shoal.local.plans`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import aiohttp

from shoal.local.errors import LocalUpError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["GatewayBotInfo", "fetch_gateway_bot", "gateway_bot_info"]

_UNAUTHORIZED = 401


@dataclasses.dataclass(frozen=True, slots=True)
class GatewayBotInfo:
    """The parts of ``GET /gateway/bot`` a fleet is planned with."""

    recommended_shards: int
    """``shards``: Discord's recommendation for the bot's guilds."""
    max_concurrency: int
    """``session_start_limit.max_concurrency``: identify buckets per window."""
    session_starts_remaining: int
    """``session_start_limit.remaining``: IDENTIFYs left in the current period."""


def gateway_bot_info(body: Mapping[str, Any]) -> GatewayBotInfo:
    """Read a ``GET /gateway/bot`` answer."""
    limit = body["session_start_limit"]
    return GatewayBotInfo(
        recommended_shards=int(body["shards"]),
        max_concurrency=int(limit["max_concurrency"]),
        session_starts_remaining=int(limit["remaining"]),
    )


async def fetch_gateway_bot(
    http: aiohttp.ClientSession, rest_url: str, token: str
) -> GatewayBotInfo:
    """Ask ``rest_url`` for the bot's gateway information.

    Raises:
        LocalUpError: when the token is refused or the URL cannot be reached.
    """
    url = f"{rest_url}/gateway/bot"
    try:
        async with http.get(url, headers={"Authorization": f"Bot {token}"}) as response:
            if response.status == _UNAUTHORIZED:
                raise LocalUpError(f"{url} refused the bot token (401): check --token")
            response.raise_for_status()
            return gateway_bot_info(await response.json())
    except aiohttp.ClientError as exc:
        raise LocalUpError(f"cannot read {url}: {exc}") from exc
