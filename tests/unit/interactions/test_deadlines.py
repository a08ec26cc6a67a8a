"""Discord's deadlines read from an interaction's id, and dropping expired interactions."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from shoal.interactions.deadlines import (
    DISCORD_EPOCH_MS,
    age_s,
    created_at_s,
    defer_delay_s,
    is_expired,
    kind_of,
)
from shoal.interactions.expiring import ExpiredInteractionFilter
from shoal.observability.metrics import Metrics

if TYPE_CHECKING:
    from collections.abc import Callable

_NOW_S = 1_800_000_000.0


def _snowflake_at(unix_s: float) -> int:
    return (round(unix_s * 1000) - DISCORD_EPOCH_MS) << 22 | 0x2A


def test_created_at_s_reads_the_timestamp_when_given_a_real_snowflake() -> None:
    # Discord's documented example: 175928847299117063 is 2016-04-30 11:18:25.796 UTC.
    assert created_at_s(175928847299117063) == 1_462_015_105.796


@pytest.mark.parametrize(
    ("age", "expired"), [(0.0, False), (2.999, False), (3.0, True), (70.0, True), (-1.0, False)]
)
def test_is_expired_after_three_seconds_when_aged(age: float, *, expired: bool) -> None:
    snowflake = _snowflake_at(_NOW_S - age)
    assert age_s(snowflake, _NOW_S) == pytest.approx(age, abs=0.001)
    assert is_expired(snowflake, _NOW_S) is expired


@pytest.mark.parametrize(
    ("age", "delay"), [(0.0, 2.0), (0.5, 1.5), (1.99, 0.01), (2.5, 0.0), (-0.3, 2.0)]
)
def test_defer_delay_s_counts_from_creation_when_the_interaction_arrived_late(
    age: float, delay: float
) -> None:
    snowflake = _snowflake_at(_NOW_S - age)
    assert defer_delay_s(snowflake, _NOW_S, defer_after_s=2.0) == pytest.approx(delay, abs=0.002)


def test_kind_of_names_every_interaction_type_when_asked() -> None:
    assert [kind_of(t) for t in (1, 2, 3, 4, 5, 99)] == [
        "ping",
        "command",
        "component",
        "autocomplete",
        "modal",
        "other",
    ]


def _filter(metrics: Metrics, now_s: list[float]) -> Callable[[str, dict[str, object]], bool]:
    return ExpiredInteractionFilter(metrics, clock=lambda: now_s[0])


def test_filter_drops_only_expired_interactions_when_a_backlog_arrives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics, now_s = Metrics(), [_NOW_S]
    keep = _filter(metrics, now_s)
    fresh = {"id": str(_snowflake_at(_NOW_S - 0.2)), "type": 2}
    assert keep("INTERACTION_CREATE", fresh)
    assert keep("MESSAGE_CREATE", {"id": str(_snowflake_at(_NOW_S - 500))})  # not an interaction
    assert keep("INTERACTION_CREATE", {"id": "not a snowflake"})  # hikari reports it
    backlog = [{"id": str(_snowflake_at(_NOW_S - 70 + i * 0.1)), "type": 3} for i in range(199)]
    assert not any(keep("INTERACTION_CREATE", payload) for payload in backlog)
    expired = metrics.registry.get_sample_value(
        "shoal_interactions_expired_total", {"type": "component"}
    )
    assert expired == 199
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # one line for the whole backlog
    assert warnings[0].levelname == "WARNING"
    assert "dropped 1 interaction that arrived after" in warnings[0].getMessage()


def test_filter_logs_again_with_the_count_when_ten_seconds_passed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now_s = [_NOW_S]
    keep = _filter(Metrics(), now_s)
    for step in range(30):
        now_s[0] = _NOW_S + step
        assert not keep("INTERACTION_CREATE", {"id": str(_snowflake_at(now_s[0] - 5)), "type": 2})
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(" that")[0] for m in messages] == [
        "dropped 1 interaction",
        "dropped 10 interactions",
        "dropped 10 interactions",
    ]
