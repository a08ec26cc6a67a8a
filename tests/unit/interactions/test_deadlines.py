"""Discord's deadlines read from an interaction's id, and dropping expired interactions."""

from __future__ import annotations

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


class _Later:
    """Runs what the filter schedules when the test's clock says it is due."""

    def __init__(self, now_s: list[float]) -> None:
        self._now_s = now_s
        self.delays_s: list[float] = []
        self._due: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay_s: float, write: Callable[[], None]) -> None:
        self.delays_s.append(delay_s)
        self._due.append((self._now_s[0] + delay_s, write))

    def run(self, *, is_forced: bool = False) -> None:
        due = [w for at_s, w in self._due if is_forced or at_s <= self._now_s[0]]
        self._due = [(at_s, w) for at_s, w in self._due if w not in due]
        for write in due:
            write()


def _filter(metrics: Metrics, now_s: list[float], later: _Later) -> ExpiredInteractionFilter:
    return ExpiredInteractionFilter(metrics, clock=lambda: now_s[0], schedule=later)


def test_filter_drops_only_expired_interactions_when_a_backlog_arrives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics, now_s = Metrics(), [_NOW_S]
    later = _Later(now_s)
    keep = _filter(metrics, now_s, later)
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
    assert caplog.records == []  # written a second later, with the count
    assert later.delays_s == [1.0]
    later.run(is_forced=True)
    (warning,) = caplog.records  # one line for the whole backlog
    assert warning.levelname == "WARNING"
    assert "dropped 199 interactions that arrived after" in warning.getMessage()
    assert "the last one a component, 50.2 s old" in warning.getMessage()


def test_filter_logs_at_most_every_ten_seconds_when_drops_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now_s = [_NOW_S]
    later = _Later(now_s)
    keep = _filter(Metrics(), now_s, later)
    for step in range(30):
        now_s[0] = _NOW_S + step
        later.run()
        assert not keep("INTERACTION_CREATE", {"id": str(_snowflake_at(now_s[0] - 5)), "type": 2})
    later.run(is_forced=True)
    counts = [int(r.getMessage().split()[1]) for r in caplog.records]
    assert sum(counts) == 30  # every drop is in some line
    assert len(counts) <= 4  # 30 s of drops: the first line, then one per 10 s
    assert later.delays_s[0] == 1.0
    assert all(delay_s >= 9.0 for delay_s in later.delays_s[1:])
