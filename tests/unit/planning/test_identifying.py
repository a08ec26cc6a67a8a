"""Timing of the identify gate: poll delays, waiter heartbeats, the cold boot bound."""

from __future__ import annotations

import pytest

from shoal.planning.identifying import (
    cold_boot_bound_s,
    max_poll_s,
    retry_delay_s,
    send_margin_s,
    waiter_ttl_ms,
)


@pytest.mark.parametrize(("window_s", "expected_s"), [(0.2, 0.1), (1.0, 0.5), (5.0, 1.0)])
def test_max_poll_s_is_half_a_window_capped_at_one_second_when_windows_differ(
    window_s: float, expected_s: float
) -> None:
    assert max_poll_s(window_s) == pytest.approx(expected_s)


@pytest.mark.parametrize("window_s", [0.0, -1.0])
def test_max_poll_s_raises_when_the_window_is_not_positive(window_s: float) -> None:
    with pytest.raises(ValueError, match="window_s"):
        max_poll_s(window_s)


@pytest.mark.parametrize("window_s", [0.05, 0.3, 5.0, 60.0])
def test_waiter_ttl_ms_outlasts_several_polls_when_any_window(window_s: float) -> None:
    ttl_ms = waiter_ttl_ms(window_s)
    assert ttl_ms >= 3 * max_poll_s(window_s) * 1000
    assert ttl_ms <= 3 * max_poll_s(window_s) * 1000 + 1000


def test_retry_delay_s_wakes_as_the_lock_lapses_when_it_lapses_within_a_poll() -> None:
    assert retry_delay_s(lock_ttl_ms=120, window_s=5.0) == pytest.approx(0.121)


def test_retry_delay_s_renews_the_heartbeat_when_the_lock_lapses_later() -> None:
    assert retry_delay_s(lock_ttl_ms=4_000, window_s=5.0) == pytest.approx(1.0)


def test_retry_delay_s_polls_briefly_when_the_bucket_is_free_but_another_is_first() -> None:
    assert retry_delay_s(lock_ttl_ms=-2, window_s=5.0) == pytest.approx(0.02)
    assert retry_delay_s(lock_ttl_ms=-2, window_s=0.02) == pytest.approx(0.01)


def test_retry_delay_s_polls_slowly_when_the_lock_never_expires() -> None:
    assert retry_delay_s(lock_ttl_ms=-1, window_s=5.0) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("shards", "max_concurrency", "window_s", "expected_s"),
    [(12, 2, 0.3, 1.8), (64, 1, 5.0, 320.0), (64, 16, 5.0, 20.0), (5, 2, 1.0, 3.0), (0, 1, 5.0, 0)],
)
def test_cold_boot_bound_s_counts_whole_windows_when_shards_fill_buckets_unevenly(
    shards: int, max_concurrency: int, window_s: float, expected_s: float
) -> None:
    assert cold_boot_bound_s(shards, max_concurrency, window_s) == pytest.approx(expected_s)


def test_cold_boot_bound_s_raises_when_max_concurrency_is_below_one() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        cold_boot_bound_s(4, 0, 5.0)


@pytest.mark.parametrize(
    ("window_s", "expected_s"), [(0.2, 0.01), (1.0, 0.05), (5.0, 0.25), (60.0, 0.25)]
)
def test_send_margin_s_is_five_percent_of_the_window_capped_at_250_ms_when_windows_differ(
    window_s: float, expected_s: float
) -> None:
    assert send_margin_s(window_s) == pytest.approx(expected_s)
