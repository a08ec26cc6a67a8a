"""Rate-limit rules and the pure verdict on window usage."""

from __future__ import annotations

import pytest

from shoal.interactions.limits import (
    ALLOWED,
    RateLimitRule,
    RateLimitScope,
    WindowUsage,
    judge,
    subject_of,
)

_USER = RateLimitRule(RateLimitScope.USER, limit=2, window_s=10.0)
_GUILD = RateLimitRule(RateLimitScope.GUILD, limit=5, window_s=60.0)
_GLOBAL = RateLimitRule(RateLimitScope.GLOBAL, limit=100, window_s=1.0)


def test_judge_allows_when_every_window_is_within_its_limit() -> None:
    usages = [WindowUsage(_USER, count=2, ttl_ms=9_000), WindowUsage(_GUILD, 5, 50_000)]
    assert judge(usages) == ALLOWED
    assert judge([]) == ALLOWED


def test_judge_refuses_until_the_window_ends_when_one_limit_is_exceeded() -> None:
    verdict = judge([WindowUsage(_USER, count=3, ttl_ms=4_321), WindowUsage(_GUILD, 1, 59_000)])
    assert verdict.is_limited
    assert verdict.retry_after_s == 4.321
    assert verdict.rule == _USER


def test_judge_waits_for_the_last_exceeded_window_when_several_are_exceeded() -> None:
    verdict = judge([WindowUsage(_USER, 3, 4_000), WindowUsage(_GUILD, 6, 30_000)])
    assert verdict.retry_after_s == 30.0
    assert verdict.rule == _GUILD


def test_judge_waits_a_whole_window_when_the_counter_has_no_expiry() -> None:
    assert judge([WindowUsage(_USER, 3, ttl_ms=-1)]).retry_after_s == 10.0


@pytest.mark.parametrize(
    ("rule", "guild_id", "subject"),
    [(_USER, 10, 7), (_GUILD, 10, 10), (_GUILD, None, None), (_GLOBAL, None, 0)],
)
def test_subject_of_names_the_counted_subject_when_given_a_rule(
    rule: RateLimitRule, guild_id: int | None, subject: int | None
) -> None:
    assert subject_of(rule, user_id=7, guild_id=guild_id) == subject


@pytest.mark.parametrize(("limit", "window_s"), [(0, 1.0), (1, 0.0), (1, float("nan"))])
def test_rule_is_refused_when_its_numbers_are_bad(limit: int, window_s: float) -> None:
    with pytest.raises(ValueError, match="must be at least"):
        RateLimitRule(RateLimitScope.USER, limit=limit, window_s=window_s)


def test_rule_window_ms_is_whole_milliseconds_when_asked() -> None:
    assert RateLimitRule(RateLimitScope.USER, 1, window_s=2.5).window_ms == 2_500
    assert RateLimitRule(RateLimitScope.USER, 1, window_s=0.0014).window_ms == 1
