"""The shared Redis client: created from `RedisSettings`, checked with a PING, and closed.

Owns how Shoal connects to Redis: timeouts, keep-alive, health checks, the name each
connection shows in ``CLIENT LIST``, and the clear error (naming ``SHOAL_REDIS_URL``, never
the password) when the server cannot be reached at start. Does not own key names (see
`shoal.storage.redis_keys`) nor anything stored.

Responses are **bytes** (``decode_responses`` off), for every user of the client: values on
the hot paths are orjson bytes or small integers, which decoding to ``str`` would only slow
down and could break (binary values are not UTF-8); one client type serves every module,
like the test fixtures' ``redis_client``; callers decode the few strings they need.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import redis.asyncio as redis_asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from shoal.storage.errors import StorageUnavailableError

if TYPE_CHECKING:
    from shoal.config import RedisSettings

__all__ = ["MAX_CONNECTIONS", "close_redis", "create_redis"]

_log = logging.getLogger(__name__)

_VARIABLE: Final = "SHOAL_REDIS_URL"
#: A reachable Redis accepts a connection within milliseconds; longer means it is gone.
_CONNECT_TIMEOUT_S: Final = 5.0
#: Commands are O(1) or small scripts; a reply this late means a dead connection.
_COMMAND_TIMEOUT_S: Final = 5.0
#: A pooled connection of a server that died and came back fails its first command with
#: "Connection closed by server" (the pool's check on checkout does not see it under
#: uvloop): every connection of the pool would report Redis down once more after it is
#: back. One immediate retry on a new connection replaces it. Safe for every command: the
#: dead connection's command never reached a server, and a server that died mid-command
#: refuses the immediate retry too (then the caller sees the error, as without a retry).
_RETRY: Final = Retry(NoBackoff(), retries=1)
#: A connection idle this long sends a PING before its next use (and a pub/sub listener
#: polls at this pace), so a connection dropped by a proxy or NAT is noticed and replaced.
HEALTH_CHECK_INTERVAL_S: Final = 15
#: Connections per client: enough for hundreds of interactions a second per worker
#: (each takes one briefly for its claim and rate limit).
MAX_CONNECTIONS: Final = 256
#: How long a command waits for a free connection before failing.
_POOL_WAIT_S: Final = 5.0


async def create_redis(
    settings: RedisSettings, *, client_name: str = "shoal"
) -> redis_asyncio.Redis:
    """Create the client on ``settings.url`` and prove the server answers a PING.

    Args:
        settings: The server's URL (a password in it is never logged).
        client_name: What the connections show in ``CLIENT LIST`` (e.g. ``shoal-worker-3``).

    Returns:
        A client returning bytes; close it with :func:`close_redis`.

    Raises:
        StorageUnavailableError: The server cannot be reached or refuses us (e.g. a wrong
            password); the message names ``SHOAL_REDIS_URL`` and holds no password.
    """
    try:
        # A blocking pool: a burst waits for a free connection instead of failing with
        # "Too many connections" (the default pool raises at 100).
        pool = redis_asyncio.BlockingConnectionPool.from_url(
            settings.url,
            max_connections=MAX_CONNECTIONS,
            timeout=_POOL_WAIT_S,
            decode_responses=False,
            socket_connect_timeout=_CONNECT_TIMEOUT_S,
            socket_timeout=_COMMAND_TIMEOUT_S,
            socket_keepalive=True,
            health_check_interval=HEALTH_CHECK_INTERVAL_S,
            retry=_RETRY,
            retry_on_error=[redis.exceptions.ConnectionError],
            client_name=client_name,
        )
        client = redis_asyncio.Redis.from_pool(pool)
    except ValueError as exc:  # a URL redis-py cannot parse
        raise StorageUnavailableError.from_error(_VARIABLE, settings.url, exc) from None
    try:
        await client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        await client.aclose()
        # `from None`: the driver's own traceback may quote the URL; ours is scrubbed.
        raise StorageUnavailableError.from_error(_VARIABLE, settings.url, exc) from None
    _log.info("Redis client connected")
    return client


async def close_redis(client: redis_asyncio.Redis) -> None:
    """Close ``client`` and its connection pool."""
    await client.aclose()
    _log.info("Redis client closed")
