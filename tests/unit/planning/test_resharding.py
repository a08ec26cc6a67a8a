"""The blue/green reshard state machine: every step, restarts, aborts, and a whole run."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING, Final

import pytest

from shoal.planning.resharding import (
    ActivateGeneration,
    RemoveGeneration,
    ReshardObservation,
    ReshardPhase,
    ReshardState,
    ReshardStep,
    RunGeneration,
    session_starts_needed,
    step_reshard,
)
from shoal.planning.sharding import GrowthPolicy, ShardPolicy, decide_shard_count

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shoal.planning.resharding import ReshardAction

_NOW: Final = 1_800_000_000.0
_STEADY_16: Final = ReshardState(active_generation=0, active_shards=16)
_STARTING_16_TO_32: Final = ReshardState(
    phase=ReshardPhase.STARTING,
    active_generation=0,
    active_shards=16,
    target_generation=1,
    target_shards=32,
    started_at=_NOW - 300,
)
_SWITCHING_16_TO_32: Final = dataclasses.replace(_STARTING_16_TO_32, phase=ReshardPhase.SWITCHING)


def _observe(
    desired: int,
    ready: Mapping[int, int] | None = None,
    *,
    remaining: int | None = 1_000,
    now: float = _NOW,
) -> ReshardObservation:
    return ReshardObservation(
        desired_shards=desired,
        ready_shards={} if ready is None else ready,
        session_starts_remaining=remaining,
        now=now,
    )


def _reasons(step: ReshardStep) -> list[str]:
    return [event.reason for event in step.events]


# --- session_starts_needed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("shards", "needed"),
    [(0, 1), (1, 2), (9, 10), (10, 11), (11, 13), (16, 18), (32, 36), (100, 110), (1_000, 1_100)],
)
def test_session_starts_needed_adds_a_tenth_at_least_one_when_shards_vary(
    shards: int, needed: int
) -> None:
    assert session_starts_needed(shards) == needed


def test_session_starts_needed_raises_when_shards_are_negative() -> None:
    with pytest.raises(ValueError, match="shards"):
        session_starts_needed(-1)


# --- STEADY ------------------------------------------------------------------------------


def test_step_deploys_the_first_generation_when_nothing_runs_yet() -> None:
    step = step_reshard(ReshardState(), _observe(16))
    assert step.actions == (RunGeneration(0, 16), ActivateGeneration(0))
    assert step.state == ReshardState(active_generation=0, active_shards=16)
    assert _reasons(step) == ["ShardsPlanned"]
    assert step.blocked_reason is None


@pytest.mark.parametrize("remaining", [None, 18, 1_000])
def test_step_deploys_when_session_starts_suffice_or_are_unknown(remaining: int | None) -> None:
    step = step_reshard(ReshardState(), _observe(16, remaining=remaining))
    assert step.state.active_shards == 16


def test_step_deploys_nothing_when_session_starts_would_run_out() -> None:
    step = step_reshard(ReshardState(), _observe(16, remaining=17))
    assert (step.state, step.actions) == (ReshardState(), ())
    assert step.blocked_reason == "InsufficientSessionStarts"
    assert step.events[0].is_warning


def test_step_keeps_the_active_generation_when_the_count_is_right() -> None:
    step = step_reshard(_STEADY_16, _observe(16, {0: 16}))
    assert step == ReshardStep(_STEADY_16, (RunGeneration(0, 16), ActivateGeneration(0)), ())


def test_step_starts_the_next_generation_when_the_desired_count_changes() -> None:
    step = step_reshard(_STEADY_16, _observe(32, {0: 16}))
    assert step.state == dataclasses.replace(_STARTING_16_TO_32, started_at=_NOW)
    assert step.actions == (RunGeneration(0, 16), ActivateGeneration(0), RunGeneration(1, 32))
    assert _reasons(step) == ["ReshardStarted"]
    assert "from 16 to 32 shards (generation 0 -> 1)" in step.events[0].message
    assert step.blocked_reason is None


def test_step_starts_a_shrink_like_a_grow_when_the_desired_count_falls() -> None:
    step = step_reshard(ReshardState(active_generation=3, active_shards=64), _observe(16))
    assert step.actions[-1] == RunGeneration(4, 16)
    assert (step.state.target_generation, step.state.target_shards) == (4, 16)


@pytest.mark.parametrize(("remaining", "is_blocked"), [(35, True), (36, False), (0, True)])
def test_step_waits_for_session_starts_when_the_new_generation_would_exhaust_them(
    remaining: int, *, is_blocked: bool
) -> None:
    step = step_reshard(_STEADY_16, _observe(32, {0: 16}, remaining=remaining))
    assert (step.blocked_reason == "InsufficientSessionStarts") is is_blocked
    if is_blocked:
        assert step.state == _STEADY_16
        assert step.actions == (RunGeneration(0, 16), ActivateGeneration(0))
        assert step.blocked_message is not None
        assert "36" in step.blocked_message
        assert f"{remaining}" in step.blocked_message
        assert [(e.reason, e.is_warning) for e in step.events] == [
            ("InsufficientSessionStarts", True)
        ]
    else:
        assert step.state.phase is ReshardPhase.STARTING


# --- STARTING ----------------------------------------------------------------------------


@pytest.mark.parametrize("ready", [{}, {0: 16}, {0: 16, 1: 31}])
def test_step_waits_for_the_target_generation_when_it_is_not_all_ready(
    ready: dict[int, int],
) -> None:
    step = step_reshard(_STARTING_16_TO_32, _observe(32, ready))
    assert step == ReshardStep(
        _STARTING_16_TO_32,
        (RunGeneration(0, 16), ActivateGeneration(0), RunGeneration(1, 32)),
        (),
    )


@pytest.mark.parametrize("ready_target", [32, 33])
def test_step_switches_the_active_generation_when_every_target_shard_is_ready(
    ready_target: int,
) -> None:
    step = step_reshard(_STARTING_16_TO_32, _observe(32, {0: 16, 1: ready_target}))
    assert step.state == _SWITCHING_16_TO_32
    assert step.actions == (RunGeneration(0, 16), RunGeneration(1, 32), ActivateGeneration(1))
    assert _reasons(step) == ["ActiveGenerationSwitched"]


@pytest.mark.parametrize(
    ("desired", "why"), [(16, "the spec went back"), (48, "the plan moved again")]
)
def test_step_aborts_the_reshard_when_the_desired_count_no_longer_matches(
    desired: int, why: str
) -> None:
    step = step_reshard(_STARTING_16_TO_32, _observe(desired, {0: 16, 1: 32}))
    assert step.state == _STEADY_16, why
    assert step.actions == (RunGeneration(0, 16), ActivateGeneration(0), RemoveGeneration(1))
    assert _reasons(step) == ["ReshardAborted"]
    assert f"asks for {desired}" in step.events[0].message


def test_step_restarts_towards_the_new_count_when_an_abort_was_for_a_moved_plan() -> None:
    aborted = step_reshard(_STARTING_16_TO_32, _observe(48, {0: 16}))
    restarted = step_reshard(aborted.state, _observe(48, {0: 16}))
    assert restarted.actions[-1] == RunGeneration(1, 48)
    assert restarted.state.target_shards == 48


# --- SWITCHING ---------------------------------------------------------------------------


@pytest.mark.parametrize("desired", [32, 16, 64])
def test_step_removes_the_old_generation_when_switched_whatever_the_plan_says(
    desired: int,
) -> None:
    step = step_reshard(_SWITCHING_16_TO_32, _observe(desired, {0: 16, 1: 32}))
    assert step.state == ReshardState(active_generation=1, active_shards=32, last_reshard_at=_NOW)
    assert step.actions == (RunGeneration(1, 32), ActivateGeneration(1), RemoveGeneration(0))
    assert _reasons(step) == ["ReshardCompleted"]
    assert "from 16 to 32 shards in 300 s" in step.events[0].message


# --- restart safety ----------------------------------------------------------------------

_ALL_STEPS: Final = [
    (ReshardState(), _observe(16)),
    (_STEADY_16, _observe(16, {0: 16})),
    (_STEADY_16, _observe(32, {0: 16})),
    (_STEADY_16, _observe(32, {0: 16}, remaining=1)),
    (_STARTING_16_TO_32, _observe(32, {0: 16, 1: 8})),
    (_STARTING_16_TO_32, _observe(32, {0: 16, 1: 32})),
    (_STARTING_16_TO_32, _observe(16, {0: 16, 1: 32})),
    (_SWITCHING_16_TO_32, _observe(32, {0: 16, 1: 32})),
]


@pytest.mark.parametrize(("state", "observation"), _ALL_STEPS)
def test_step_replays_the_same_idempotent_actions_when_the_operator_restarts_mid_step(
    state: ReshardState, observation: ReshardObservation
) -> None:
    # The operator carried out the actions, crashed before saving, and steps again.
    first = step_reshard(state, observation)
    world = _World()
    world.apply(first.actions)
    after_once = world.snapshot()
    replay = step_reshard(ReshardState.from_status(state.to_status()), observation)
    world.apply(replay.actions)
    assert replay == first
    assert world.snapshot() == after_once


# --- to_status / from_status -------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        ReshardState(),
        _STEADY_16,
        _STARTING_16_TO_32,
        _SWITCHING_16_TO_32,
        ReshardState(active_generation=7, active_shards=1_104, last_reshard_at=_NOW),
        dataclasses.replace(_STARTING_16_TO_32, last_reshard_at=_NOW - 86_400),
    ],
)
def test_status_round_trips_through_json_when_saved_and_read(state: ReshardState) -> None:
    status = json.loads(json.dumps(state.to_status()))
    assert ReshardState.from_status(status) == state


def test_to_status_writes_camel_case_and_omits_none_when_steady() -> None:
    assert ReshardState().to_status() == {
        "phase": "Steady",
        "activeGeneration": 0,
        "activeShards": 0,
    }
    assert _STARTING_16_TO_32.to_status() == {
        "phase": "Starting",
        "activeGeneration": 0,
        "activeShards": 16,
        "targetGeneration": 1,
        "targetShards": 32,
        "startedAt": _NOW - 300,
    }


@pytest.mark.parametrize("raw", [None, {}, {"conditions": []}])
def test_from_status_is_the_default_state_when_nothing_was_saved(raw: object) -> None:
    assert ReshardState.from_status(raw) == ReshardState()


def test_from_status_reads_integral_times_when_the_api_server_dropped_the_fraction() -> None:
    state = ReshardState.from_status({"activeShards": 4, "lastReshardAt": 1_800_000_000})
    assert state.last_reshard_at == _NOW


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("Steady", "mapping"),
        ([], "mapping"),
        ({"phase": "Paused"}, "phase"),
        ({"phase": 1}, "phase"),
        ({"activeGeneration": -1}, "activeGeneration"),
        ({"activeGeneration": "1"}, "activeGeneration"),
        ({"activeShards": 1.5}, "activeShards"),
        ({"activeShards": True}, "activeShards"),
        ({"targetGeneration": "x"}, "targetGeneration"),
        ({"targetShards": -3}, "targetShards"),
        ({"startedAt": "yesterday"}, "startedAt"),
        ({"startedAt": False}, "startedAt"),
        ({"lastReshardAt": math.nan}, "lastReshardAt"),
        ({"lastReshardAt": math.inf}, "lastReshardAt"),
        ({"phase": "Starting", "activeShards": 16}, "target"),
        ({"phase": "Switching", "targetGeneration": 0, "targetShards": 4}, "target_generation"),
    ],
)
def test_from_status_raises_naming_the_field_when_the_status_is_malformed(
    raw: object, field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        ReshardState.from_status(raw)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"desired_shards": 0}, "desired_shards"),
        ({"session_starts_remaining": -1}, "session_starts_remaining"),
    ],
)
def test_observation_raises_naming_the_field_when_it_cannot_be_acted_on(
    kwargs: dict[str, int], field: str
) -> None:
    fields: dict[str, object] = {
        "desired_shards": 4,
        "ready_shards": {},
        "session_starts_remaining": None,
        "now": _NOW,
    }
    with pytest.raises(ValueError, match=field):
        ReshardObservation(**{**fields, **kwargs})  # type: ignore[arg-type]


# --- a whole reshard against a fake world ------------------------------------------------


@dataclasses.dataclass
class _World:
    """Kubernetes and Discord as the operator sees them: shard sets, the key, READY shards."""

    boot_steps: int = 3
    """Steps a newly run (or resized) generation takes until all its shards are READY."""
    daily_session_starts: int = 1_000
    """Discord's session start limit."""
    generations: dict[int, int] = dataclasses.field(default_factory=dict)
    """Generation -> shards it runs."""
    ages: dict[int, int] = dataclasses.field(default_factory=dict)
    """Generation -> steps since it was (re)created."""
    active: int | None = None
    """The active-generation key (None: unset)."""
    session_starts_used: int = 0
    """Sessions started so far today."""

    def apply(self, actions: tuple[ReshardAction, ...]) -> None:
        for action in actions:
            match action:
                case RunGeneration(generation, shards):
                    if self.generations.get(generation) != shards:
                        self.generations[generation] = shards
                        self.ages[generation] = 0
                        self.session_starts_used += shards
                case ActivateGeneration(generation):
                    self.active = generation
                case RemoveGeneration(generation):
                    self.generations.pop(generation, None)
                    self.ages.pop(generation, None)

    def tick(self) -> None:
        self.ages = {generation: age + 1 for generation, age in self.ages.items()}

    def ready_shards(self) -> dict[int, int]:
        return {
            generation: shards
            for generation, shards in self.generations.items()
            if self.ages[generation] >= self.boot_steps
        }

    def observe(self, desired: int, now: float) -> ReshardObservation:
        return ReshardObservation(
            desired_shards=desired,
            ready_shards=self.ready_shards(),
            session_starts_remaining=self.daily_session_starts - self.session_starts_used,
            now=now,
        )

    def snapshot(self) -> tuple[dict[int, int], int | None]:
        return dict(self.generations), self.active


def _run(
    desired_at: list[int], *, crash_at: int | None = None, world: _World | None = None
) -> tuple[ReshardState, _World, list[str]]:
    """Step once a minute with ``desired_at[i]`` at step i, saving the status like the operator.

    At step ``crash_at`` the operator carries out the actions and dies before saving.
    """
    world = world or _World()
    status: dict[str, object] = {}
    reasons: list[str] = []
    for i, desired in enumerate(desired_at):
        state = ReshardState.from_status(status)
        step = step_reshard(state, world.observe(desired, _NOW + 60 * i))
        world.apply(step.actions)
        reasons += _reasons(step)
        # Blue/green: whatever is active runs all its shards, and at most two run at once.
        assert world.active in world.generations
        assert len(world.generations) <= 2
        if i != crash_at:
            status = step.state.to_status()
        world.tick()
    return ReshardState.from_status(status), world, reasons


def test_a_whole_reshard_grows_from_16_to_48_shards_when_guilds_outgrow_the_cap() -> None:
    # The operator plans with decide_shard_count from a guild total that crosses the cap.
    policy, growth = ShardPolicy(), GrowthPolicy()
    world = _World()
    status: dict[str, object] = {}
    phases: list[ReshardPhase] = []
    reasons: list[str] = []
    for i in range(20):
        now = _NOW + 60 * i
        state = ReshardState.from_status(status)
        decision = decide_shard_count(
            current_shards=state.active_shards,
            # 14,000 guilds deploy 16 shards; then 16 shards reach the cap at 36,364
            guild_total=14_000 if i < 3 else 36_000 + 50 * i,
            history=[],
            policy=policy,
            growth=growth,
            max_concurrency=16,
            recommended=None,
            now=now,
            last_reshard_at=state.last_reshard_at,
        )
        step = step_reshard(state, world.observe(decision.shards, now))
        world.apply(step.actions)
        assert world.active in world.ready_shards() or i < world.boot_steps
        status = step.state.to_status()
        phases.append(step.state.phase)
        reasons += _reasons(step)
        world.tick()
    final = ReshardState.from_status(status)
    assert final == ReshardState(
        active_generation=1, active_shards=48, last_reshard_at=final.last_reshard_at
    )
    assert world.snapshot() == ({1: 48}, 1)
    assert reasons == [
        "ShardsPlanned",
        "ReshardStarted",
        "ActiveGenerationSwitched",
        "ReshardCompleted",
    ]
    assert ReshardPhase.STARTING in phases
    assert ReshardPhase.SWITCHING in phases
    assert world.session_starts_used == 16 + 48


_PLAN: Final = [16] * 3 + [32] * 12


def test_a_whole_reshard_ends_in_the_same_place_when_the_operator_crashes_at_any_step() -> None:
    end_state, end_world, _ = _run(_PLAN)
    assert end_world.snapshot() == ({1: 32}, 1)
    assert (end_state.phase, end_state.active_generation, end_state.active_shards) == (
        ReshardPhase.STEADY,
        1,
        32,
    )
    for crash_at in range(len(_PLAN)):
        state, world, _ = _run([*_PLAN, 32], crash_at=crash_at)  # one more step to catch up
        assert world.snapshot() == end_world.snapshot(), crash_at
        assert dataclasses.replace(state, last_reshard_at=None) == dataclasses.replace(
            end_state, last_reshard_at=None
        ), crash_at


def test_a_whole_reshard_cleans_up_when_the_spec_goes_back_mid_reshard() -> None:
    plan = [16] * 3 + [32] * 2 + [16] * 3
    state, world, reasons = _run(plan)
    assert state == _STEADY_16
    assert world.snapshot() == ({0: 16}, 0)
    assert reasons == ["ShardsPlanned", "ReshardStarted", "ReshardAborted"]


def test_a_whole_reshard_waits_for_session_starts_when_the_daily_limit_is_low() -> None:
    world = _World(daily_session_starts=50)  # 16 used by the deploy, 36 needed for 32 shards
    state, world, reasons = _run([16] * 3 + [32] * 5, world=world)
    assert state == _STEADY_16
    assert world.snapshot() == ({0: 16}, 0)
    assert reasons == ["ShardsPlanned", *["InsufficientSessionStarts"] * 5]
