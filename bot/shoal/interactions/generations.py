"""This worker's view of the active generation, and event claims for once-only side effects.

:class:`ActiveGeneration` reads the operator's key (``keys.active_generation()``) once at
start and then every ``refresh_s`` in the background, so deciding whether to run a
listener costs an attribute read, never a Redis round trip. What the key's value means is
:mod:`shoal.planning.generations`. A failed read keeps the last view (logged); before the
first successful read the worker counts as passive.

:class:`RedisEventClaims` is for listeners whose side effects (XP, log messages) must
happen once even while both generations count as active for a moment at handover:
``await claims.claim_event("xp", message_id)`` is True for exactly one caller.

Does not own which listeners are gated (``shoal.interactions.gating``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Final, Protocol

from shoal.interactions.claiming import CLAIM_TIMEOUT_S
from shoal.planning.generations import (
    active_generation_of,
    answers_unclaimed,
    is_generation_active,
)
from shoal.storage.probing import REDIS_ERRORS, redis_health

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

    from shoal.observability.dependencies import DependencyHealth
    from shoal.storage.redis_keys import RedisKeys

__all__ = [
    "EVENT_CLAIM_TTL_MS",
    "REFRESH_S",
    "ActiveGeneration",
    "EventClaims",
    "RedisEventClaims",
    "watching_active_generation",
]

logger = logging.getLogger(__name__)

REFRESH_S: Final = 1.0
"""How often the view is refreshed: a handover takes effect within about a second."""
EVENT_CLAIM_TTL_MS: Final = 15 * 60 * 1000
"""Both generations see an event within seconds of each other (a resume replays at most a
few minutes); a claim outliving that only costs memory."""


class ActiveGeneration:
    """Whether this worker's generation is the active one, refreshed in the background."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        generation: int,
        refresh_s: float = REFRESH_S,
        health: DependencyHealth | None = None,
    ) -> None:
        """Watch ``keys.active_generation()`` for a worker of ``generation``.

        ``health`` is Redis's as this process sees it (a private one by default).
        """
        if not refresh_s > 0:
            msg = f"refresh_s must be positive, got {refresh_s}"
            raise ValueError(msg)
        self._redis = redis
        self._key = keys.active_generation()
        self.generation = generation
        """This worker's generation."""
        self._refresh_s = refresh_s
        self.active: int | None = None
        """The active generation as last read; None until the first read succeeds."""
        self.is_active = False
        """Whether this worker's listeners run (read on every event: a plain attribute)."""
        self._task: asyncio.Task[None] | None = None
        self._health = health or redis_health(None)
        self._bad_value: bytes | str | None = None
        self._switched_to_us_at: float | None = None  # saw another generation active first
        self._last_read_at = 0.0

    @property
    def answers_unclaimed(self) -> bool:
        """Whether this worker answers interactions it could not claim (Redis is down).

        See :func:`shoal.planning.generations.answers_unclaimed` (the handover after a
        switch).
        """
        switched_at = self._switched_to_us_at
        return answers_unclaimed(
            self.generation,
            self.active,
            active_for_s=None if switched_at is None else self._last_read_at - switched_at,
            refresh_s=self._refresh_s,
        )

    async def refresh(self) -> None:
        """Read the key once and update the view; a failed read keeps the last view.

        While Redis is known to be down the read is not tried (its probe notices the
        recovery); a value that is not a generation is logged once per value.
        """
        if not self._health.is_up:
            return
        try:
            raw = await self._redis.get(self._key)
        except REDIS_ERRORS as error:
            self._health.report_failure(error, operation="active_generation")
            return
        self._health.report_success()
        try:
            active = active_generation_of(raw)
        except ValueError as error:
            if raw != self._bad_value:
                self._bad_value = raw
                logger.warning(
                    "%s: %s; keeping the last view (%s)",
                    self._key,
                    error,
                    self.active,
                    extra={"generation": self.generation},
                )
            return
        self._bad_value = None
        now = asyncio.get_running_loop().time()
        if active != self.generation:
            self._switched_to_us_at = None
        elif self.active is not None and self.active != active:
            self._switched_to_us_at = now  # a switch to this generation, seen just now
        self._last_read_at = now
        if active != self.active:
            logger.info(
                "active generation is %d; this worker (generation %d) is %s",
                active,
                self.generation,
                "active" if active == self.generation else "passive",
                extra={"generation": self.generation, "active_generation": active},
            )
        self.active = active
        self.is_active = is_generation_active(self.generation, active)

    async def start(self) -> None:
        """Read the key now, then keep refreshing every ``refresh_s`` until :meth:`stop`."""
        await self.refresh()
        self._task = asyncio.create_task(self._keep_refreshed(), name="active generation")

    async def stop(self) -> None:
        """Stop refreshing (the view stays as it was)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _keep_refreshed(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            await self.refresh()


@contextlib.asynccontextmanager
async def watching_active_generation(
    redis: Redis,
    keys: RedisKeys,
    *,
    generation: int,
    refresh_s: float = REFRESH_S,
    health: DependencyHealth | None = None,
) -> AsyncIterator[ActiveGeneration]:
    """Run an :class:`ActiveGeneration` for the ``async with`` block (read once on entry)."""
    watcher = ActiveGeneration(
        redis, keys, generation=generation, refresh_s=refresh_s, health=health
    )
    await watcher.start()
    try:
        yield watcher
    finally:
        await watcher.stop()


class EventClaims(Protocol):
    """Decides which worker performs an event's side effects (injectable in handlers)."""

    async def claim_event(self, kind: str, event_id: int) -> bool:
        """Return True when this worker is the first to claim ``event_id`` for ``kind``."""
        ...


class RedisEventClaims:
    """Event claims as Redis keys set with ``NX`` and an expiry, shared by every worker.

    When Redis cannot be asked the claim counts as won: the listeners that claim events
    run only on the active generation, so outside the moment of a handover only one
    worker processes each event, and losing a side effect is worse.
    """

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        owner: str,
        health: DependencyHealth | None = None,
        ttl_ms: int = EVENT_CLAIM_TTL_MS,
        timeout_s: float = CLAIM_TIMEOUT_S,
    ) -> None:
        """Claim in ``redis`` under ``keys``; ``owner`` is stored as the claim's value."""
        self._redis = redis
        self._keys = keys
        self._owner = owner
        self._health = health or redis_health(None)
        self._ttl_ms = ttl_ms
        self._timeout_s = timeout_s

    async def claim_event(self, kind: str, event_id: int) -> bool:
        """Return True when this worker set the claim first (or Redis cannot be asked).

        ``kind`` names the side effect (``"xp"``, ``"message-log"``): two features may each
        claim the same event once.
        """
        health = self._health
        if not health.is_up:
            health.count_degraded("event_claim")
            return True
        key = self._keys.event_claim(kind, event_id)
        try:
            async with asyncio.timeout(self._timeout_s):
                is_set = await self._redis.set(key, self._owner, nx=True, px=self._ttl_ms)
        except REDIS_ERRORS as error:
            health.report_failure(error, operation="event_claim")
            health.count_degraded("event_claim")
            return True
        health.report_success()
        return bool(is_set)
