"""Rate-limit arithmetic of the simulated REST API, on virtual time."""

from __future__ import annotations

import pytest

from shoal_sim.discord.rest import ratelimiting
from shoal_sim.discord.rest.ratelimiting import BucketTable, RouteLimit, Window, take

_FIVE_PER_FIVE = RouteLimit(5, 5.0)


def test_take_allows_up_to_the_limit_when_requests_share_a_window() -> None:
    window = None
    remaining = []
    for step in range(5):
        verdict = take(window, _FIVE_PER_FIVE, now=100.0 + step * 0.1)
        assert verdict.is_allowed
        remaining.append(verdict.remaining)
        window = verdict.window
    refused = take(window, _FIVE_PER_FIVE, now=101.0)
    assert remaining == [4, 3, 2, 1, 0]
    assert not refused.is_allowed
    assert refused.remaining == 0
    assert refused.reset_after_s == pytest.approx(4.0)


def test_take_counts_reset_after_from_the_first_request_when_the_window_is_open() -> None:
    first = take(None, _FIVE_PER_FIVE, now=10.0)
    second = take(first.window, _FIVE_PER_FIVE, now=12.5)
    assert first.reset_after_s == pytest.approx(5.0)
    assert second.reset_after_s == pytest.approx(2.5)


def test_take_opens_a_new_window_when_the_old_one_has_passed() -> None:
    full = Window(opened_at=0.0, used=5)
    verdict = take(full, _FIVE_PER_FIVE, now=5.0)
    assert verdict.is_allowed
    assert verdict.window == Window(opened_at=5.0, used=1)


def test_take_does_not_count_refusals_when_the_bucket_is_empty() -> None:
    full = Window(opened_at=0.0, used=5)
    refused = take(full, _FIVE_PER_FIVE, now=1.0)
    assert refused.window == full


def test_route_limit_rejects_values_when_no_bucket_could_honour_them() -> None:
    with pytest.raises(ValueError, match="limit"):
        RouteLimit(0, 1.0)
    with pytest.raises(ValueError, match="window_s"):
        RouteLimit(1, 0.0)


def test_bucket_table_keeps_buckets_apart_when_keys_differ() -> None:
    table = BucketTable()
    limit = RouteLimit(1, 1.0)
    assert table.take(("a",), limit, now=0.0).is_allowed
    assert not table.take(("a",), limit, now=0.5).is_allowed
    assert table.take(("b",), limit, now=0.5).is_allowed


def test_bucket_table_forgets_windows_when_they_have_all_reset() -> None:
    table = BucketTable()
    limit = RouteLimit(1, 1.0)
    for key in range(10):
        table.take((key,), limit, now=0.0)
    table.take(("fresh",), limit, now=5.0)
    table.sweep(now=5.0)
    assert len(table) == 1


def test_bucket_hash_is_stable_and_distinct_when_routes_differ() -> None:
    one = ratelimiting.bucket_hash("POST", "/channels/{channel_id}/messages")
    again = ratelimiting.bucket_hash("POST", "/channels/{channel_id}/messages")
    other = ratelimiting.bucket_hash("GET", "/channels/{channel_id}/messages")
    assert one == again != other
    assert len(one) == 32


def test_route_headers_describe_the_bucket_when_a_request_is_counted() -> None:
    verdict = take(None, _FIVE_PER_FIVE, now=0.0)
    headers = ratelimiting.route_headers(verdict, "abc", wall_now=1_000.0)
    assert headers == {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "4",
        "X-RateLimit-Reset": "1005.000",
        "X-RateLimit-Reset-After": "5.000",
        "X-RateLimit-Bucket": "abc",
    }


def test_limited_headers_round_retry_after_up_when_it_is_fractional() -> None:
    refused = take(Window(opened_at=0.0, used=5), _FIVE_PER_FIVE, now=3.7)
    route = ratelimiting.route_limited_headers(refused, "abc", wall_now=0.0)
    scope = ratelimiting.global_limited_headers(0.2)
    assert route["Retry-After"] == "2"
    assert route["X-RateLimit-Scope"] == "user"
    assert scope == {
        "Retry-After": "1",
        "X-RateLimit-Global": "true",
        "X-RateLimit-Scope": "global",
    }


def test_rate_limited_body_has_discords_fields_when_built() -> None:
    body = ratelimiting.rate_limited_body(1.23456, is_global=True)
    assert body == {
        "message": "You are being rate limited.",
        "retry_after": 1.235,
        "global": True,
        "code": 0,
    }


def test_bucket_table_sweeps_by_each_buckets_own_window_when_limits_differ() -> None:
    table = BucketTable()
    table.take(("short",), RouteLimit(1, 1.0), now=0.0)
    table.take(("long",), RouteLimit(1, 60.0), now=0.0)
    table.sweep(now=2.0)
    assert len(table) == 1
    assert not table.take(("long",), RouteLimit(1, 60.0), now=2.0).is_allowed
