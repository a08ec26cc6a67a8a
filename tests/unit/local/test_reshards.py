"""A local reshard's pure decisions: the key's generation, growth, the lines, the tally."""

from __future__ import annotations

from typing import Any

import pytest

from shoal.local.reshards import (
    InteractionTally,
    active_key_generation,
    guilds_due,
    interaction_tally,
    is_growing,
    reshard_line,
    tally_line,
)
from shoal.planning.resharding import ReshardEvent, ReshardPhase, ReshardState

_STEADY = ReshardState(active_generation=0, active_shards=24)
_STARTING = ReshardState(
    phase=ReshardPhase.STARTING,
    active_generation=0,
    active_shards=24,
    target_generation=1,
    target_shards=28,
    started_at=100.0,
)
_SWITCHING = ReshardState(
    phase=ReshardPhase.SWITCHING,
    active_generation=0,
    active_shards=24,
    target_generation=1,
    target_shards=28,
    started_at=100.0,
)
_DONE = ReshardState(active_generation=1, active_shards=28, last_reshard_at=121.0)


def test_active_key_generation_is_the_target_when_the_reshard_switched() -> None:
    assert active_key_generation(_STEADY) == 0
    assert active_key_generation(_STARTING) == 0
    assert active_key_generation(_SWITCHING) == 1
    assert active_key_generation(_DONE) == 1


@pytest.mark.parametrize(
    ("elapsed_s", "added", "due"),
    [(0.0, 0, 0), (1.0, 0, 200), (2.5, 200, 300), (2.5, 500, 0), (-1.0, 0, 0)],
)
def test_guilds_due_keeps_the_rate_since_growth_began(
    elapsed_s: float, added: int, due: int
) -> None:
    assert guilds_due(rate_per_s=200.0, elapsed_s=elapsed_s, added=added) == due


def test_is_growing_stops_when_a_reshard_starts_and_for_good_once_one_completed() -> None:
    assert is_growing(_STEADY, 0)
    assert not is_growing(_STARTING, 0)
    assert not is_growing(_SWITCHING, 0)
    assert not is_growing(_DONE, 1)


def test_reshard_line_names_counts_and_generations_when_each_event_happens() -> None:
    started = ReshardEvent("ReshardStarted", "resharding from 24 to 28 shards")
    switched = ReshardEvent("ActiveGenerationSwitched", "generation 1 is now active")
    completed = ReshardEvent("ReshardCompleted", "resharded")

    assert reshard_line(
        started, before=_STEADY, after=_STARTING, why="Discord recommends 25", now=100.0
    ) == ("reshard: 24 -> 28 shards (generation 0 -> 1) started: Discord recommends 25")
    assert reshard_line(switched, before=_STARTING, after=_SWITCHING, why=None, now=115.0) == (
        "reshard: 24 -> 28 shards (generation 0 -> 1) switched: generation 1 is active"
    )
    assert reshard_line(completed, before=_SWITCHING, after=_DONE, why=None, now=121.0) == (
        "reshard: 24 -> 28 shards (generation 0 -> 1) completed in 21.0 s: generation 0 stopped"
    )


def test_reshard_line_says_why_when_the_reshard_is_blocked() -> None:
    blocked = ReshardEvent("InsufficientSessionStarts", "only 3 remain", is_warning=True)

    line = reshard_line(blocked, before=_STEADY, after=_STEADY, why=None, now=0.0)

    assert line == "reshard blocked: only 3 remain"


def _stats(**interactions: int) -> dict[str, Any]:
    counts = {"injected": 10, "answered": 10, "unanswered": 0, "double_acknowledged": 0}
    return {"interactions": {**counts, "undelivered": 0, "pending": 0, "late": 0, **interactions}}


def test_interaction_tally_is_exactly_once_when_each_was_answered_once() -> None:
    tally = interaction_tally(_stats())

    assert tally == InteractionTally(
        injected=10, answered=10, unanswered=0, undelivered=0, pending=0, answered_twice=0, late=0
    )
    assert tally.is_exactly_once
    assert tally_line(tally) == (
        "Interactions: 10 injected, 10 answered, 0 unanswered, 0 undelivered (no session on "
        "their shard), 0 answered twice, 0 late: each delivered one answered exactly once"
    )


def test_interaction_tally_is_exactly_once_when_the_rest_was_undelivered() -> None:
    tally = interaction_tally(_stats(answered=8, undelivered=2))

    assert tally.undelivered == 2
    assert tally.is_exactly_once
    assert "8 answered, 0 unanswered, 2 undelivered (no session on their shard)" in tally_line(
        tally
    )


@pytest.mark.parametrize(
    "counts",
    [
        {"answered": 9, "unanswered": 1},
        {"double_acknowledged": 1},
        {"answered": 9, "unanswered": 1, "late": 1},
        {"answered": 9, "pending": 1},
        {"answered": 9},  # one in no bucket: the counts do not add up
    ],
)
def test_interaction_tally_is_not_exactly_once_when_one_was_missed_or_doubled(
    counts: dict[str, int],
) -> None:
    tally = interaction_tally(_stats(**counts))

    assert not tally.is_exactly_once
    assert tally_line(tally).endswith("NOT all answered once")


def test_tally_line_says_how_many_are_pending_when_a_deadline_has_not_passed() -> None:
    line = tally_line(interaction_tally(_stats(answered=9, pending=1)))

    assert (
        "9 answered, 0 unanswered, 0 undelivered (no session on their shard), 1 still pending"
        in (line)
    )
    assert line.endswith("NOT all answered once")
