"""The shard count plan."""

from __future__ import annotations

import itertools

import pytest

from shoal.planning.sharding import ShardPolicy, plan_shard_count

_POLICY = ShardPolicy()


@pytest.mark.parametrize(
    ("guilds", "shards"), [(0, 1), (1, 1), (909, 1), (910, 2), (20_000, 22), (150_000, 165)]
)
def test_plan_follows_the_target_with_headroom_when_concurrency_is_one(
    guilds: int, shards: int
) -> None:
    assert plan_shard_count(guilds, policy=_POLICY) == shards


def test_plan_rounds_up_to_a_multiple_of_max_concurrency_when_it_is_above_one() -> None:
    assert plan_shard_count(20_000, policy=_POLICY, max_concurrency=16) == 32
    assert plan_shard_count(1, policy=_POLICY, max_concurrency=4) == 4


def test_plan_takes_discords_recommendation_when_it_is_higher() -> None:
    assert plan_shard_count(5_000, policy=_POLICY, recommended=12) == 12


def test_plan_never_exceeds_the_cap_when_the_target_is_sparse() -> None:
    policy = ShardPolicy(target_guilds_per_shard=2500, max_guilds_per_shard=2500, headroom=0)
    assert plan_shard_count(2501, policy=policy) == 2


@pytest.mark.parametrize(
    ("guilds", "target", "headroom", "concurrency"),
    list(
        itertools.product(
            [0, 1, 999, 1000, 1001, 2499, 2500, 2501, 49_999, 250_000],
            [1, 500, 1000, 2500],
            [0.0, 0.1, 0.5],
            [1, 4, 16],
        )
    ),
)
def test_plan_keeps_every_invariant_when_inputs_vary(
    guilds: int, target: int, headroom: float, concurrency: int
) -> None:
    policy = ShardPolicy(target_guilds_per_shard=target, headroom=headroom)
    shards = plan_shard_count(guilds, policy=policy, max_concurrency=concurrency)
    assert shards >= 1
    assert shards % concurrency == 0
    assert guilds / shards <= policy.max_guilds_per_shard
    assert guilds * (1 + headroom) / shards <= target or shards == concurrency
    # minimal: one step of max_concurrency fewer would break the target (or reach zero)
    fewer = shards - concurrency
    assert fewer < 1 or guilds * (1 + headroom) / fewer > target


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target_guilds_per_shard": 0},
        {"target_guilds_per_shard": 3000},
        {"max_guilds_per_shard": 3000, "target_guilds_per_shard": 1000},
        {"headroom": -0.1},
    ],
)
def test_policy_refuses_values_when_they_cannot_be_planned_with(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|cannot"):
        ShardPolicy(**kwargs)  # type: ignore[arg-type]


def test_plan_refuses_inputs_when_they_are_out_of_range() -> None:
    with pytest.raises(ValueError, match="guild_total"):
        plan_shard_count(-1, policy=_POLICY)
    with pytest.raises(ValueError, match="max_concurrency"):
        plan_shard_count(10, policy=_POLICY, max_concurrency=0)
