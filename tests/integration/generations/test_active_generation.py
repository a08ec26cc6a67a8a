"""The active-generation watcher and event claims against a real Redis."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from shoal.interactions.generations import (
    ActiveGeneration,
    RedisEventClaims,
    watching_active_generation,
)

if TYPE_CHECKING:
    from shoal.storage.redis_keys import RedisKeys


async def test_watcher_makes_generation_0_active_when_the_key_was_never_set(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    async with (
        watching_active_generation(redis_client, bot_keys, generation=0) as first,
        watching_active_generation(redis_client, bot_keys, generation=1) as second,
    ):
        assert (first.active, first.is_active) == (0, True)
        assert (second.active, second.is_active) == (0, False)


async def test_watcher_is_passive_until_its_first_read_when_not_started(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    watcher = ActiveGeneration(redis_client, bot_keys, generation=0)
    assert (watcher.active, watcher.is_active) == (None, False)
    await watcher.refresh()
    assert watcher.is_active


async def test_watcher_keeps_its_last_view_when_the_key_turns_unreadable(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    await redis_client.set(bot_keys.active_generation(), 1)
    watcher = ActiveGeneration(redis_client, bot_keys, generation=1)
    await watcher.refresh()
    assert watcher.is_active
    await redis_client.set(bot_keys.active_generation(), "garbage")
    await watcher.refresh()
    assert (watcher.active, watcher.is_active) == (1, True)


async def test_watcher_keeps_its_last_view_when_redis_is_unreachable(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    await redis_client.set(bot_keys.active_generation(), 1)
    watcher = ActiveGeneration(redis_client, bot_keys, generation=1)
    await watcher.refresh()
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        cut_off = ActiveGeneration(unreachable, bot_keys, generation=1)
        cut_off.active, cut_off.is_active = watcher.active, watcher.is_active
        await cut_off.refresh()
        assert (cut_off.active, cut_off.is_active) == (1, True)
    finally:
        await unreachable.aclose()


async def test_watcher_answers_unclaimed_only_two_refreshes_after_a_switch_to_it(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    await redis_client.set(bot_keys.active_generation(), 0)
    new = ActiveGeneration(redis_client, bot_keys, generation=1, refresh_s=0.1)
    first_sight = ActiveGeneration(redis_client, bot_keys, generation=0, refresh_s=0.1)
    await new.refresh()
    await first_sight.refresh()
    assert (new.is_active, new.answers_unclaimed) == (False, False)
    assert first_sight.answers_unclaimed  # active from its first read: nothing to hand over
    await redis_client.set(bot_keys.active_generation(), 1)
    await new.refresh()
    assert (new.is_active, new.answers_unclaimed) == (True, False)  # the old may not know yet
    await asyncio.sleep(0.25)
    await new.refresh()
    assert new.answers_unclaimed
    await redis_client.set(bot_keys.active_generation(), 0)
    await new.refresh()
    assert (new.is_active, new.answers_unclaimed) == (False, False)


async def test_claim_event_is_won_once_when_two_generations_claim_the_same_event(
    redis_client: Redis, bot_keys: RedisKeys
) -> None:
    old = RedisEventClaims(redis_client, bot_keys, owner="pod-a/g0")
    new = RedisEventClaims(redis_client, bot_keys, owner="pod-b/g1")
    assert await old.claim_event("xp", 42)
    assert not await new.claim_event("xp", 42)
    assert await new.claim_event("message-log", 42)  # another side effect of the same event
    assert await redis_client.get(bot_keys.event_claim("xp", 42)) == b"pod-a/g0"
    assert 0 < await redis_client.pttl(bot_keys.event_claim("xp", 42)) <= 15 * 60 * 1000
