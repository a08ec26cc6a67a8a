"""The worker's metrics: names, labels, recording helpers and rendering."""

from __future__ import annotations

import math

from shoal.observability.metrics import CommandOutcome, Metrics
from shoal.observability.shard_status import ShardStatus


def test_metrics_are_all_named_shoal_when_rendered() -> None:
    metrics = Metrics()
    names = {family.name for family in metrics.registry.collect()}
    assert names >= {
        "shoal_shard_state",
        "shoal_shard_heartbeat_latency_seconds",
        "shoal_shard_guilds",
        "shoal_gateway_events",
        "shoal_gateway_identifies",
        "shoal_gateway_resumes",
        "shoal_gateway_closes",
        "shoal_commands",
        "shoal_command_duration_seconds",
        "shoal_rest_requests",
        "shoal_process_resident_memory_bytes",
    }
    assert all(name.startswith("shoal_") for name in names), names


def test_record_shard_sets_one_state_latency_and_guilds_when_a_shard_changes() -> None:
    metrics = Metrics()
    metrics.record_shard(2, status=ShardStatus.CONNECTING, latency_s=math.nan, guilds=0)
    metrics.record_shard(2, status=ShardStatus.READY, latency_s=0.05, guilds=900)
    value = metrics.registry.get_sample_value
    assert value("shoal_shard_state", {"shard": "2", "shoal_shard_state": "ready"}) == 1.0
    assert value("shoal_shard_state", {"shard": "2", "shoal_shard_state": "connecting"}) == 0.0
    assert value("shoal_shard_heartbeat_latency_seconds", {"shard": "2"}) == 0.05
    assert value("shoal_shard_guilds", {"shard": "2"}) == 900.0


def test_record_command_counts_and_times_only_commands_that_ran() -> None:
    metrics = Metrics()
    metrics.record_command("ping", CommandOutcome.OK, 0.02)
    metrics.record_command("ping", CommandOutcome.CLAIMED_ELSEWHERE, None)
    value = metrics.registry.get_sample_value
    assert value("shoal_commands_total", {"command": "ping", "outcome": "ok"}) == 1.0
    assert value("shoal_commands_total", {"command": "ping", "outcome": "claimed_elsewhere"}) == 1.0
    assert value("shoal_command_duration_seconds_count", {"command": "ping"}) == 1.0


def test_render_negotiates_openmetrics_when_the_scraper_asks_for_it() -> None:
    metrics = Metrics()
    plain, plain_type = metrics.render()
    open_body, open_type = metrics.render("application/openmetrics-text; version=1.0.0")
    assert plain_type.startswith("text/plain; version=0.0.4")
    assert b"# TYPE shoal_commands_total counter" in plain
    assert open_type.startswith("application/openmetrics-text")
    assert open_body.endswith(b"# EOF\n")


def test_metrics_do_not_collide_when_two_are_built_in_one_process() -> None:
    first, second = Metrics(), Metrics()
    first.gateway_events.labels("READY").inc()
    assert second.registry.get_sample_value("shoal_gateway_events_total", {"type": "READY"}) is None
