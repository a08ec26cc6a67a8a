"""One reconcile's decisions, shared by the operator and ``shoal local up``.

Both controllers observe the same things each pass (the reshard state, the registry's
entries and guild total, the guild history, ``GET /gateway/bot``'s recommended count,
``max_concurrency`` and session starts, and the pods' fatal-close records) and hand them
to :func:`decide_reconcile`, which returns the shard count to aim for, why, the READY
shards of each generation and the blue/green step (:func:`shoal.planning.resharding.
step_reshard`). They only differ in how they act (StatefulSets or worker processes).

The rule, in order:

1. **A fixed count wins.** ``spec.shards.mode: Fixed`` (or ``--shards``) is run as given,
   whatever the guilds or a close code say: a person chose it.
2. **Plan from the target while a reshard is under way.** Outside STEADY the count the
   fleet is heading for is the target's, so the planner
   (:func:`shoal.planning.sharding.decide_shard_count`) is asked what the *target* should
   be: a reshard in progress is kept unless the target itself no longer fits (the plan
   moved past it), and is not re-planned from the active generation's stale count
   (growth during the switch would otherwise abandon it). In STEADY it plans from the
   active count.
3. **4011 grows.** Discord closes a shard with 4011 ("sharding required") when it holds
   too many guilds. When a pod of a generation running ``C`` shards recorded one and the
   plan does not already exceed ``C``, the count to aim for is the next multiple of
   ``max_concurrency`` above ``C`` (reason ``ShardingRequired``).

Pure, stdlib only (plus ``shoal.planning``). Does not own reading the observations (the
controllers and ``shoal.storage``) nor acting on the step.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final, Protocol

from shoal.planning.registry_staleness import ready_by_generation
from shoal.planning.resharding import ReshardObservation, step_reshard
from shoal.planning.sharding import GrowthPolicy, ShardDecision, decide_shard_count

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from shoal.planning.registry_staleness import RegistryReading
    from shoal.planning.resharding import ReshardState, ReshardStep
    from shoal.planning.sharding import ShardPolicy

__all__ = [
    "SHARDING_REQUIRED",
    "FleetObservation",
    "GatewayReading",
    "PlanningRules",
    "ReconcileDecision",
    "decide_reconcile",
    "decide_target_shards",
    "expected_shards",
    "fleet_observation",
    "growth_policy",
    "planned_from",
    "sharding_required_at",
]

#: Discord's "sharding required" close code: a shard holds too many guilds.
SHARDING_REQUIRED: Final = 4011
#: A growth trend needs at least this much history (one odd sample must not reshard)...
_MIN_TREND_SPAN_S: Final = 3 * 3600.0
#: ...and never less than this, even with a short horizon.
_SHORTEST_TREND_SPAN_S: Final = 600.0


class GatewayReading(Protocol):
    """What the planner reads of ``GET /gateway/bot`` (either controller's reading of it)."""

    @property
    def recommended_shards(self) -> int | None:
        """Discord's recommended shard count."""
        ...

    @property
    def max_concurrency(self) -> int:
        """Identify buckets per window."""
        ...

    @property
    def session_starts_remaining(self) -> int | None:
        """Session starts left before the reset."""
        ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PlanningRules:
    """How a bot is planned: its policies and a fixed count, if any."""

    policy: ShardPolicy
    """Density and cap rules."""
    growth: GrowthPolicy
    """Forecast and shrink rules (see :func:`growth_policy`)."""
    fixed_shards: int | None = None
    """A count a person fixed (``spec.shards.count`` in Fixed mode, ``--shards``); None: Auto."""
    fixed_source: str = "the fixed count"
    """Where the fixed count was set, for the decision's message (``--shards``)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FleetObservation:
    """What a controller observed at the start of a pass."""

    guild_total: int | None
    """The bot's guild total (registry, else Discord's approximation); None: unknown (0)."""
    history: Sequence[tuple[float, int]]
    """``(unix time, guild total)`` samples for the growth forecast."""
    entries: Sequence[RegistryReading]
    """The shard registry's live entries."""
    max_concurrency: int
    """Discord's identify concurrency (counts are multiples of it)."""
    recommended_shards: int | None
    """Discord's recommended shard count; None when unknown."""
    session_starts_remaining: int | None
    """Session starts left today; None when unknown."""
    sharding_required_at: int | None
    """The largest shard count a 4011 close was recorded at; None: no 4011 close
    (see :func:`sharding_required_at`)."""
    now: float
    """The current unix time."""


@dataclasses.dataclass(frozen=True, slots=True)
class ReconcileDecision:
    """What one pass decided."""

    decision: ShardDecision
    """The shard count to aim for, and why."""
    ready_shards: Mapping[int, int]
    """Generation -> its READY shards (fresh entries of its expected count)."""
    step: ReshardStep
    """The reshard step: the next state, the actions, the events."""


def growth_policy(*, horizon_s: float, cooldown_s: float) -> GrowthPolicy:
    """Return the growth rules a controller runs with for ``horizon_s`` and ``cooldown_s``.

    A trend needs hours of samples (three, or the horizon when shorter, at least ten
    minutes): one odd sample must not set off a reshard.
    """
    span_s = max(_SHORTEST_TREND_SPAN_S, min(_MIN_TREND_SPAN_S, horizon_s))
    return GrowthPolicy(horizon_s=horizon_s, cooldown_s=cooldown_s, min_span_s=span_s)


def expected_shards(state: ReshardState) -> dict[int, int]:
    """Return generation -> shard count of every generation that should run in ``state``."""
    expected = {state.active_generation: state.active_shards} if state.active_shards else {}
    if state.target_generation is not None and state.target_shards:
        expected[state.target_generation] = state.target_shards
    return expected


def planned_from(state: ReshardState) -> int:
    """Return the count the planner starts from: the target's during a reshard, else active."""
    return state.target_shards or state.active_shards


def sharding_required_at(
    close_codes: Mapping[str, int], shards_of_pod: Mapping[str, int]
) -> int | None:
    """Return the largest shard count at which a pod recorded a 4011 close, None if none did.

    Args:
        close_codes: Pod -> the close code of its fatal-close record.
        shards_of_pod: Pod -> the shard count of the generation it runs.
    """
    counts = [
        shards_of_pod[pod]
        for pod, code in close_codes.items()
        if code == SHARDING_REQUIRED and pod in shards_of_pod
    ]
    return max(counts, default=None)


def fleet_observation(
    gateway: GatewayReading,
    *,
    guild_total: int | None,
    history: Sequence[tuple[float, int]],
    entries: Sequence[RegistryReading],
    close_codes: Mapping[str, int],
    shards_of_pod: Mapping[str, int],
    now: float,
) -> FleetObservation:
    """Return what a pass observed, as the planner reads it.

    Args:
        gateway: ``GET /gateway/bot``.
        guild_total: The bot's guild total; None when unknown.
        history: ``(unix time, guild total)`` samples.
        entries: The shard registry's live entries.
        close_codes: Pod -> the close code of its fatal-close record (pods with none left out).
        shards_of_pod: Pod -> the shard count of its generation, for every pod that runs.
        now: The current unix time.
    """
    return FleetObservation(
        guild_total=guild_total,
        history=history,
        entries=entries,
        max_concurrency=gateway.max_concurrency,
        recommended_shards=gateway.recommended_shards,
        session_starts_remaining=gateway.session_starts_remaining,
        sharding_required_at=sharding_required_at(close_codes, shards_of_pod),
        now=now,
    )


def decide_target_shards(
    state: ReshardState, observation: FleetObservation, rules: PlanningRules
) -> ShardDecision:
    """Return the shard count the fleet should aim for, by the module's rule."""
    if rules.fixed_shards is not None:
        count = rules.fixed_shards
        return ShardDecision(count, "Fixed", f"{rules.fixed_source} is {count}", None)
    mc = observation.max_concurrency
    decision = decide_shard_count(
        current_shards=planned_from(state),
        guild_total=observation.guild_total or 0,
        history=observation.history,
        policy=rules.policy,
        growth=rules.growth,
        max_concurrency=mc,
        recommended=observation.recommended_shards,
        now=observation.now,
        last_reshard_at=state.last_reshard_at,
    )
    closed_at = observation.sharding_required_at
    if closed_at is None or decision.shards > closed_at:
        return decision
    grown = (closed_at // mc + 1) * mc
    message = (
        f"Discord closed a shard with 4011 (too many guilds for {closed_at:,} shards): "
        f"growing to {grown:,} shards"
    )
    return ShardDecision(grown, "ShardingRequired", message, decision.forecast_guilds)


def decide_reconcile(
    state: ReshardState, observation: FleetObservation, rules: PlanningRules
) -> ReconcileDecision:
    """Return the count to aim for, the READY shards and the reshard step from ``state``."""
    decision = decide_target_shards(state, observation, rules)
    ready = ready_by_generation(observation.entries, expected_shards(state), now=observation.now)
    step = step_reshard(
        state,
        ReshardObservation(
            desired_shards=decision.shards,
            ready_shards=ready,
            session_starts_remaining=observation.session_starts_remaining,
            now=observation.now,
        ),
    )
    return ReconcileDecision(decision, ready, step)
