"""The asyncpg pool: created from `PostgresSettings` with sane timeouts, and closed.

Owns how Shoal connects to PostgreSQL: timeouts, the ``application_name`` each session
shows in ``pg_stat_activity``, and the clear error (naming ``SHOAL_POSTGRES_DSN``, never
the password) when the server cannot be reached at start. Does not own any schema (see
`shoal.storage.migrating`) nor any query.

The pool registers no type codecs: JSONB comes back as text, and repositories decode it
themselves, so they work on any pool (the test fixtures' included).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

import asyncpg

from shoal.storage.errors import StorageUnavailableError

if TYPE_CHECKING:
    from shoal.config import PostgresSettings

__all__ = ["DEFAULT_COMMAND_TIMEOUT_S", "close_pool", "create_pool"]

_log = logging.getLogger(__name__)

_VARIABLE: Final = "SHOAL_POSTGRES_DSN"
#: A reachable server answers a connection attempt within milliseconds; five seconds
#: covers a TLS handshake across zones without leaving a pod stuck at start.
_CONNECT_TIMEOUT_S: Final = 5.0
#: Queries on the bot's hot paths are single-row lookups; one that takes this long is stuck
#: (a lock, a dead server), and an interaction must be answered within 3 s anyway.
DEFAULT_COMMAND_TIMEOUT_S: Final = 10.0
#: Connections idle this long are closed, so a quiet pod holds few server slots.
_IDLE_LIFETIME_S: Final = 300.0
#: Open one connection at start (to prove the server is reachable); more on demand.
_MIN_SIZE: Final = 1
#: Graceful close waits for queries in flight this long, then terminates the connections.
_CLOSE_TIMEOUT_S: Final = 10.0
#: PostgreSQL truncates longer application names.
_APPLICATION_NAME_MAX: Final = 63


async def create_pool(
    settings: PostgresSettings,
    *,
    application_name: str = "shoal",
    command_timeout_s: float | None = DEFAULT_COMMAND_TIMEOUT_S,
    is_connected_at_start: bool = True,
) -> asyncpg.Pool[asyncpg.Record]:
    """Open a pool on ``settings.dsn`` and (by default) prove the server answers.

    Args:
        settings: The DSN and the pool's maximum size.
        application_name: What the sessions show in ``pg_stat_activity`` (e.g.
            ``shoal-worker-3``); at most 63 characters.
        command_timeout_s: Client-side limit on each query; ``None`` for none (migrations,
            whose DDL may legitimately run for minutes).
        is_connected_at_start: Open a first connection now, so an unreachable server
            fails here; False opens connections on demand (a worker, which watches the
            server with a probe and goes on through an outage).

    Returns:
        The pool; close it with :func:`close_pool`.

    Raises:
        StorageUnavailableError: The server cannot be reached or refuses the connection; the
            message names ``SHOAL_POSTGRES_DSN`` and holds no password.
        ValueError: ``application_name`` is too long.
    """
    if len(application_name) > _APPLICATION_NAME_MAX:
        raise ValueError(f"application_name is over {_APPLICATION_NAME_MAX} characters")
    try:
        pool: asyncpg.Pool[asyncpg.Record] = await asyncpg.create_pool(
            settings.dsn,
            min_size=min(_MIN_SIZE, settings.pool_max_size) if is_connected_at_start else 0,
            max_size=settings.pool_max_size,
            max_inactive_connection_lifetime=_IDLE_LIFETIME_S,
            timeout=_CONNECT_TIMEOUT_S,
            command_timeout=command_timeout_s,
            server_settings={"application_name": application_name},
        )
    except (
        OSError,
        TimeoutError,
        ValueError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ) as exc:
        # `from None`: the driver's own traceback may quote the DSN; ours is scrubbed.
        raise StorageUnavailableError.from_error(_VARIABLE, settings.dsn, exc) from None
    _log.info("PostgreSQL pool ready (max %d connections)", settings.pool_max_size)
    return pool


async def close_pool(pool: asyncpg.Pool[asyncpg.Record]) -> None:
    """Close ``pool``: wait for queries in flight (up to 10 s), then terminate the rest."""
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT_S):
            await pool.close()
    except TimeoutError:
        _log.warning("PostgreSQL pool did not close within %.0f s; terminating", _CLOSE_TIMEOUT_S)
        pool.terminate()
    else:
        _log.info("PostgreSQL pool closed")
