"""How many shards a bot needs: the shard count plan shared by the operator and local runs.

Pure. From the guild total it takes the larger of what the target density asks for
(with growth headroom) and Discord's recommendation, never lets the expected guilds per
shard exceed the hard cap, and rounds up to a multiple of ``max_concurrency`` so identify
buckets fill evenly (large bots must use such a multiple anyway).
"""

from __future__ import annotations

import dataclasses
import math

__all__ = ["ShardPolicy", "plan_shard_count"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ShardPolicy:
    """The operator's sharding rules (the DiscordBot spec's ``shards`` section)."""

    target_guilds_per_shard: int = 1000
    """Aim for this many guilds per shard (Discord recommends about 1,000)."""
    max_guilds_per_shard: int = 2500
    """Discord closes a shard above this with 4011; plans never reach it."""
    headroom: float = 0.1
    """Plan for this much growth beyond the current total (0.1 = 10 %)."""

    def __post_init__(self) -> None:
        """Reject policies that cannot be planned with.

        Raises:
            ValueError: naming the bad field.
        """
        if not 1 <= self.target_guilds_per_shard <= self.max_guilds_per_shard:
            msg = "target_guilds_per_shard must be between 1 and max_guilds_per_shard"
            raise ValueError(msg)
        if self.max_guilds_per_shard > 2500:  # noqa: PLR2004 - Discord's hard limit
            msg = "max_guilds_per_shard cannot exceed Discord's limit of 2500"
            raise ValueError(msg)
        if not 0 <= self.headroom <= 10:  # noqa: PLR2004 - sanity bound
            msg = "headroom must be between 0 and 10"
            raise ValueError(msg)


def plan_shard_count(
    guild_total: int,
    *,
    policy: ShardPolicy,
    max_concurrency: int = 1,
    recommended: int | None = None,
) -> int:
    """Return the shard count for ``guild_total`` guilds under ``policy``.

    Raises:
        ValueError: when ``guild_total`` is negative or ``max_concurrency`` below 1.
    """
    if guild_total < 0:
        msg = "guild_total must not be negative"
        raise ValueError(msg)
    if max_concurrency < 1:
        msg = "max_concurrency must be at least 1"
        raise ValueError(msg)
    planned_guilds = guild_total * (1 + policy.headroom)
    by_target = math.ceil(planned_guilds / policy.target_guilds_per_shard)
    by_cap = math.ceil(planned_guilds / policy.max_guilds_per_shard)
    shards = max(1, by_target, by_cap, recommended or 1)
    return math.ceil(shards / max_concurrency) * max_concurrency
