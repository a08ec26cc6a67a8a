"""The local fleet's layout, each worker's environment, and when the load is renewed."""

from __future__ import annotations

import dataclasses

import pytest

from shoal.config import worker_settings
from shoal.local.plans import (
    FleetLayout,
    FleetTargets,
    choose_shards_per_worker,
    generation_layout,
    is_load_renewal_due,
    plan_fleet,
    worker_environment,
    worker_name,
)
from shoal.planning.sharding import ShardPolicy, plan_shard_count
from shoal.planning.shards import bucket_of

_TARGETS = FleetTargets(
    token="MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.c2VjcmV0",  # noqa: S106 - a fake token
    rest_url="http://127.0.0.1:5000/api/v10",
    redis_url="redis://127.0.0.1:6000/0",
    postgres_dsn="postgresql://shoal@127.0.0.1:7000/postgres",
    bot_name="mybot",
    identify_window_s=0.5,
)


@pytest.mark.parametrize(
    ("total", "max_concurrency", "per_worker"),
    [
        (24, 4, 4),  # 20,000 guilds at max_concurrency 4: six workers of four
        (24, 1, 4),
        (1, 1, 1),  # never more than the shards there are
        (3, 1, 3),
        (16, 16, 16),  # a whole bucket row per worker
        (12, 3, 6),  # four rounded up to a multiple of three
        (64, 4, 8),  # sixteen workers of four would be too many: eight of eight
        (100, 1, 13),  # ceil(100 / 8)
        (96, 16, 16),  # four rounded up to a bucket row: six workers
    ],
)
def test_choose_shards_per_worker_gives_few_bucket_aligned_workers_when_planning(
    total: int, max_concurrency: int, per_worker: int
) -> None:
    assert choose_shards_per_worker(total, max_concurrency) == per_worker


@pytest.mark.parametrize("total", [1, 7, 24, 64, 100, 250, 1000])
@pytest.mark.parametrize("max_concurrency", [1, 2, 4, 16])
def test_choose_shards_per_worker_keeps_workers_few_and_aligned_when_any_total_is_planned(
    total: int, max_concurrency: int
) -> None:
    per_worker = choose_shards_per_worker(total, max_concurrency)
    layout = FleetLayout(total, per_worker, max_concurrency)

    assert layout.workers <= 8
    if per_worker < total:  # a worker with all the shards holds whole buckets trivially
        assert per_worker % max_concurrency == 0
        first = layout.shard_range(1).ids
        assert bucket_of(first[0], max_concurrency) == 0


def test_choose_shards_per_worker_raises_when_a_number_is_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        choose_shards_per_worker(0, 1)


def test_plan_fleet_uses_the_operators_plan_when_no_count_is_given() -> None:
    layout = plan_fleet(20_000, max_concurrency=4, recommended_shards=20)

    assert layout.total_shards == plan_shard_count(
        20_000, policy=ShardPolicy(), max_concurrency=4, recommended=20
    )
    assert layout == FleetLayout(total_shards=24, shards_per_worker=4, max_concurrency=4)
    assert layout.workers == 6


def test_plan_fleet_follows_discords_recommendation_when_guilds_are_unknown() -> None:
    layout = plan_fleet(0, max_concurrency=16, recommended_shards=40)

    assert layout.total_shards == 48  # 40 rounded up to a multiple of 16
    assert layout.shards_per_worker == 16


def test_plan_fleet_takes_the_given_counts_when_a_person_chose_them() -> None:
    layout = plan_fleet(200, max_concurrency=4, recommended_shards=1, shards=4, shards_per_worker=2)

    assert layout == FleetLayout(total_shards=4, shards_per_worker=2, max_concurrency=4)
    assert [layout.shard_range(o).ids for o in range(layout.workers)] == [[0, 1], [2, 3]]


@pytest.mark.parametrize("ordinal", [0, 1, 2])
def test_worker_environment_reads_back_as_the_workers_settings_when_given_to_the_parser(
    ordinal: int,
) -> None:
    layout = FleetLayout(total_shards=10, shards_per_worker=4, max_concurrency=2)

    env = worker_environment(layout, ordinal, _TARGETS, http_port=41_000 + ordinal)
    settings = worker_settings(env)

    assert settings.sharding.shards == layout.shard_range(ordinal)
    assert settings.sharding.pod_name == f"local-{ordinal}"
    assert settings.sharding.generation == 0
    assert settings.discord.token == _TARGETS.token
    assert settings.discord.rest_url == _TARGETS.rest_url
    assert settings.redis.url == _TARGETS.redis_url
    assert settings.redis.namespace == "mybot"
    assert settings.postgres.dsn == _TARGETS.postgres_dsn
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 41_000 + ordinal)
    assert settings.log.is_json is False
    assert settings.discord.identify_window_s == 0.5


def test_worker_environment_leaves_the_identify_window_to_the_worker_when_against_discord() -> None:
    layout = FleetLayout(total_shards=1, shards_per_worker=1, max_concurrency=1)
    targets = dataclasses.replace(_TARGETS, identify_window_s=None)

    env = worker_environment(layout, 0, targets, http_port=41_000)

    assert "SHOAL_IDENTIFY_WINDOW_S" not in env


def test_fleet_targets_hide_secrets_when_shown() -> None:
    shown = repr(_TARGETS)

    assert _TARGETS.token not in shown
    assert "postgresql://" not in shown


@pytest.mark.parametrize(
    ("started_at_s", "now_s", "is_due"),
    [
        (None, 0.0, True),  # nothing running yet
        (100.0, 100.0, False),
        (100.0, 159.4, False),
        (100.0, 159.5, True),  # half a second before the 60 s run ends
        (100.0, 400.0, True),  # long gone (the simulator was busy)
    ],
)
def test_is_load_renewal_due_renews_just_before_the_end_when_a_run_is_ending(
    started_at_s: float | None, now_s: float, *, is_due: bool
) -> None:
    assert is_load_renewal_due(started_at_s, now_s, 60.0) is is_due


def test_worker_environment_names_the_generation_when_a_reshard_starts_one() -> None:
    layout = generation_layout(28, 4)

    env = worker_environment(layout, 6, _TARGETS, http_port=9000, generation=1)

    assert (env["SHOAL_GENERATION"], env["SHOAL_POD_NAME"]) == ("1", "local-g1-6")
    assert (env["SHOAL_TOTAL_SHARDS"], env["SHOAL_SHARDS_PER_POD"]) == ("28", "4")
    assert worker_name(0, 2) == "local-2"  # a fleet that never resharded keeps its names


def test_generation_layout_spreads_a_new_count_as_the_first_fleet_when_resharding() -> None:
    assert generation_layout(28, 4) == FleetLayout(28, 4, 4)
    assert generation_layout(28, 4, shards_per_worker=7) == FleetLayout(28, 7, 4)
    assert plan_fleet(20_000, max_concurrency=4, recommended_shards=20) == generation_layout(24, 4)
