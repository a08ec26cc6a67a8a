"""How many shards a bot needs: the shard count plan and the decision to reshard.

Pure, shared by the operator and local runs. :func:`plan_shard_count` plans from
scratch: from the guild total it takes the larger of what the target density asks for
(with growth headroom) and Discord's recommendation, never lets the expected guilds per
shard exceed the hard cap, and rounds up to a multiple of ``max_concurrency`` so identify
buckets fill evenly (large bots must use such a multiple anyway).

:func:`decide_shard_count` decides whether a running bot should change its count: it
grows early when the guild growth forecast crosses the cap within a horizon, and shrinks
only past a wide margin and a cooldown, so the count never flaps. It does not carry out
the reshard (:mod:`shoal.planning.resharding` plans the steps, the operator acts).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "GrowthPolicy",
    "ShardDecision",
    "ShardPolicy",
    "decide_shard_count",
    "growth_rate_per_s",
    "plan_shard_count",
]

#: Planned guilds (the total times 1 + headroom) are rounded to this many decimals before a
#: ceiling: a fraction of a guild left by float arithmetic must not cost a shard.
_GUILD_DECIMALS: Final = 6


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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GrowthPolicy:
    """When a running bot reshards: the growth forecast and the shrink hysteresis."""

    horizon_s: float = 7 * 86_400.0
    """Reshard early when the forecast guild total crosses the cap within this long."""
    min_samples: int = 6
    """With fewer history samples there is no forecast (a slope from two points is noise)."""
    min_span_s: float = 600.0
    """With history spanning less than this there is no forecast."""
    shrink_ratio: float = 0.5
    """Shrink only when the fresh plan is below this share of the current count (0: never)."""
    cooldown_s: float = 3_600.0
    """No shrink within this long after the last reshard completed."""

    def __post_init__(self) -> None:
        """Reject policies that cannot be decided with.

        Raises:
            ValueError: naming the bad field.
        """
        if not (math.isfinite(self.horizon_s) and self.horizon_s >= 0):
            msg = f"horizon_s must be a finite number >= 0, got {self.horizon_s}"
            raise ValueError(msg)
        if self.min_samples < 2:  # noqa: PLR2004 - a slope needs two points
            msg = f"min_samples must be at least 2, got {self.min_samples}"
            raise ValueError(msg)
        if not (math.isfinite(self.min_span_s) and self.min_span_s >= 0):
            msg = f"min_span_s must be a finite number >= 0, got {self.min_span_s}"
            raise ValueError(msg)
        if not 0 <= self.shrink_ratio < 1:
            # 1 or more would "shrink" to the same count (or grow) and flap.
            msg = f"shrink_ratio must be >= 0 and below 1, got {self.shrink_ratio}"
            raise ValueError(msg)
        if not (math.isfinite(self.cooldown_s) and self.cooldown_s >= 0):
            msg = f"cooldown_s must be a finite number >= 0, got {self.cooldown_s}"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class ShardDecision:
    """The shard count a running bot should have, and why."""

    shards: int
    """The count to run (the current one when nothing changes)."""
    reason: str
    """CamelCase: Initial, Steady, CapReached, RecommendedRaised, ForecastCrossesCap, Shrink;
    Fixed and ShardingRequired from :func:`shoal.planning.reconciling.decide_target_shards`."""
    message: str
    """One human sentence with the figures (for Kubernetes Events and conditions)."""
    forecast_guilds: int | None
    """The projected guild total at ``now + horizon_s``; None when there is no forecast."""


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
    # Rounded so float fuzz cannot add a shard: 100,000 * 1.1 is 110,000.00000000001.
    planned_guilds = round(guild_total * (1 + policy.headroom), _GUILD_DECIMALS)
    by_target = math.ceil(planned_guilds / policy.target_guilds_per_shard)
    by_cap = math.ceil(planned_guilds / policy.max_guilds_per_shard)
    shards = max(1, by_target, by_cap, recommended or 1)
    return math.ceil(shards / max_concurrency) * max_concurrency


def growth_rate_per_s(
    history: Sequence[tuple[float, int]], *, now: float, policy: GrowthPolicy
) -> float | None:
    """Return the guild growth in guilds per second: the least-squares slope of ``history``.

    Args:
        history: ``(unix time, guild total)`` samples, in any order; samples newer than
            ``now`` (a clock skewed ahead) are ignored.
        now: The current unix time.
        policy: How many samples, over how long a span, make a forecast.

    Returns:
        The slope, or None with fewer than ``min_samples`` samples or a span shorter than
        ``min_span_s`` (too little to tell growth from noise).
    """
    samples = [(time_s, float(guilds)) for time_s, guilds in history if time_s <= now]
    if len(samples) < policy.min_samples:
        return None
    times_s = [time_s for time_s, _ in samples]
    if max(times_s) - min(times_s) < policy.min_span_s:
        return None
    # Centre on the means first: unix times near 1.7e9 squared would lose the precision.
    mean_time_s = math.fsum(times_s) / len(samples)
    mean_guilds = math.fsum(guilds for _, guilds in samples) / len(samples)
    covariance = math.fsum((t - mean_time_s) * (g - mean_guilds) for t, g in samples)
    variance = math.fsum((t - mean_time_s) ** 2 for t in times_s)
    if variance == 0:  # every sample at one instant (possible with min_span_s 0)
        return None
    return covariance / variance


def decide_shard_count(  # noqa: PLR0913 - the decision's inputs, all keyword-only
    *,
    current_shards: int,
    guild_total: int,
    history: Sequence[tuple[float, int]],
    policy: ShardPolicy,
    growth: GrowthPolicy,
    max_concurrency: int,
    recommended: int | None,
    now: float,
    last_reshard_at: float | None,
) -> ShardDecision:
    """Return the shard count a bot running ``current_shards`` should run.

    Grows when the guilds with headroom exceed the cap per shard, when Discord recommends
    more shards, or when the growth forecast exceeds the cap within ``growth.horizon_s``;
    a grow is always to a larger multiple of ``max_concurrency``. Shrinks only when the
    fresh plan is below ``growth.shrink_ratio`` of the current count and the cooldown
    after the last reshard has passed. The new count of a grow or shrink is Steady for
    the same inputs, so the decision never flaps.

    Args:
        current_shards: The shards running now (0: nothing runs yet).
        guild_total: The bot's guild total now.
        history: ``(unix time, guild total)`` samples for the growth forecast.
        policy: The density and cap rules.
        growth: The forecast and hysteresis rules.
        max_concurrency: Discord's identify concurrency (the count is a multiple of it).
        recommended: Discord's recommended shard count, None when unknown.
        now: The current unix time.
        last_reshard_at: The unix time the last reshard completed, None if never.

    Raises:
        ValueError: when a count is negative or ``max_concurrency`` below 1.
    """
    if current_shards < 0:
        msg = f"current_shards must not be negative, got {current_shards}"
        raise ValueError(msg)
    fresh = plan_shard_count(
        guild_total, policy=policy, max_concurrency=max_concurrency, recommended=recommended
    )
    slope_per_s = growth_rate_per_s(history, now=now, policy=growth)
    forecast = (
        None if slope_per_s is None else max(0, round(guild_total + slope_per_s * growth.horizon_s))
    )
    if current_shards == 0:
        message = f"{fresh:,} shards planned for {guild_total:,} guilds"
        return ShardDecision(fresh, "Initial", message, forecast)
    # Only growth moves the count early; a falling forecast never shrinks before the fact.
    growing_forecast = forecast if forecast is not None and forecast > guild_total else None
    needed = plan_shard_count(
        max(guild_total, growing_forecast or 0),
        policy=policy,
        max_concurrency=max_concurrency,
        recommended=recommended,
    )
    grow = _grow_trigger(
        current_shards=current_shards,
        guild_total=guild_total,
        forecast=growing_forecast,
        horizon_s=growth.horizon_s,
        policy=policy,
        recommended=recommended,
    )
    if grow is not None:
        reason, why = grow
        next_multiple = (current_shards // max_concurrency + 1) * max_concurrency
        shards = max(needed, next_multiple)
        message = f"{why}: resharding from {current_shards:,} to {shards:,} shards"
        return ShardDecision(shards, reason, message, forecast)
    is_cooled_down = last_reshard_at is None or now - last_reshard_at >= growth.cooldown_s
    # To ``needed``, not ``fresh``: shrinking below what the forecast needs would grow again
    # at the next reconcile (without growth the two are equal). Strictly below the ratio: a
    # grow can double a count (16 -> 32 with max_concurrency 16, 1 -> 2), and shrinking at
    # exactly half would undo it when the input wobbles back by one guild.
    if needed < current_shards * growth.shrink_ratio and is_cooled_down:
        forecast_note = f" ({growing_forecast:,} forecast)" if growing_forecast else ""
        message = (
            f"{guild_total:,} guilds{forecast_note} need only {needed:,} shards, under "
            f"{growth.shrink_ratio:.0%} of the {current_shards:,} running: shrinking"
        )
        return ShardDecision(needed, "Shrink", message, forecast)
    message = (
        f"{current_shards:,} shards fit {guild_total:,} guilds "
        f"({guild_total / current_shards:,.0f} per shard)"
    )
    return ShardDecision(current_shards, "Steady", message, forecast)


def _grow_trigger(
    *,
    current_shards: int,
    guild_total: int,
    forecast: int | None,
    horizon_s: float,
    policy: ShardPolicy,
    recommended: int | None,
) -> tuple[str, str] | None:
    """Return the reason and why-clause to grow from ``current_shards``, None to stay."""
    cap = policy.max_guilds_per_shard
    planned_guilds = round(guild_total * (1 + policy.headroom), _GUILD_DECIMALS)
    if planned_guilds / current_shards > cap:
        headroom = f" plus {policy.headroom:.0%} headroom" if policy.headroom else ""
        return "CapReached", (
            f"{guild_total:,} guilds{headroom} over {current_shards:,} shards "
            f"would exceed {cap:,} per shard"
        )
    if recommended is not None and recommended > current_shards:
        return "RecommendedRaised", (
            f"Discord recommends {recommended:,} shards, more than the {current_shards:,} running"
        )
    if forecast is not None and forecast / current_shards > cap:
        return "ForecastCrossesCap", (
            f"{forecast:,} guilds forecast within {_duration_text(horizon_s)} over "
            f"{current_shards:,} shards "
            f"would exceed {cap:,} per shard"
        )
    return None


def _duration_text(duration_s: float) -> str:
    """Return ``duration_s`` in the largest unit that reads well ("7 days", "90 min")."""
    for unit_s, unit in ((86_400.0, "days"), (3_600.0, "h"), (60.0, "min")):
        if duration_s >= unit_s:
            return f"{duration_s / unit_s:.3g} {unit}"
    return f"{duration_s:.3g} s"
