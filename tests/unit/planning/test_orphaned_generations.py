"""Orphaned shard generations: what no reshard state keeps, in every phase and after a crash."""

from __future__ import annotations

import dataclasses
from typing import Final

import pytest

from shoal.planning.resharding import (
    RemoveGeneration,
    ReshardObservation,
    ReshardPhase,
    ReshardState,
    RunGeneration,
    orphaned_generations,
    step_reshard,
)

_NOW: Final = 1_800_000_000.0
_STEADY: Final = ReshardState(active_generation=3, active_shards=16)
_STARTING: Final = ReshardState(
    phase=ReshardPhase.STARTING,
    active_generation=3,
    active_shards=16,
    target_generation=4,
    target_shards=32,
    started_at=_NOW - 300,
)
_SWITCHING: Final = dataclasses.replace(_STARTING, phase=ReshardPhase.SWITCHING)


def _observe(desired: int, ready: dict[int, int] | None = None) -> ReshardObservation:
    return ReshardObservation(
        desired_shards=desired,
        ready_shards=ready or {},
        session_starts_remaining=1_000,
        now=_NOW,
    )


def test_orphaned_generations_is_empty_when_only_the_active_generation_exists() -> None:
    assert orphaned_generations([3], _STEADY) == frozenset()


def test_orphaned_generations_is_empty_when_nothing_exists() -> None:
    assert orphaned_generations([], ReshardState()) == frozenset()


def test_orphaned_generations_returns_every_other_generation_when_steady() -> None:
    assert orphaned_generations([0, 3, 4, 9], _STEADY) == frozenset({0, 4, 9})


def test_orphaned_generations_keeps_the_target_in_flight_when_starting() -> None:
    assert orphaned_generations([2, 3, 4, 5], _STARTING) == frozenset({2, 5})


def test_orphaned_generations_keeps_the_old_and_new_generation_when_switching() -> None:
    assert orphaned_generations([3, 4, 7], _SWITCHING) == frozenset({7})


def test_orphaned_generations_keeps_an_undeployed_active_generation_when_steady() -> None:
    # A first deployment blocked on session starts: active generation 0 with no shards yet.
    assert orphaned_generations([0, 1], ReshardState()) == frozenset({1})


@pytest.mark.parametrize("state", [_STEADY, _STARTING, _SWITCHING], ids=lambda s: s.phase)
def test_orphaned_generations_never_returns_the_active_or_target_when_in_any_phase(
    state: ReshardState,
) -> None:
    kept = {state.active_generation, state.target_generation} - {None}
    assert orphaned_generations(range(10), state) == set(range(10)) - kept


def test_orphaned_generations_returns_only_what_the_step_removes_when_a_reshard_completes() -> None:
    step = step_reshard(_SWITCHING, _observe(32, {4: 32}))
    assert step.state.phase is ReshardPhase.STEADY
    removed = {a.generation for a in step.actions if isinstance(a, RemoveGeneration)}
    # The old generation is the machine's to remove: naming it again is a harmless repeat.
    assert orphaned_generations([3, 4], step.state) == removed == {3}


def test_orphaned_generations_returns_only_what_the_step_removes_when_a_reshard_aborts() -> None:
    step = step_reshard(_STARTING, _observe(16))
    assert step.state.phase is ReshardPhase.STEADY
    removed = {a.generation for a in step.actions if isinstance(a, RemoveGeneration)}
    assert orphaned_generations([3, 4], step.state) == removed == {4}


def test_orphaned_generations_keeps_a_target_restarted_when_the_crash_left_it_running() -> None:
    # Generation 4 was created, then the operator crashed before saving STARTING: the
    # replayed step starts the same target again, so it is no orphan.
    step = step_reshard(_STEADY, _observe(32))
    assert RunGeneration(4, 32) in step.actions
    assert orphaned_generations([3, 4], step.state) == frozenset()


def test_orphaned_generations_returns_the_crash_left_target_when_the_plan_went_back() -> None:
    # Same crash, but the plan asks for the active count again: nothing will ever target 4.
    step = step_reshard(_STEADY, _observe(16))
    assert step.state == _STEADY
    assert orphaned_generations([3, 4], step.state) == frozenset({4})
