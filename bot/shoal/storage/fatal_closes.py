"""The fatal-close records in Redis: why a worker stopped, read back by its controllers.

A worker that Discord closed with a code reconnecting cannot fix writes
``keys.fatal_close(pod_name)`` as JSON ``{"code", "reason", "shard", "at"}`` before it
exits (the writer is :func:`shoal.gateway.closing.record_fatal_close`). The operator and
``shoal local up``'s reshard controller read those of the pods they run with
:func:`read_fatal_closes` (a 4011 close asks for more shards, others need a person) and
delete them with :func:`clear_fatal_closes` once the fleet is READY again. Does not own
what a close means (:mod:`shoal.planning.closing`, :mod:`shoal.planning.reconciling`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

__all__ = ["FatalCloseRecord", "clear_fatal_closes", "read_fatal_closes"]

_LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class FatalCloseRecord:
    """Why one pod stopped, as its worker recorded it."""

    code: int
    """The gateway close code (4004 also for a 401 from REST at start)."""
    reason: str
    """What it means and what to do, for a person."""


def _record(raw: bytes | str, pod: str) -> FatalCloseRecord | None:
    try:
        fields = orjson.loads(raw)
        return FatalCloseRecord(code=int(fields["code"]), reason=str(fields["reason"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        _LOG.warning("unreadable fatal close record", extra={"pod": pod})
        return None


async def read_fatal_closes(
    redis: Redis, keys: RedisKeys, pods: Sequence[str]
) -> dict[str, FatalCloseRecord]:
    """Return pod -> its fatal close record, for each of ``pods`` that has a readable one.

    One round trip (MGET); an unreadable record is logged at WARNING and left out.
    """
    if not pods:
        return {}
    raws = await redis.mget([keys.fatal_close(pod) for pod in pods])
    records: dict[str, FatalCloseRecord] = {}
    for pod, raw in zip(pods, raws, strict=True):
        record = None if raw is None else _record(raw, pod)
        if record is not None:
            records[pod] = record
    return records


async def clear_fatal_closes(redis: Redis, keys: RedisKeys, pods: Sequence[str]) -> None:
    """Delete the fatal close records of ``pods`` (the fleet recovered from them)."""
    if pods:
        await redis.delete(*(keys.fatal_close(pod) for pod in pods))
