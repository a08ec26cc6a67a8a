"""Claims on interaction ids in a real Redis: the first wins, later ones lose."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from shoal.interactions.claiming import CLAIM_TTL_MS, RedisInteractionClaims

if TYPE_CHECKING:
    import pytest

    from shoal.storage.redis_keys import RedisKeys


async def test_claim_is_won_once_when_two_workers_claim_the_same_interaction(
    redis_client: Redis, keys: RedisKeys
) -> None:
    old = RedisInteractionClaims(redis_client, keys, owner="pod-0/g1")
    new = RedisInteractionClaims(redis_client, keys, owner="pod-0/g2")
    assert await new.claim(1234) is True
    assert await old.claim(1234) is False
    assert await new.claim(1234) is False
    assert await old.claim(1235) is True
    assert await redis_client.get(keys.interaction_claim(1234)) == b"pod-0/g2"
    ttl_ms = await redis_client.pttl(keys.interaction_claim(1234))
    assert CLAIM_TTL_MS - 5_000 < ttl_ms <= CLAIM_TTL_MS


async def test_claim_is_won_when_redis_cannot_be_reached(
    keys: RedisKeys, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = Redis(port=1, retry=Retry(NoBackoff(), retries=0))  # nothing listens on 1
    try:
        claims = RedisInteractionClaims(unreachable, keys, owner="pod-0/g1")
        assert await claims.claim(1234) is True
    finally:
        await unreachable.aclose()
    assert "answering it anyway" in caplog.text
