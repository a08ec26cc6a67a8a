"""The local status's feature figures: totalled from real workers' metrics texts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from shoal.features.levels.metrics import LevelsMetrics
from shoal.local.feature_figures import FeatureFigures, feature_figures, feature_parts
from shoal.local.status import StatusRow, format_line, format_table
from shoal.observability.metrics import CommandOutcome, Metrics


def _worker_text(*, rank: int, claimed_elsewhere: int, grants: int, level_ups: int) -> str:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    levels = LevelsMetrics(registry)
    for _ in range(rank):
        metrics.commands.labels(command="rank", outcome=CommandOutcome.OK).inc()
    metrics.commands.labels(command="ping", outcome=CommandOutcome.CLAIMED_ELSEWHERE).inc(
        claimed_elsewhere
    )
    metrics.commands.labels(command="ping", outcome=CommandOutcome.RATE_LIMITED).inc()
    levels.grants.inc(grants)
    levels.level_ups.inc(level_ups)
    levels.flushed_rows.inc(grants)
    return generate_latest(registry).decode()


def test_figures_total_the_workers_and_count_only_answers_given_here() -> None:
    texts = [
        _worker_text(rank=3, claimed_elsewhere=5, grants=40, level_ups=2),
        _worker_text(rank=1, claimed_elsewhere=0, grants=2, level_ups=0),
    ]

    figures = feature_figures(texts)

    assert figures == FeatureFigures(
        answered={"rank": 4, "ping": 2}, grants=42, level_ups=2, flushed_rows=42
    )


def test_the_status_shows_the_figures_busiest_command_first() -> None:
    figures = FeatureFigures(answered={"ping": 2, "rank": 4}, grants=1_234, level_ups=5)
    row = StatusRow(
        uptime_s=5.0,
        shards_total=1,
        workers_running=1,
        workers_total=1,
        guilds=None,
        sim=None,
        events_per_s=None,
        registry=None,
        features=figures,
    )

    assert feature_parts(figures) == (
        "1,234 XP grants  5 level-ups  0 rows flushed",
        "/rank 4, /ping 2",
    )
    assert any("1,234 XP grants" in line for line in format_table(row))
    assert "answered: /rank 4, /ping 2" in format_line(row)


def test_no_text_gives_no_answers() -> None:
    assert feature_figures([]) == FeatureFigures(answered={})
    assert feature_parts(FeatureFigures(answered={}))[1] == "-"
