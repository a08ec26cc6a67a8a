"""The image pool's settings and metrics (the pool itself: tests/integration/kit)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from shoal.kit.images import ImageMetrics, ImageOutcome, ImagePoolSettings


def test_image_pool_settings_default_to_two_workers_a_2_s_deadline_and_32_mb() -> None:
    settings = ImagePoolSettings()
    assert 1 <= settings.workers <= 2
    assert settings.deadline_s == 2.0
    assert settings.cache_bytes == 32 * 1024 * 1024
    assert settings.start_method in {"forkserver", "spawn"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"workers": 0}, "workers"),
        ({"deadline_s": 0.0}, "deadline_s"),
        ({"deadline_s": float("nan")}, "deadline_s"),
        ({"cache_bytes": -1}, "cache_bytes"),
        ({"start_method": "fork"}, "start_method"),
    ],
)
def test_image_pool_settings_name_the_field_when_a_value_is_refused(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        ImagePoolSettings(**changes)  # type: ignore[arg-type]


def test_image_metrics_are_named_shoal_image_when_registered() -> None:
    registry = CollectorRegistry()
    metrics = ImageMetrics(registry)
    metrics.renders.labels("rank_card", ImageOutcome.CACHED.value).inc()
    metrics.render_seconds.labels("rank_card").observe(0.012)
    value = registry.get_sample_value
    assert value("shoal_image_renders_total", {"kind": "rank_card", "outcome": "cached"}) == 1.0
    assert value("shoal_image_render_seconds_bucket", {"kind": "rank_card", "le": "0.005"}) == 0.0
    assert value("shoal_image_render_seconds_bucket", {"kind": "rank_card", "le": "0.02"}) == 1.0
    assert value("shoal_image_render_seconds_bucket", {"kind": "rank_card", "le": "2.0"}) == 1.0
    assert {outcome.value for outcome in ImageOutcome} == {
        "rendered",
        "cached",
        "timeout",
        "failed",
    }
