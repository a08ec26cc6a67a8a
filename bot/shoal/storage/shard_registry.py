"""The shard registry's format in Redis and its readers; the guild history.

Every worker writes one expiring hash per running shard at ``registry_shard(generation,
shard_id)`` (fields ``state``, ``guild_count``, ``latency_ms``, ``pod``, ``generation``,
``shard_count``, ``updated_at``) and lists the key in ``registry_index``, so readers need
no SCAN (the writer is :class:`shoal.gateway.registry.ShardRegistry`). This module owns
reading that format back (:func:`read_registry`, which also drops expired keys from the
index) and the bot's guild history (``guild_history``, a sorted set of ``"<time>:<total>"``
scored by unix time): :func:`record_guild_total` samples the guild total into it and
:func:`read_guild_history` reads it. The operator, ``shoal status`` and ``shoal local
up`` read the registry here; which generation makes the total is decided by
:func:`shoal.planning.guilds.generation_to_total`, which entries are READY by
:mod:`shoal.planning.registry_staleness`. Does not own writing the entries (the worker's).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final, cast

from shoal.planning.guilds import generation_to_total

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

__all__ = [
    "RegistryEntry",
    "read_guild_history",
    "read_registry",
    "record_guild_total",
]

#: Guild total samples kept: a day at one sample a minute.
_HISTORY_SAMPLES: Final = 1_440


@dataclasses.dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One shard as its worker last described it."""

    generation: int
    """The shard set it belongs to."""
    shard_id: int
    """The shard id."""
    shard_count: int
    """The total shard count of its generation."""
    state: str
    """``shoal.observability.shard_status.ShardStatus`` value, e.g. ``"ready"``."""
    guild_count: int
    """Guilds of the shard's session."""
    latency_ms: float | None
    """Last heartbeat round trip, None before the first ACK."""
    pod: str
    """The pod running it."""
    updated_at: float
    """Unix time of the write."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entry(fields: dict[str, str], shard_id: int) -> RegistryEntry | None:
    try:
        latency = fields["latency_ms"]
        return RegistryEntry(
            generation=int(fields["generation"]),
            shard_id=shard_id,
            shard_count=int(fields["shard_count"]),
            state=fields["state"],
            guild_count=int(fields["guild_count"]),
            latency_ms=float(latency) if latency else None,
            pod=fields["pod"],
            updated_at=float(fields["updated_at"]),
        )
    except (KeyError, ValueError):
        return None


async def read_registry(redis: Redis, keys: RedisKeys) -> list[RegistryEntry]:
    """Return every live entry, by generation and shard id; drop expired ones from the index."""
    index = keys.registry_index()
    names = sorted(_text(name) for name in await redis.smembers(index))
    if not names:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(name)
        replies = await pipe.execute()
    entries: list[RegistryEntry] = []
    expired: list[str] = []
    for name, reply in zip(names, replies, strict=True):
        fields = {_text(k): _text(v) for k, v in reply.items()}
        entry = _entry(fields, shard_id=int(name.rsplit(":", 1)[1])) if fields else None
        if entry is None:
            expired.append(name)
        else:
            entries.append(entry)
    if expired:
        await redis.srem(index, *expired)
    return sorted(entries, key=lambda e: (e.generation, e.shard_id))


async def record_guild_total(
    redis: Redis,
    keys: RedisKeys,
    *,
    now: float,
    keep: int = _HISTORY_SAMPLES,
    min_interval_s: float = 0.0,
) -> int | None:
    """Sum the guilds of the counted generation, append ``(now, total)`` to the history.

    A sample is appended only when the newest one is at least ``min_interval_s`` old, so
    frequent callers (the operator's timer) keep the history's time span. Returns the
    total, or None (nothing recorded) when no shard is registered.
    """
    entries = await read_registry(redis, keys)
    active_raw = await redis.get(keys.active_generation())
    active = int(active_raw) if active_raw is not None else None
    generation = generation_to_total(active, {e.generation for e in entries})
    if generation is None:
        return None
    total = sum(e.guild_count for e in entries if e.generation == generation)
    history = keys.guild_history()
    if min_interval_s > 0:
        newest = await redis.zrange(history, -1, -1, withscores=True)
        if newest and now - float(newest[0][1]) < min_interval_s:
            return total
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(history, {f"{now}:{total}": now})
        pipe.zremrangebyrank(history, 0, -keep - 1)
        await pipe.execute()
    return total


async def read_guild_history(redis: Redis, keys: RedisKeys) -> list[tuple[float, int]]:
    """Return the recorded ``(unix time, guild total)`` samples, oldest first."""
    samples: list[tuple[float, int]] = []
    rows = await redis.zrange(keys.guild_history(), 0, -1, withscores=True)
    for row in rows:
        member, score = cast("tuple[bytes | str, float]", row)  # withscores: (member, score)
        _, _, total = _text(member).rpartition(":")
        if total.isdigit():
            samples.append((float(score), int(total)))
    return samples
