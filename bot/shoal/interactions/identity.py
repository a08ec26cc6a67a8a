"""Who this worker is: its pod, its generation and its bot's shard count."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shoal.config import ShardingSettings

__all__ = ["WorkerIdentity"]


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerIdentity:
    """The facts commands and logs tell about the worker that runs them.

    Injected into command handlers (``identity: WorkerIdentity = arc.inject()``).
    """

    pod_name: str
    """The pod's name (the StatefulSet pod, or ``local-<ordinal>``)."""
    generation: int
    """The shard set this worker belongs to; a reshard runs generation + 1 beside it."""
    shard_count: int
    """The total shard count of this worker's generation."""

    def __post_init__(self) -> None:
        """Reject a shard count below 1 or a negative generation."""
        if self.shard_count < 1:
            msg = f"shard_count must be at least 1, got {self.shard_count}"
            raise ValueError(msg)
        if self.generation < 0:
            msg = f"generation must not be negative, got {self.generation}"
            raise ValueError(msg)

    @classmethod
    def from_settings(cls, sharding: ShardingSettings) -> WorkerIdentity:
        """Build the identity of the worker that ``sharding`` describes."""
        return cls(
            pod_name=sharding.pod_name,
            generation=sharding.generation,
            shard_count=sharding.total_shards,
        )

    def shard_of(self, guild_id: int | None) -> int:
        """Return the shard Discord routes ``guild_id`` to (DMs go to shard 0)."""
        if guild_id is None:
            return 0
        return (guild_id >> 22) % self.shard_count

    @property
    def claim_owner(self) -> str:
        """The value stored with a claim, so one can tell which worker answered."""
        return f"{self.pod_name}/g{self.generation}"
