"""One reconcile's decision (the count, why, the reshard step), the same for both controllers."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

import pytest

from shoal.local.discovering import GatewayBotInfo
from shoal.local.plans import worker_name
from shoal.local.resharding import ReshardSettings
from shoal.planning.reconciling import (
    FleetObservation,
    PlanningRules,
    decide_reconcile,
    decide_target_shards,
    expected_shards,
    fleet_observation,
    growth_policy,
    planned_from,
    sharding_required_at,
)
from shoal.planning.resharding import (
    ActivateGeneration,
    RemoveGeneration,
    ReshardPhase,
    ReshardState,
    RunGeneration,
)
from shoal.planning.sharding import GrowthPolicy, ShardPolicy, decide_shard_count
from shoal.storage.shard_registry import RegistryEntry
from shoal_operator.children import shard_set_name
from shoal_operator.discord_api import GatewayInfo
from shoal_operator.reconciling import planning_rules, pods_of
from shoal_operator.spec import parse_spec

if TYPE_CHECKING:
    from collections.abc import Mapping

_NOW: Final = 1_700_000_000.0
_STEADY: Final = ReshardState(active_generation=0, active_shards=24)
_STARTING: Final = ReshardState(
    phase=ReshardPhase.STARTING,
    active_generation=0,
    active_shards=24,
    target_generation=1,
    target_shards=28,
    started_at=_NOW - 30.0,
)
_RULES: Final = PlanningRules(policy=ShardPolicy(), growth=GrowthPolicy(), fixed_source="--shards")
_SPEC: Final[dict[str, object]] = {
    "image": "ghcr.io/shoal-bot/shoal:0.1.0",
    "tokenSecretRef": {"name": "mybot-token"},
    "redis": {"urlSecretRef": {"name": "mybot-redis"}},
    "postgres": {"dsnSecretRef": {"name": "mybot-postgres"}},
    "lavalink": {"passwordSecretRef": {"name": "mybot-lavalink"}},
}


def _ready(generation: int, shards: int) -> list[RegistryEntry]:
    return [
        RegistryEntry(
            generation=generation,
            shard_id=shard_id,
            shard_count=shards,
            state="ready",
            guild_count=0,
            latency_ms=40.0,
            pod=f"pod-{generation}",
            updated_at=_NOW - 1.0,
        )
        for shard_id in range(shards)
    ]


def _observation(**overrides: Any) -> FleetObservation:  # noqa: ANN401 - the fields
    values: dict[str, Any] = {
        "guild_total": 20_000,
        "history": [],
        "entries": _ready(0, 24),
        "max_concurrency": 4,
        "recommended_shards": 20,
        "session_starts_remaining": 1_000,
        "sharding_required_at": None,
        "now": _NOW,
    }
    values.update(overrides)
    return FleetObservation(**values)


def test_decide_reconcile_keeps_the_fleet_when_no_reshard_is_needed() -> None:
    planned = decide_reconcile(_STEADY, _observation(), _RULES)

    assert (planned.decision.shards, planned.decision.reason) == (24, "Steady")
    assert planned.ready_shards == {0: 24}
    assert planned.step.state == _STEADY
    assert planned.step.actions == (RunGeneration(0, 24), ActivateGeneration(0))
    assert planned.step.events == ()


def test_decide_reconcile_starts_a_reshard_when_discord_recommends_more_shards() -> None:
    planned = decide_reconcile(
        _STEADY, _observation(guild_total=24_756, recommended_shards=25), _RULES
    )

    assert (planned.decision.shards, planned.decision.reason) == (28, "RecommendedRaised")
    assert planned.step.state.phase is ReshardPhase.STARTING
    assert planned.step.state.target_shards == 28
    assert RunGeneration(1, 28) in planned.step.actions
    assert [event.reason for event in planned.step.events] == ["ReshardStarted"]


def test_decide_reconcile_plans_from_the_target_when_a_reshard_is_under_way() -> None:
    # Guilds grew during the switch: 25,500 and a recommendation of 26.
    grown = _observation(guild_total=25_500, recommended_shards=26, entries=_ready(0, 24))
    from_active = decide_shard_count(
        current_shards=24,
        guild_total=25_500,
        history=[],
        policy=_RULES.policy,
        growth=_RULES.growth,
        max_concurrency=4,
        recommended=26,
        now=_NOW,
        last_reshard_at=None,
    )

    planned = decide_reconcile(_STARTING, grown, _RULES)

    assert from_active.shards == 32  # what planning from the active count would ask
    assert planned_from(_STARTING) == 28
    assert (planned.decision.shards, planned.decision.reason) == (28, "Steady")
    assert planned.step.state == _STARTING  # kept, not abandoned for 32
    assert planned.step.events == ()
    assert RemoveGeneration(1) not in planned.step.actions


def test_decide_reconcile_switches_when_the_target_is_ready_during_a_reshard() -> None:
    observation = _observation(
        guild_total=24_756, recommended_shards=25, entries=[*_ready(0, 24), *_ready(1, 28)]
    )

    planned = decide_reconcile(_STARTING, observation, _RULES)

    assert planned.ready_shards == {0: 24, 1: 28}
    assert planned.step.state.phase is ReshardPhase.SWITCHING
    assert ActivateGeneration(1) in planned.step.actions


def test_decide_target_shards_grows_past_the_count_when_a_shard_closed_with_4011() -> None:
    decision = decide_target_shards(_STEADY, _observation(sharding_required_at=24), _RULES)

    assert (decision.shards, decision.reason) == (28, "ShardingRequired")
    assert decision.message == (
        "Discord closed a shard with 4011 (too many guilds for 24 shards): growing to 28 shards"
    )


def test_decide_reconcile_starts_a_reshard_when_a_shard_closed_with_4011() -> None:
    planned = decide_reconcile(_STEADY, _observation(sharding_required_at=24), _RULES)

    assert planned.step.state.target_shards == 28
    assert [event.reason for event in planned.step.events] == ["ReshardStarted"]


def test_decide_target_shards_keeps_the_target_when_4011_came_from_the_smaller_active() -> None:
    observation = _observation(guild_total=24_756, recommended_shards=25, sharding_required_at=24)

    decision = decide_target_shards(_STARTING, observation, _RULES)

    assert (decision.shards, decision.reason) == (28, "Steady")


def test_decide_target_shards_grows_past_the_target_when_4011_came_from_the_target() -> None:
    observation = _observation(guild_total=24_756, recommended_shards=25, sharding_required_at=28)

    decision = decide_target_shards(_STARTING, observation, _RULES)

    assert (decision.shards, decision.reason) == (32, "ShardingRequired")


def test_decide_target_shards_keeps_a_plan_that_already_exceeds_the_4011_count() -> None:
    observation = _observation(guild_total=24_756, recommended_shards=25, sharding_required_at=24)

    decision = decide_target_shards(_STEADY, observation, _RULES)

    assert (decision.shards, decision.reason) == (28, "RecommendedRaised")


def test_decide_target_shards_keeps_a_fixed_count_when_the_plan_or_a_4011_would_grow() -> None:
    rules = dataclasses.replace(_RULES, fixed_shards=24)
    observation = _observation(guild_total=60_000, recommended_shards=60, sharding_required_at=24)

    decision = decide_target_shards(_STEADY, observation, rules)
    planned = decide_reconcile(_STEADY, observation, rules)

    assert decision.shards == 24
    assert (decision.reason, decision.message) == ("Fixed", "--shards is 24")
    assert planned.step.state == _STEADY


def test_decide_target_shards_plans_from_the_recommendation_when_no_shard_registered_yet() -> None:
    initial = decide_target_shards(ReshardState(), _observation(guild_total=None), _RULES)
    running = decide_target_shards(_STEADY, _observation(guild_total=None), _RULES)

    assert (initial.shards, initial.reason) == (20, "Initial")
    assert (running.shards, running.reason) == (24, "Steady")  # no shrink from an empty registry


def test_sharding_required_at_is_the_largest_count_a_4011_was_recorded_at() -> None:
    shards_of_pod = {"a-0": 24, "a-1": 24, "b-0": 28}

    assert sharding_required_at({}, shards_of_pod) is None
    assert sharding_required_at({"a-1": 4004}, shards_of_pod) is None
    assert sharding_required_at({"a-1": 4011}, shards_of_pod) == 24
    assert sharding_required_at({"a-0": 4011, "b-0": 4011}, shards_of_pod) == 28
    assert sharding_required_at({"gone-0": 4011}, shards_of_pod) is None  # not running


def test_expected_shards_lists_both_generations_when_a_reshard_runs() -> None:
    assert expected_shards(_STEADY) == {0: 24}
    assert expected_shards(_STARTING) == {0: 24, 1: 28}
    assert expected_shards(ReshardState()) == {}


@pytest.mark.parametrize(
    ("horizon_s", "min_span_s"),
    [(7 * 86_400.0, 3 * 3600.0), (3600.0, 3600.0), (0.0, 600.0)],
)
def test_growth_policy_needs_hours_of_history_when_the_horizon_allows(
    horizon_s: float, min_span_s: float
) -> None:
    policy = growth_policy(horizon_s=horizon_s, cooldown_s=60.0)

    assert (policy.horizon_s, policy.min_span_s, policy.cooldown_s) == (horizon_s, min_span_s, 60.0)


def test_planning_rules_of_the_operator_defaults_are_the_local_run_defaults() -> None:
    operator = planning_rules(parse_spec(_SPEC))
    local = ReshardSettings().rules

    assert dataclasses.replace(operator, fixed_source="--shards") == local


@dataclasses.dataclass(frozen=True, slots=True)
class _Case:
    """What both controllers observe, in the terms common to both, and the expected plan."""

    state: ReshardState
    guilds: int | None
    recommended: int
    ready: tuple[tuple[int, int], ...]
    """(generation, shard count) of each generation whose shards are all READY."""
    expected: tuple[int, str]
    """The shard count and reason both must decide."""
    closed_4011: tuple[int, ...] = ()
    """Generations whose first pod recorded a 4011 close."""
    history: tuple[tuple[float, int], ...] = ()
    fixed: int | None = None


_GROWING_HISTORY: Final = tuple(
    (_NOW - 3 * 3600.0 + i * 1800.0, 20_000 + i * 2_000) for i in range(7)
)
#: Growing as fast, over only an hour: too short a trend to reshard on.
_HOUR_OF_HISTORY: Final = tuple((_NOW - 3600.0 + i * 600.0, 20_000 + i * 2_000) for i in range(7))
_CASES: Final = {
    "steady": _Case(_STEADY, 20_000, 20, ((0, 24),), (24, "Steady")),
    "first deployment": _Case(ReshardState(), 20_000, 20, (), (24, "Initial")),
    "recommendation raised": _Case(_STEADY, 24_756, 25, ((0, 24),), (28, "RecommendedRaised")),
    "forecast crosses the cap": _Case(
        _STEADY, 32_000, 20, ((0, 24),), (776, "ForecastCrossesCap"), history=_GROWING_HISTORY
    ),
    "an hour of history is no trend": _Case(
        _STEADY, 32_000, 20, ((0, 24),), (24, "Steady"), history=_HOUR_OF_HISTORY
    ),
    "growth during a reshard": _Case(_STARTING, 25_500, 26, ((0, 24),), (28, "Steady")),
    "target ready": _Case(_STARTING, 24_756, 25, ((0, 24), (1, 28)), (28, "Steady")),
    "4011 on the active generation": _Case(
        _STEADY, 20_000, 20, ((0, 24),), (28, "ShardingRequired"), closed_4011=(0,)
    ),
    "4011 on the target": _Case(
        _STARTING, 24_756, 25, ((0, 24),), (32, "ShardingRequired"), closed_4011=(1,)
    ),
    "fixed": _Case(_STEADY, 60_000, 60, ((0, 24),), (24, "Fixed"), fixed=24),
}


def _operator_decision(case: _Case) -> tuple[Any, ...]:
    spec_body: dict[str, Any] = {**_SPEC}
    if case.fixed is not None:
        spec_body["shards"] = {"mode": "Fixed", "count": case.fixed}
    spec = parse_spec(spec_body)
    gateway = GatewayInfo(
        recommended_shards=case.recommended,
        max_concurrency=4,
        session_starts_total=1_000,
        session_starts_remaining=900,
        reset_after_s=3_600.0,
    )
    shards_of_pod = pods_of(case.state, spec.shards.shards_per_pod, "mybot")
    closed = {f"{shard_set_name('mybot', g)}-0": 4011 for g in case.closed_4011}
    return _decided(case, gateway, planning_rules(spec), shards_of_pod, closed)


def _local_decision(case: _Case) -> tuple[Any, ...]:
    gateway = GatewayBotInfo(
        recommended_shards=case.recommended, max_concurrency=4, session_starts_remaining=900
    )
    rules = ReshardSettings(fixed_shards=case.fixed).rules
    # One worker per generation here (the operator's spec packs 4 shards a pod): the pods
    # differ, the counts they run do not.
    shards_of_pod = {
        worker_name(generation, 0): shards
        for generation, shards in expected_shards(case.state).items()
    }
    closed = {worker_name(g, 0): 4011 for g in case.closed_4011}
    return _decided(case, gateway, rules, shards_of_pod, closed)


def _decided(
    case: _Case,
    gateway: GatewayInfo | GatewayBotInfo,
    rules: PlanningRules,
    shards_of_pod: Mapping[str, int],
    close_codes: Mapping[str, int],
) -> tuple[Any, ...]:
    entries = [entry for generation, shards in case.ready for entry in _ready(generation, shards)]
    observation = fleet_observation(
        gateway,
        guild_total=case.guilds,
        history=case.history,
        entries=entries,
        close_codes=close_codes,
        shards_of_pod=shards_of_pod,
        now=_NOW,
    )
    planned = decide_reconcile(case.state, observation, rules)
    decision = planned.decision
    message = None if decision.reason == "Fixed" else decision.message  # names its source
    return (decision.shards, decision.reason, message, planned.ready_shards, planned.step)


@pytest.mark.parametrize("case", list(_CASES.values()), ids=list(_CASES))
def test_decide_reconcile_gives_both_controllers_one_decision_when_they_observe_the_same(
    case: _Case,
) -> None:
    operator = _operator_decision(case)
    local = _local_decision(case)

    assert operator == local
    assert operator[:2] == case.expected
