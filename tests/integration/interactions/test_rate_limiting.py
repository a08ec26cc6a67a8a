"""Rate-limit windows in a real Redis: counting, refusing, scopes and window ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from shoal.interactions.limits import RateLimitRule, RateLimitScope
from shoal.interactions.rate_limiting import RedisRateLimiter

if TYPE_CHECKING:
    import pytest

    from shoal.storage.redis_keys import RedisKeys

_PER_USER = RateLimitRule(RateLimitScope.USER, limit=2, window_s=30.0)
_PER_GUILD = RateLimitRule(RateLimitScope.GUILD, limit=3, window_s=60.0)


async def test_check_refuses_the_third_use_when_a_user_may_use_it_twice(
    redis_client: Redis, keys: RedisKeys
) -> None:
    limiter = RedisRateLimiter(redis_client, keys)
    verdicts = [
        await limiter.check(command="ping", user_id=1, guild_id=10, rules=[_PER_USER])
        for _ in range(3)
    ]
    assert [v.is_limited for v in verdicts] == [False, False, True]
    assert 29.0 < verdicts[2].retry_after_s <= 30.0
    assert verdicts[2].rule == _PER_USER
    other = await limiter.check(command="ping", user_id=2, guild_id=10, rules=[_PER_USER])
    other_command = await limiter.check(command="shard", user_id=1, guild_id=10, rules=[_PER_USER])
    assert not other.is_limited
    assert not other_command.is_limited


async def test_check_counts_the_guild_across_users_when_a_guild_rule_applies(
    redis_client: Redis, keys: RedisKeys
) -> None:
    limiter = RedisRateLimiter(redis_client, keys)
    rules = [_PER_USER, _PER_GUILD]
    verdicts = [
        await limiter.check(command="ping", user_id=user, guild_id=10, rules=rules)
        for user in (1, 2, 3, 4)
    ]
    assert [v.is_limited for v in verdicts] == [False, False, False, True]
    assert verdicts[3].rule == _PER_GUILD
    dm = await limiter.check(command="ping", user_id=5, guild_id=None, rules=rules)
    assert not dm.is_limited


async def test_check_allows_again_when_the_window_has_ended(
    redis_client: Redis, keys: RedisKeys
) -> None:
    limiter = RedisRateLimiter(redis_client, keys)
    rule = RateLimitRule(RateLimitScope.GLOBAL, limit=1, window_s=60.0)
    assert not (await limiter.check(command="x", user_id=1, guild_id=None, rules=[rule])).is_limited
    assert (await limiter.check(command="x", user_id=2, guild_id=None, rules=[rule])).is_limited
    await redis_client.delete(keys.rate_limit("global", 0, "x"))  # the window expiring
    assert not (await limiter.check(command="x", user_id=3, guild_id=None, rules=[rule])).is_limited


async def test_check_allows_when_redis_cannot_be_reached(
    keys: RedisKeys, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = Redis(port=1, retry=Retry(NoBackoff(), retries=0))  # nothing listens on 1
    try:
        limiter = RedisRateLimiter(unreachable, keys)
        verdict = await limiter.check(command="ping", user_id=1, guild_id=2, rules=[_PER_USER])
    finally:
        await unreachable.aclose()
    assert not verdict.is_limited
    assert "Redis is unreachable (rate_limit: ConnectionError" in caplog.text
