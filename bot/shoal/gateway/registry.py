"""The shard registry: one expiring hash per running shard in Redis, and reading it back.

Every worker writes each local shard's state, guild count, latency, pod, generation,
shard count and update time (``updated_at``, unix time) to ``registry_shard(generation,
shard_id)`` every :data:`REGISTRY_REFRESH_S`, with a time to live a few times that long, so
the entries of a worker that disappeared expire by themselves; until then readers count
them as stale, not READY (:mod:`shoal.planning.registry_staleness`). ``registry_index``
lists the keys so readers need no SCAN. The operator and ``shoal status`` read it with
:func:`read_registry` and sample the bot's guild total into ``guild_history`` with
:func:`record_guild_total`. Which generation makes the total is decided by
:func:`shoal.planning.guilds.generation_to_total`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Final, cast

from shoal.planning.guilds import generation_to_total
from shoal.planning.registry_staleness import REGISTRY_REFRESH_S

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.asyncio import Redis

    from shoal.gateway.shard import ShardSnapshot
    from shoal.storage.redis_keys import RedisKeys

__all__ = [
    "REGISTRY_REFRESH_S",
    "RegistryEntry",
    "ShardRegistry",
    "read_guild_history",
    "read_registry",
    "record_guild_total",
]

#: An entry outlives a few missed refreshes (readers show it stale meanwhile), then
#: expires: its worker is gone.
_ENTRY_TTL_S: Final = 15.0
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


class ShardRegistry:
    """Writes one worker's shards to the registry."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        pod_name: str,
        generation: int,
        shard_count: int,
        ttl_s: float = _ENTRY_TTL_S,
    ) -> None:
        """Describe shards of ``generation`` (``shard_count`` in all) run by ``pod_name``."""
        self._redis = redis
        self._keys = keys
        self._pod_name = pod_name
        self._generation = generation
        self._shard_count = shard_count
        self._ttl_ms = max(1, round(ttl_s * 1000))

    async def publish(self, snapshots: Sequence[ShardSnapshot], *, now: float) -> None:
        """Write every snapshot and renew its time to live, in one round trip."""
        if not snapshots:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for snapshot in snapshots:
                key = self._keys.registry_shard(self._generation, snapshot.shard_id)
                latency_s = snapshot.latency_s
                pipe.hset(
                    key,
                    mapping={
                        "state": snapshot.status.value,
                        "guild_count": snapshot.guild_count,
                        "latency_ms": "" if math.isnan(latency_s) else round(latency_s * 1000, 3),
                        "pod": self._pod_name,
                        "generation": self._generation,
                        "shard_count": self._shard_count,
                        "updated_at": now,
                    },
                )
                pipe.pexpire(key, self._ttl_ms)
                pipe.sadd(self._keys.registry_index(), key)
            await pipe.execute()


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
