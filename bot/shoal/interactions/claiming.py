"""Claiming an interaction in Redis, so exactly one worker answers it.

During a reshard two generations of shards run side by side and Discord sends every
interaction to both. Before a handler runs, the worker sets the interaction's claim key
with ``SET NX``: the one that set it answers, every other one drops the interaction
without a word. Claims expire after the 15 min an interaction token lives.

If Redis cannot be reached the claim counts as won (fail open): outside a reshard only one
generation runs, and a command nobody answers is worse than a rare second answer (which
Discord refuses anyway).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final, Protocol

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

__all__ = ["CLAIM_TTL_MS", "InteractionClaims", "RedisInteractionClaims"]

logger = logging.getLogger(__name__)

CLAIM_TTL_MS: Final = 15 * 60 * 1000
"""An interaction token lives 15 min; after that nobody can answer it anyway."""


class InteractionClaims(Protocol):
    """Decides which worker answers an interaction."""

    async def claim(self, interaction_id: int) -> bool:
        """Return True when this worker is the first to claim ``interaction_id``."""
        ...


class RedisInteractionClaims:
    """Claims as Redis keys set with ``NX`` and an expiry (shared by every worker)."""

    def __init__(
        self, redis: Redis, keys: RedisKeys, *, owner: str, ttl_ms: int = CLAIM_TTL_MS
    ) -> None:
        """Claim in ``redis`` under ``keys``; ``owner`` is stored as the claim's value."""
        self._redis = redis
        self._keys = keys
        self._owner = owner
        self._ttl_ms = ttl_ms

    async def claim(self, interaction_id: int) -> bool:
        """Return True when this worker set the claim first (or Redis is unreachable)."""
        key = self._keys.interaction_claim(interaction_id)
        try:
            return bool(await self._redis.set(key, self._owner, nx=True, px=self._ttl_ms))
        except (RedisError, OSError):
            logger.warning(
                "cannot claim interaction %d in Redis; answering it anyway",
                interaction_id,
                exc_info=True,
                extra={"interaction_id": interaction_id},
            )
            return True
