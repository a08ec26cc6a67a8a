"""One "I agree" at a time per member, across every worker: a short lock in Redis.

Twenty fast clicks are twenty interactions, each claimed once but possibly on different
workers, each carrying the member's roles as they were when it was clicked. The clicks
of one member therefore run one after the other under :meth:`MemberLocks.held`, and each
re-reads the member before deciding, so only the first changes roles. The lock expires by
itself (``ttl_ms``) if its holder dies; it is released only by its holder (a token
compared in one Lua step). When Redis cannot be asked the click goes on unlocked: the role
PATCH carries the full role list, so a rare duplicate changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import TYPE_CHECKING, Final

import redis.exceptions

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from shoal.kit.services import FeatureKit

__all__ = ["LOCK_TTL_MS", "LOCK_WAIT_S", "MemberLocks"]

LOCK_TTL_MS: Final = 10_000
"""How long a lock lives if its holder never releases it (a crashed worker)."""
LOCK_WAIT_S: Final = 2.5
"""How long a click waits for the member's previous click (Discord's 3 s, minus margin;
the router defers at 2 s, so a waiting click is acknowledged meanwhile)."""
_POLL_S: Final = 0.01
_FEATURE: Final = "onboarding"
#: Deletes the lock only when it still holds this holder's token.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_ERRORS: Final = (redis.exceptions.RedisError, OSError)


class MemberLocks:
    """Per-member locks in Redis (see the module docstring)."""

    __slots__ = ("_kit", "_wait_s")

    def __init__(self, kit: FeatureKit, *, wait_s: float = LOCK_WAIT_S) -> None:
        """Lock through ``kit``'s Redis; wait at most ``wait_s`` for a lock."""
        self._kit = kit
        self._wait_s = wait_s

    @contextlib.asynccontextmanager
    async def held(self, guild_id: int, user_id: int) -> AsyncIterator[bool]:
        """Hold the member's lock for the block; yield False when it stayed taken too long."""
        key = self._kit.keys.feature(_FEATURE, "agree", guild_id, user_id)
        token = secrets.token_hex(8)
        acquired = await self._acquire(key, token)
        if acquired is not True:
            yield acquired is None  # None: Redis cannot be asked, go on unlocked
            return
        try:
            yield True
        finally:
            with contextlib.suppress(*_ERRORS):  # it expires by itself
                await self._kit.redis.eval(_RELEASE, 1, key, token)

    async def _acquire(self, key: str, token: str) -> bool | None:
        """Return True once the lock is ours, False after waiting too long, None on an outage."""
        deadline = time.monotonic() + self._wait_s
        try:
            while not await self._kit.redis.set(key, token, nx=True, px=LOCK_TTL_MS):
                if time.monotonic() >= deadline:
                    return False
                await asyncio.sleep(_POLL_S)
        except _ERRORS:
            return None
        return True
