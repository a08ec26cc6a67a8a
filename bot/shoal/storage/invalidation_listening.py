"""Listening to a Redis pub/sub channel of invalidations, and saying when some may be lost.

Owns one subscription's life: subscribe (and wait until Redis confirms it), hand each
message to ``on_message``, poll at the client's health-check pace so a dead connection is
noticed, and call ``on_gap`` whenever messages may have been missed: at every
(re)subscription and on every connection error. Pub/sub delivers at most once, so a
listener that drops its cache on a gap never serves a value whose invalidation it missed.
Does not own what is invalidated (see `shoal.storage.guild_settings_caching`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

import redis.exceptions

from shoal.storage.redis_client import HEALTH_CHECK_INTERVAL_S

if TYPE_CHECKING:
    from collections.abc import Callable

    import redis.asyncio as redis_asyncio
    from redis.asyncio.client import PubSub

__all__ = ["InvalidationListener"]

_log = logging.getLogger(__name__)

#: Redis confirms a SUBSCRIBE within milliseconds; this long means it is unreachable.
_SUBSCRIBE_TIMEOUT_S: Final = 5.0
#: Pause after a connection error before reading again (which reconnects and resubscribes).
_RETRY_DELAY_S: Final = 1.0


class InvalidationListener:
    """Subscribes ``client`` to ``channel`` and reports messages and gaps to callbacks."""

    __slots__ = (
        "_channel",
        "_client",
        "_has_lost",
        "_is_subscribed",
        "_on_gap",
        "_on_message",
        "_pubsub",
        "_task",
    )

    def __init__(
        self,
        client: redis_asyncio.Redis,
        channel: str,
        *,
        on_message: Callable[[bytes], None],
        on_gap: Callable[[], None],
    ) -> None:
        """Prepare to listen; nothing happens before :meth:`start`."""
        self._client = client
        self._channel = channel
        self._on_message = on_message
        self._on_gap = on_gap
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._is_subscribed = False
        self._has_lost = False

    @property
    def is_subscribed(self) -> bool:
        """Whether the subscription is live: every message published now will arrive."""
        return self._is_subscribed

    async def start(self) -> None:
        """Subscribe, wait until Redis confirms it, then listen in a background task.

        Raises:
            redis.exceptions.RedisError: Redis is unreachable or did not confirm in time.
            RuntimeError: Already started.
        """
        if self._pubsub is not None:
            raise RuntimeError("the listener was already started")
        self._pubsub = self._client.pubsub()
        try:
            await self._pubsub.subscribe(self._channel)
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT_S):
                while not self._is_subscribed:
                    self._handle(await self._pubsub.get_message(timeout=_SUBSCRIBE_TIMEOUT_S))
        except BaseException:
            await self.close()
            raise
        self._task = asyncio.create_task(self._listen(self._pubsub), name=f"listen {self._channel}")

    async def close(self) -> None:
        """Stop listening and release the connection."""
        self._is_subscribed = False
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
            self._pubsub = None

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                # A timeout, not a blocking read: redis-py sends its health-check PING only
                # between reads, and that PING is what finds a silently dropped connection.
                message = await pubsub.get_message(timeout=HEALTH_CHECK_INTERVAL_S)
                self._handle(message)
            except (redis.exceptions.RedisError, OSError) as exc:
                self._lost(exc)
                await asyncio.sleep(_RETRY_DELAY_S)  # the next read reconnects and resubscribes
            except Exception as exc:  # noqa: BLE001 - a bug must not stop invalidations for good
                _log.exception("invalidation listener on %s failed; retrying", self._channel)
                self._lost(exc)
                await asyncio.sleep(_RETRY_DELAY_S)

    def _lost(self, exc: BaseException) -> None:
        if self._is_subscribed:
            # INFO: a Redis outage is reported once, as a WARNING, by Redis's health; here
            # it only means the cache forgets what it held and resubscribes.
            _log.info("lost the subscription to %s (%s); resubscribing", self._channel, exc)
        self._is_subscribed = False
        self._has_lost = True
        self._on_gap()

    def _handle(self, message: dict[str, object] | None) -> None:
        if message is None:
            return
        kind = message.get("type")
        if kind in ("subscribe", b"subscribe"):
            # Also after redis-py reconnected on its own: what was published meanwhile is gone.
            if self._has_lost:
                _log.info("subscribed to %s again", self._channel)
            self._is_subscribed = True
            self._on_gap()
        elif kind in ("message", b"message"):
            data = message.get("data")
            if isinstance(data, str):  # a client with decode_responses on
                data = data.encode()
            if isinstance(data, bytes):
                self._on_message(data)
