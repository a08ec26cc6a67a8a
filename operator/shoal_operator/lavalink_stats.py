"""What each Lavalink node says about its load: ``GET /v4/stats`` on every node at once.

Owns the HTTP calls and turning every failure (refused connection, timeout, a refused
password, an unreadable body) into a :class:`NodeDown` with a reason a person can act
on. Does not own the parsing and scoring (``shoal.planning.audio_nodes``), what the
operator does with the answers (``lavalink_reconciling``) or the HTTP session (the
caller's, shared with the Discord calls). The password goes in the ``Authorization``
header only: it never appears in a reason or a log.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Final, TypeAlias

import aiohttp
import orjson

from shoal.planning.audio_nodes import LavalinkNodeStats, parse_lavalink_stats

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["STATS_TIMEOUT_S", "NodeDown", "NodePoll", "fetch_node_stats", "poll_lavalink_nodes"]

#: A node on the cluster network answers in milliseconds; one that takes seconds is in
#: trouble, and a reconcile pass must not wait on it (every node is polled at once).
STATS_TIMEOUT_S: Final = 2.0
_HTTP_UNAUTHORIZED: Final = 401
_HTTP_FORBIDDEN: Final = 403
_HTTP_OK: Final = 200


@dataclasses.dataclass(frozen=True, slots=True)
class NodeDown:
    """A node that gave no usable stats."""

    reason: str
    """Why, for a person (no password in it)."""


NodePoll: TypeAlias = LavalinkNodeStats | NodeDown
"""One node's answer: its stats, or why it is counted as down."""


async def poll_lavalink_nodes(
    http: aiohttp.ClientSession,
    addresses: Sequence[str],
    *,
    password: str,
    timeout_s: float = STATS_TIMEOUT_S,
) -> dict[str, NodePoll]:
    """Call ``GET /v4/stats`` on every ``host:port`` at once; return each node's answer."""
    polls = await asyncio.gather(
        *(
            fetch_node_stats(http, address, password=password, timeout_s=timeout_s)
            for address in addresses
        )
    )
    return dict(zip(addresses, polls, strict=True))


async def fetch_node_stats(
    http: aiohttp.ClientSession,
    address: str,
    *,
    password: str,
    timeout_s: float = STATS_TIMEOUT_S,
) -> NodePoll:
    """Call ``GET http://{address}/v4/stats``; never raises for what a node can do wrong."""
    url = f"http://{address}/v4/stats"
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with http.get(url, headers={"Authorization": password}, timeout=timeout) as response:
            status = response.status
            raw = await response.read()
    except TimeoutError:
        # aiohttp raises the builtin TimeoutError, not a ClientError, when the limit runs out.
        return NodeDown(f"no answer within {timeout_s:g} s")
    except aiohttp.ClientError as error:
        return NodeDown(f"cannot connect: {str(error) or type(error).__name__}")
    if status in (_HTTP_UNAUTHORIZED, _HTTP_FORBIDDEN):
        return NodeDown(f"refused the password (HTTP {status}): check spec.lavalink's Secret")
    if status != _HTTP_OK:
        return NodeDown(f"GET /v4/stats answered HTTP {status}")
    return _parsed(raw)


def _parsed(raw: bytes) -> NodePoll:
    try:
        body: object = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return NodeDown("GET /v4/stats answered something that is not JSON")
    if not isinstance(body, dict):
        return NodeDown("GET /v4/stats answered JSON that is not an object")
    try:
        return parse_lavalink_stats(body)  # orjson's object keys are always strings
    except ValueError as error:
        return NodeDown(str(error))
