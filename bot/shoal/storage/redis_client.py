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

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Final

import redis.asyncio as redis_asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from shoal.storage.errors import StorageUnavailableError

if TYPE_CHECKING:
    from shoal.config import RedisSettings

__all__ = ["MAX_CONNECTIONS", "close_redis", "create_redis", "create_redis_when_up"]

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
#: Between attempts to reach a server that is down at start.
_START_RETRY_S: Final = 1.0
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
        raise StorageUnavailableError.from_error(
            _VARIABLE, settings.url, exc, is_transient=_is_transient(exc)
        ) from None
    _log.info("Redis client connected")
    return client


async def create_redis_when_up(
    settings: RedisSettings,
    *,
    client_name: str,
    stop: asyncio.Event,
    retry_s: float = _START_RETRY_S,
) -> redis_asyncio.Redis | None:
    """Create the client as :func:`create_redis` does, waiting while the server is down.

    A pod may start while Redis restarts: it then waits (one WARNING, one INFO when the
    server answers) instead of exiting into a restart loop. A server that refuses us (a
    wrong password) or a bad URL still fails at once.

    Returns:
        The client, or None when ``stop`` was set while waiting.

    Raises:
        StorageUnavailableError: when waiting cannot help.
    """
    loop = asyncio.get_running_loop()
    waiting_since: float | None = None
    while True:
        try:
            client = await create_redis(settings, client_name=client_name)
        except StorageUnavailableError as error:
            if not error.is_transient:
                raise
            if waiting_since is None:
                waiting_since = loop.time()
                _log.warning("%s; waiting for it (the shards start once it answers)", error)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(retry_s):
                    await stop.wait()
            if stop.is_set():
                return None
            continue
        if waiting_since is not None:
            _log.info("Redis answered after %.0f s of waiting", loop.time() - waiting_since)
        return client


def _is_transient(error: BaseException) -> bool:
    """Whether the server may just not be up (yet): refused, reset or timed out."""
    if isinstance(error, redis.exceptions.AuthenticationError | redis.exceptions.ResponseError):
        return False  # a wrong password or a refused command: waiting will not help
    return isinstance(
        error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | OSError
    )


async def close_redis(client: redis_asyncio.Redis) -> None:
    """Close ``client`` and its connection pool."""
    await client.aclose()
    _log.info("Redis client closed")
