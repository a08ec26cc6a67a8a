"""A dependency's health: log lines per outage, the gauge, degraded counts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from shoal.observability.dependencies import DependencyHealth
from shoal.observability.metrics import Metrics

if TYPE_CHECKING:
    import pytest


class _Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def _health(metrics: Metrics, clock: _Clock) -> DependencyHealth:
    return DependencyHealth(
        "redis",
        label="Redis",
        consequence="claims are skipped",
        metrics=metrics,
        is_expected=lambda error: isinstance(error, ConnectionError),
        clock=clock,
        summary_every_s=30.0,
    )


def _up(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("shoal_dependency_up", {"dependency": "redis"})


def test_health_logs_three_lines_when_an_outage_of_a_minute_serves_hundreds_of_requests(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    metrics, clock = Metrics(), _Clock()
    health = _health(metrics, clock)
    assert _up(metrics) == 1
    for second in range(60):
        clock.now_s = 1000.0 + second
        for _ in range(5):
            health.report_failure(ConnectionError("Connection refused"), operation="claim")
            health.count_degraded("claim")
        health.count_degraded("rate_limit")
        health.summarise_if_due()
        assert health.down_for_s == second
        assert _up(metrics) == 0
    clock.now_s = 1061.0
    health.report_success()
    assert health.is_up
    assert _up(metrics) == 1
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages == [
        (
            "WARNING",
            "Redis is unreachable (claim: ConnectionError: Connection refused); claims are skipped",
        ),
        (
            "WARNING",
            (
                "Redis still unreachable after 30 s; 186 requests were served without it "
                "(claim 155, rate_limit 31)"
            ),
        ),
        (
            "INFO",
            (
                "Redis is reachable again after 61 s; 360 requests were served without it "
                "(claim 300, rate_limit 60)"
            ),
        ),
    ]
    assert all(r.exc_info is None for r in caplog.records)  # known errors: no traceback
    degraded = metrics.registry.get_sample_value(
        "shoal_dependency_degraded_total", {"dependency": "redis", "operation": "claim"}
    )
    assert degraded == 300


def test_health_logs_the_traceback_when_the_error_is_not_a_known_connection_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health = _health(Metrics(), _Clock())
    error = ValueError("WRONGTYPE Operation against a key holding the wrong kind of value")
    health.report_failure(error, operation="claim")
    (record,) = caplog.records
    assert record.exc_info is not None
    assert "ValueError: WRONGTYPE" in record.getMessage()


def test_health_counts_each_outage_apart_when_it_goes_down_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = _Clock()
    health = _health(Metrics(), clock)
    for _ in range(2):
        health.report_failure(ConnectionError("refused"), operation="probe")
        health.count_degraded("claim")
        clock.now_s += 5
        health.report_success()
    recoveries = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    assert (
        recoveries
        == ["Redis is reachable again after 5 s; 1 request was served without it (claim 1)"] * 2
    )
