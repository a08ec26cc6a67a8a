"""Fatal closes: recognising them, and recording why a worker stopped for the operator.

The policy is pure (:func:`shoal.planning.closing.action_for_close`); this module turns
hikari's errors into a :class:`FatalClose` and writes it to Redis at
``keys.fatal_close(pod_name)`` as JSON ``{"code", "reason", "shard", "at"}``. Does not
own what the worker does next (``shoal.gateway.running``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

import hikari
import orjson

from shoal.planning.closing import FATAL_REASONS, CloseAction, action_for_close

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

__all__ = ["AUTHENTICATION_FAILED", "FatalClose", "fatal_close_of", "record_fatal_close"]

#: Discord's close code for a bad token; a 401 from REST at start means the same.
AUTHENTICATION_FAILED: Final = 4004
#: Kept for a week: long enough for a person to read it, short enough not to pile up.
_RECORD_TTL_S: Final = 7 * 24 * 3600


@dataclasses.dataclass(frozen=True, slots=True)
class FatalClose:
    """Why the worker stopped: reconnecting could not help."""

    code: int
    """The gateway close code (4004 also for a 401 from REST at start)."""
    reason: str
    """What it means and what to do, for a person."""
    shard_id: int | None
    """The shard Discord closed, or None when the worker stopped before any shard ran."""
    at: float
    """Unix time of the close."""

    def as_json(self) -> bytes:
        """Return the record the operator reads."""
        return orjson.dumps(
            {"code": self.code, "reason": self.reason, "shard": self.shard_id, "at": self.at}
        )


def fatal_close_of(error: BaseException, *, shard_id: int | None, at: float) -> FatalClose | None:
    """Return the fatal close ``error`` stands for, or None when it is not one.

    A gateway close whose code the policy answers with STOP, or a 401 from REST (hikari
    fetches ``/gateway/bot`` before any shard connects, so a bad token shows up there).
    """
    if isinstance(error, hikari.UnauthorizedError):
        code = AUTHENTICATION_FAILED
    elif isinstance(error, hikari.GatewayServerClosedConnectionError) and error.code is not None:
        code = error.code
    else:
        return None
    if action_for_close(code) is not CloseAction.STOP:
        return None
    return FatalClose(code=code, reason=FATAL_REASONS[code], shard_id=shard_id, at=at)


async def record_fatal_close(
    redis: Redis, keys: RedisKeys, *, pod_name: str, fatal: FatalClose
) -> None:
    """Write ``fatal`` where the operator looks for why ``pod_name`` stopped."""
    await redis.set(keys.fatal_close(pod_name), fatal.as_json(), ex=_RECORD_TTL_S)
