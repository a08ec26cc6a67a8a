"""Pure decisions of a local reshard, and the lines it prints.

A local run reshards with the operator's logic: :func:`shoal.planning.sharding.
decide_shard_count` picks the count and :func:`shoal.planning.resharding.step_reshard`
the steps. Owns only what running them on one machine adds: the shard count each running
generation is expected to have, the count a run wants (a fixed ``--shards`` wins over
the plan), how many guilds a ``--grow`` run adds next and when it stops, a reshard event
as a status line, and the simulator's interaction counts read as a verdict. Which
registry entries are READY shards is the operator's rule too
(:func:`shoal.planning.registry_staleness.ready_by_generation`). No I/O:
:mod:`shoal.local.resharding` and :mod:`shoal.local.growing` act on these.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Final

from shoal.planning.resharding import ReshardPhase
from shoal.planning.sharding import ShardDecision, decide_shard_count

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from shoal.planning.resharding import ReshardEvent, ReshardState
    from shoal.planning.sharding import GrowthPolicy, ShardPolicy

__all__ = [
    "InteractionTally",
    "active_key_generation",
    "desired_shards",
    "expected_shards",
    "guilds_due",
    "interaction_tally",
    "is_growing",
    "reshard_line",
    "tally_line",
]

_VERBS: Final = {
    "ReshardStarted": "started",
    "ActiveGenerationSwitched": "switched",
    "ReshardCompleted": "completed",
    "ReshardAborted": "abandoned",
}


def expected_shards(state: ReshardState) -> dict[int, int]:
    """Return generation -> shard count of every generation that should run in ``state``."""
    expected = {state.active_generation: state.active_shards} if state.active_shards else {}
    if state.target_generation is not None and state.target_shards:
        expected[state.target_generation] = state.target_shards
    return expected


def active_key_generation(state: ReshardState) -> int:
    """Return the generation the active-generation key names in ``state``.

    Once switched, the target is active although the state still calls the old one
    ``active_generation`` until it is removed.
    """
    if state.phase is ReshardPhase.SWITCHING and state.target_generation is not None:
        return state.target_generation
    return state.active_generation


def desired_shards(  # noqa: PLR0913 - the planner's inputs, all keyword-only
    *,
    fixed_shards: int | None,
    state: ReshardState,
    guild_total: int | None,
    history: Sequence[tuple[float, int]],
    policy: ShardPolicy,
    growth: GrowthPolicy,
    max_concurrency: int,
    recommended: int | None,
    now: float,
) -> ShardDecision:
    """Return the count the fleet should run: ``fixed_shards`` if given, else the plan's.

    Like the operator's Fixed spec, a count given with ``--shards`` never changes; without
    one the operator's planner decides from the registry's guild total (0 before any shard
    registered: Discord's recommendation then decides).
    """
    if fixed_shards is not None:
        return ShardDecision(fixed_shards, "Fixed", f"--shards is {fixed_shards}", None)
    return decide_shard_count(
        current_shards=state.active_shards,
        guild_total=guild_total or 0,
        history=history,
        policy=policy,
        growth=growth,
        max_concurrency=max_concurrency,
        recommended=recommended,
        now=now,
        last_reshard_at=state.last_reshard_at,
    )


def guilds_due(*, rate_per_s: float, elapsed_s: float, added: int) -> int:
    """Return how many guilds to add now so that ``rate_per_s`` holds since growth began."""
    return max(0, math.floor(rate_per_s * max(0.0, elapsed_s)) - added)


def is_growing(state: ReshardState, reshards_completed: int) -> bool:
    """Return whether a ``--grow`` run still adds guilds.

    Only until a reshard starts: more guilds while it runs could move the plan, and the
    state machine would then (rightly) abandon the reshard and start another. Growth
    resumes if one is abandoned, and ends for good once one completed.
    """
    return reshards_completed == 0 and state.phase is ReshardPhase.STEADY


def reshard_line(
    event: ReshardEvent,
    *,
    before: ReshardState,
    after: ReshardState,
    why: str | None,
    now: float,
) -> str:
    """Return the status line of one reshard event.

    Args:
        event: What :func:`shoal.planning.resharding.step_reshard` reported.
        before: The state the step started from.
        after: The state it returned.
        why: The planner's reason, added to a start.
        now: The unix time of the step (a completion says how long the reshard took).
    """
    verb = _VERBS.get(event.reason)
    reshard = before if before.phase is not ReshardPhase.STEADY else after
    if verb is None or reshard.target_generation is None:
        prefix = "reshard blocked" if event.is_warning else "reshard"
        return f"{prefix}: {event.message}"
    line = (
        f"reshard: {reshard.active_shards} -> {reshard.target_shards} shards "
        f"(generation {reshard.active_generation} -> {reshard.target_generation}) {verb}"
    )
    if event.reason == "ReshardStarted" and why:
        return f"{line}: {why}"
    if event.reason == "ActiveGenerationSwitched":
        return f"{line}: generation {reshard.target_generation} is active"
    if event.reason == "ReshardCompleted":
        took = "" if reshard.started_at is None else f" in {now - reshard.started_at:.1f} s"
        return f"{line}{took}: generation {reshard.active_generation} stopped"
    return f"{line}: {event.message}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class InteractionTally:
    """The simulator's interaction counts (``GET /_sim/stats``).

    Every injected interaction is exactly one of answered, unanswered, undelivered or
    pending, so ``injected`` is their sum.
    """

    injected: int
    """Interactions the simulator created."""
    answered: int
    """Interactions that got their initial response in time."""
    unanswered: int
    """Interactions delivered to the bot and not answered by the deadline."""
    undelivered: int
    """Interactions no session received: no shard covered their guild when injected."""
    pending: int
    """Interactions delivered whose deadline had not passed yet when counted."""
    answered_twice: int
    """Second initial responses, refused as already acknowledged."""
    late: int
    """Unanswered interactions that got an initial response after the deadline."""

    @property
    def is_exactly_once(self) -> bool:
        """Whether every delivered interaction was answered once, in time.

        Undelivered ones reached no worker, so there was nothing the fleet could answer:
        they are reported, not held against it. Pending ones are not settled yet.
        """
        return (
            self.answered + self.undelivered == self.injected
            and self.unanswered == self.answered_twice == self.late == self.pending == 0
        )


def interaction_tally(stats: Mapping[str, Any]) -> InteractionTally:
    """Read the interaction counts of a ``GET /_sim/stats`` answer."""
    interactions = stats["interactions"]
    return InteractionTally(
        injected=int(interactions["injected"]),
        answered=int(interactions["answered"]),
        unanswered=int(interactions["unanswered"]),
        undelivered=int(interactions["undelivered"]),
        pending=int(interactions["pending"]),
        answered_twice=int(interactions["double_acknowledged"]),
        late=int(interactions["late"]),
    )


def tally_line(tally: InteractionTally) -> str:
    """Return the line that reports the interactions of a run."""
    verdict = (
        "each delivered one answered exactly once"
        if tally.is_exactly_once
        else "NOT all answered once"
    )
    pending = f", {tally.pending:,} still pending" if tally.pending else ""
    return (
        f"Interactions: {tally.injected:,} injected, {tally.answered:,} answered, "
        f"{tally.unanswered:,} unanswered, {tally.undelivered:,} undelivered (no session "
        f"on their shard){pending}, {tally.answered_twice:,} answered twice, "
        f"{tally.late:,} late: {verdict}"
    )
