"""Claiming an interaction in Redis, so exactly one worker answers it.

During a reshard two generations of shards run side by side and Discord sends every
interaction to both. Before a handler runs, the worker sets the interaction's claim key
with ``SET NX``: the one that set it answers, every other one drops the interaction
without a word. Claims expire after the 15 min an interaction token lives.

When Redis cannot be reached (or is known to be down: the claim is then not even tried)
the claim is :attr:`ClaimOutcome.UNAVAILABLE`, and who answers is decided without Redis
by :func:`shoal.planning.generations.is_generation_active`: only workers of the last known
active generation (``shoal.interactions.gating.ListenerGate.admit``). With one
generation that is every worker, so nothing goes unanswered; during a reshard exactly one
generation answers. The outage is logged once by the dependency's health, not per claim.
"""

from __future__ import annotations

import asyncio
import enum
from typing import TYPE_CHECKING, Final, Protocol

from shoal.storage.probing import REDIS_ERRORS, redis_health

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from shoal.observability.dependencies import DependencyHealth
    from shoal.storage.redis_keys import RedisKeys

__all__ = [
    "CLAIM_TIMEOUT_S",
    "CLAIM_TTL_MS",
    "ClaimOutcome",
    "InteractionClaims",
    "RedisInteractionClaims",
]

CLAIM_TTL_MS: Final = 15 * 60 * 1000
"""An interaction token lives 15 min; after that nobody can answer it anyway."""
CLAIM_TIMEOUT_S: Final = 1.0
"""A claim is one round trip of a millisecond; one still waiting after a second is a hung
Redis, and the interaction must still be answered within Discord's 3 s."""


class ClaimOutcome(enum.Enum):
    """What a claim on an interaction id found."""

    WON = "won"
    """This worker set the claim first: it answers."""
    LOST = "lost"
    """Another worker claimed it first: this one stays silent."""
    UNAVAILABLE = "unavailable"
    """Redis could not be asked: the generation rule decides (see the module docstring)."""


class InteractionClaims(Protocol):
    """Decides which worker answers an interaction."""

    async def claim(self, interaction_id: int) -> ClaimOutcome:
        """Claim ``interaction_id`` for this worker."""
        ...


class RedisInteractionClaims:
    """Claims as Redis keys set with ``NX`` and an expiry (shared by every worker)."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        owner: str,
        health: DependencyHealth | None = None,
        ttl_ms: int = CLAIM_TTL_MS,
        timeout_s: float = CLAIM_TIMEOUT_S,
    ) -> None:
        """Claim in ``redis`` under ``keys``; ``owner`` is stored as the claim's value.

        ``health`` is Redis's as this process sees it (a private one by default); unlike
        other Redis users, a claim is tried even while it says Redis is down: a worker that
        answered unclaimed while the others claim again (Redis back, its probe not yet
        run) would answer twice. A refused connection costs a millisecond; a Redis that
        does not answer at all costs ``timeout_s`` per interaction, inside Discord's 3 s.
        """
        self._redis = redis
        self._keys = keys
        self._owner = owner
        self._health = health or redis_health(None)
        self._ttl_ms = ttl_ms
        self._timeout_s = timeout_s
        self._last_unavailable: int | None = None

    async def claim(self, interaction_id: int) -> ClaimOutcome:
        """Set the claim if nobody has; UNAVAILABLE when Redis cannot be asked."""
        health = self._health
        key = self._keys.interaction_claim(interaction_id)
        try:
            async with asyncio.timeout(self._timeout_s):
                is_set = await self._redis.set(key, self._owner, nx=True, px=self._ttl_ms)
        except REDIS_ERRORS as error:
            health.report_failure(error, operation="claim")
            if interaction_id != self._last_unavailable:  # a retry counts once
                self._last_unavailable = interaction_id
                health.count_degraded("claim")
            return ClaimOutcome.UNAVAILABLE
        health.report_success()
        return ClaimOutcome.WON if is_set else ClaimOutcome.LOST
