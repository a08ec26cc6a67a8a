"""Claims on interaction ids in a real Redis: the first wins, later ones lose; an outage."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from shoal.interactions.claiming import CLAIM_TTL_MS, ClaimOutcome, RedisInteractionClaims
from shoal.observability.metrics import Metrics
from shoal.storage.probing import redis_health

if TYPE_CHECKING:
    import pytest

    from shoal.storage.redis_keys import RedisKeys
    from tests.fixtures.restartable import RestartableServer


async def test_claim_is_won_once_when_two_workers_claim_the_same_interaction(
    redis_client: Redis, keys: RedisKeys
) -> None:
    old = RedisInteractionClaims(redis_client, keys, owner="pod-0/g1")
    new = RedisInteractionClaims(redis_client, keys, owner="pod-0/g2")
    assert await new.claim(1234) is ClaimOutcome.WON
    assert await old.claim(1234) is ClaimOutcome.LOST
    assert await new.claim(1234) is ClaimOutcome.LOST
    assert await old.claim(1235) is ClaimOutcome.WON
    assert await redis_client.get(keys.interaction_claim(1234)) == b"pod-0/g2"
    ttl_ms = await redis_client.pttl(keys.interaction_claim(1234))
    assert CLAIM_TTL_MS - 5_000 < ttl_ms <= CLAIM_TTL_MS


async def test_claim_is_unavailable_when_redis_cannot_be_reached(
    keys: RedisKeys, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = Redis(port=1, retry=Retry(NoBackoff(), retries=0))  # nothing listens on 1
    try:
        claims = RedisInteractionClaims(unreachable, keys, owner="pod-0/g1")
        assert await claims.claim(1234) is ClaimOutcome.UNAVAILABLE
    finally:
        await unreachable.aclose()
    assert "Redis is unreachable (claim: ConnectionError" in caplog.text


async def test_claims_log_one_line_and_count_each_claim_when_redis_dies_and_comes_back(
    restartable_redis: RestartableServer, keys: RedisKeys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    metrics = Metrics()
    health = redis_health(metrics)
    client = Redis.from_url(restartable_redis.url, retry=Retry(NoBackoff(), retries=0))
    try:
        claims = RedisInteractionClaims(client, keys, owner="pod-0/g0", health=health)
        assert await claims.claim(1) is ClaimOutcome.WON
        restartable_redis.kill()
        outcomes = [await claims.claim(interaction_id) for interaction_id in range(2, 52)]
        assert set(outcomes) == {ClaimOutcome.UNAVAILABLE}
        assert not health.is_up
        restartable_redis.start_again()
        await client.ping()  # what the probe does
        health.report_success()
        assert await claims.claim(1) is ClaimOutcome.WON  # the restarted Redis is empty
    finally:
        await client.aclose()
    lines = [r for r in caplog.records if r.name.split(".")[0] == "shoal"]
    assert [r.levelname for r in lines] == ["WARNING", "INFO"]
    assert lines[0].exc_info is None  # a known connection failure: no traceback
    assert "50 requests were served without it (claim 50)" in lines[1].getMessage()
    sample = metrics.registry.get_sample_value
    assert (
        sample("shoal_dependency_degraded_total", {"dependency": "redis", "operation": "claim"})
        == 50
    )
    assert sample("shoal_dependency_up", {"dependency": "redis"}) == 1
