"""Writing the shard registry: each worker's shards as expiring hashes in Redis.

Every worker writes each local shard's state, guild count, latency, pod, generation,
shard count and update time (``updated_at``, unix time) to ``registry_shard(generation,
shard_id)`` every :data:`REGISTRY_REFRESH_S`, with a time to live a few times that long, so
the entries of a worker that disappeared expire by themselves; until then readers count
them as stale, not READY (:mod:`shoal.planning.registry_staleness`). ``registry_index``
lists the keys so readers need no SCAN. Does not own the format's readers nor the guild
history (:mod:`shoal.storage.shard_registry`: the operator and ``shoal status`` read
there, and must not import the worker's gateway code).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from shoal.planning.registry_staleness import REGISTRY_REFRESH_S

if TYPE_CHECKING:
    from collections.abc import Sequence

    from redis.asyncio import Redis

    from shoal.gateway.shard import ShardSnapshot
    from shoal.storage.redis_keys import RedisKeys

__all__ = ["REGISTRY_REFRESH_S", "ShardRegistry"]

#: An entry outlives a few missed refreshes (readers show it stale meanwhile), then
#: expires: its worker is gone.
_ENTRY_TTL_S: Final = 15.0


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
