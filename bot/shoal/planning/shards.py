"""Which shards a pod runs, and the identify buckets they fall in.

Pure: the operator, ``shoal local up`` and the worker all compute the same answer from
the same numbers. A pod runs a contiguous range of shards; with ``shards_per_pod`` a
multiple of ``max_concurrency`` every range is bucket-aligned, so one pod's shards fill
whole identify buckets.
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["ShardRange", "bucket_of", "pods_needed", "shard_range_for_pod"]


@dataclasses.dataclass(frozen=True, slots=True)
class ShardRange:
    """A contiguous run of shard ids of a bot with ``total`` shards."""

    first: int
    """The first shard id in the range."""
    count: int
    """How many shards the range holds (at least 1)."""
    total: int
    """The bot's total shard count."""

    @property
    def ids(self) -> list[int]:
        """The shard ids, ascending."""
        return list(range(self.first, self.first + self.count))

    def __contains__(self, shard_id: object) -> bool:
        """Return whether ``shard_id`` is in the range."""
        return isinstance(shard_id, int) and self.first <= shard_id < self.first + self.count


def pods_needed(total_shards: int, shards_per_pod: int) -> int:
    """Return how many pods run ``total_shards`` at ``shards_per_pod`` each.

    Raises:
        ValueError: when either number is below 1.
    """
    if total_shards < 1 or shards_per_pod < 1:
        msg = "total_shards and shards_per_pod must be at least 1"
        raise ValueError(msg)
    return math.ceil(total_shards / shards_per_pod)


def shard_range_for_pod(total_shards: int, shards_per_pod: int, ordinal: int) -> ShardRange:
    """Return the shards pod ``ordinal`` runs (the last pod may run fewer).

    Raises:
        ValueError: when the numbers are inconsistent (the message says which).
    """
    pods = pods_needed(total_shards, shards_per_pod)
    if not 0 <= ordinal < pods:
        msg = (
            f"pod ordinal {ordinal} is out of range: {total_shards} shards at "
            f"{shards_per_pod} per pod need pods 0..{pods - 1}"
        )
        raise ValueError(msg)
    first = ordinal * shards_per_pod
    return ShardRange(
        first=first, count=min(shards_per_pod, total_shards - first), total=total_shards
    )


def bucket_of(shard_id: int, max_concurrency: int) -> int:
    """Return Discord's identify rate-limit key of a shard (``shard_id % max_concurrency``)."""
    if max_concurrency < 1:
        msg = "max_concurrency must be at least 1"
        raise ValueError(msg)
    return shard_id % max_concurrency
