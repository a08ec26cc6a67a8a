"""Shard counts become Prometheus counter increments, once each."""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry

from shoal.gateway.reporting import MetricsReporter
from shoal.gateway.shard import ShardSnapshot
from shoal.observability.metrics import Metrics
from shoal.observability.shard_status import ShardStatus


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_reporter_counts_only_the_growth_when_it_reports_twice() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    reporter = MetricsReporter(metrics)
    first = dataclasses.replace(
        ShardSnapshot.not_started(3),
        status=ShardStatus.READY,
        identifies=1,
        dispatches={"MESSAGE_CREATE": 10},
        closes={4000: 1},
    )
    reporter.report([first])
    reporter.report([dataclasses.replace(first, resumes=1, dispatches={"MESSAGE_CREATE": 25})])
    assert _value(registry, "shoal_gateway_events_total", type="MESSAGE_CREATE") == 25
    assert _value(registry, "shoal_gateway_identifies_total", shard="3") == 1
    assert _value(registry, "shoal_gateway_resumes_total", shard="3") == 1
    assert _value(registry, "shoal_gateway_closes_total", shard="3", code="4000") == 1


def test_reporter_counts_from_zero_when_a_shard_restarted_in_process() -> None:
    registry = CollectorRegistry()
    reporter = MetricsReporter(Metrics(registry))
    before = dataclasses.replace(ShardSnapshot.not_started(0), dispatches={"READY": 5})
    reporter.report([before])
    reporter.report([dataclasses.replace(before, dispatches={"READY": 2})])
    assert _value(registry, "shoal_gateway_events_total", type="READY") == 7
