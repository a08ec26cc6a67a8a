"""Pure decisions of a local reshard, and the lines it prints.

A local run reshards with the operator's own decision (:func:`shoal.planning.reconciling.
decide_reconcile`: the count, a fixed ``--shards``, 4011 closes, the READY shards and the
reshard step). Owns only what running it on one machine adds: the generation the
active-generation key names, how many guilds a ``--grow`` run adds next and when it
stops, a reshard event as a status line, and the simulator's interaction counts read as
a verdict. No I/O: :mod:`shoal.local.resharding` and :mod:`shoal.local.growing` act on
these.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Final

from shoal.planning.resharding import ReshardPhase

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shoal.planning.resharding import ReshardEvent, ReshardState

__all__ = [
    "InteractionTally",
    "active_key_generation",
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


def active_key_generation(state: ReshardState) -> int:
    """Return the generation the active-generation key names in ``state``.

    Once switched, the target is active although the state still calls the old one
    ``active_generation`` until it is removed.
    """
    if state.phase is ReshardPhase.SWITCHING and state.target_generation is not None:
        return state.target_generation
    return state.active_generation


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
