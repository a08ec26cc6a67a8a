"""The Redis identify gate against a real Redis: spacing, order, parallel buckets, crashes.

Each gate has its own Redis client, as each worker process would. Windows are short
(0.15 s); spacing is asserted with 5 ms of slack for Redis's millisecond expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import TYPE_CHECKING, Final

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from shoal.gateway.identifying import RedisIdentifyGate
from shoal.planning.identifying import send_margin_s, waiter_ttl_ms
from shoal.storage.probing import redis_health
from tests.integration.gateway.polling import until_true

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from shoal.storage.redis_keys import RedisKeys
    from tests.fixtures.restartable import RestartableServer

_WINDOW_S: Final = 0.15
_SLACK_S: Final = 0.005
#: Time for a poll and a wake-up on a loaded machine.
_PROMPT_S: Final = 0.08


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[list[Redis]]:
    """Two Redis clients, one per simulated worker process."""
    opened = [Redis.from_url(redis_url) for _ in range(2)]
    try:
        yield opened
    finally:
        for client in opened:
            await client.aclose()


def _gates(clients: list[Redis], keys: RedisKeys, max_concurrency: int) -> list[RedisIdentifyGate]:
    return [
        RedisIdentifyGate(client, keys, max_concurrency=max_concurrency, window_s=_WINDOW_S)
        for client in clients
    ]


async def _identify(
    gate: RedisIdentifyGate, shard_id: int, grants: list[tuple[float, int]]
) -> None:
    await gate.wait_turn(shard_id)
    grants.append((time.monotonic(), shard_id))
    await gate.identifying(shard_id)


async def _identify_all(
    gates: Sequence[RedisIdentifyGate], shards_by_gate: Sequence[Sequence[int]]
) -> list[tuple[float, int]]:
    grants: list[tuple[float, int]] = []
    async with asyncio.timeout(10):
        await asyncio.gather(
            *(
                _identify(gate, shard_id, grants)
                for gate, shard_ids in zip(gates, shards_by_gate, strict=True)
                for shard_id in shard_ids
            )
        )
    return grants


async def test_gate_spaces_identifies_by_a_window_when_two_processes_share_a_bucket(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    gates = _gates(clients, bot_keys, max_concurrency=2)
    grants = await _identify_all(gates, [[0, 4], [2, 6]])  # all in bucket 0
    times = sorted(t for t, _ in grants)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == 4
    assert min(gaps) >= _WINDOW_S - _SLACK_S, gaps


async def test_gate_grants_ascending_shard_ids_when_shards_wait_in_one_bucket(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    # A shard identified just now: every shard below queues before the bucket frees.
    await clients[0].set(bot_keys.identify_bucket(0), "earlier", px=round(_WINDOW_S * 1000))
    gates = _gates(clients, bot_keys, max_concurrency=2)
    grants = await _identify_all(gates, [[6, 2], [4, 0]])
    assert [shard_id for _, shard_id in sorted(grants)] == [0, 2, 4, 6]


async def test_gate_lets_buckets_identify_together_when_shards_are_in_different_buckets(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    gates = _gates(clients, bot_keys, max_concurrency=4)
    started = time.monotonic()
    grants = await _identify_all(gates, [[0, 2], [1, 3]])
    assert sorted(shard_id for _, shard_id in grants) == [0, 1, 2, 3]
    assert max(t for t, _ in grants) - started < _PROMPT_S


async def test_gate_waits_at_most_one_window_when_the_holder_crashed(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    # A holder took the bucket and died before its IDENTIFY: its lock simply lapses.
    await clients[0].set(bot_keys.identify_bucket(1), "0:crashed", px=round(_WINDOW_S * 1000))
    (gate, _) = _gates(clients, bot_keys, max_concurrency=2)
    started = time.monotonic()
    async with asyncio.timeout(5):
        await gate.wait_turn(3)
    waited_s = time.monotonic() - started
    assert _WINDOW_S - _SLACK_S - 0.01 <= waited_s < _WINDOW_S + _PROMPT_S


async def test_gate_drops_a_dead_waiter_when_its_heartbeat_lapses(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    # A process queued shard 0 (ahead of shard 2) and died: it never polls again.
    redis = clients[0]
    seconds, microseconds = await redis.time()
    now_ms = seconds * 1000 + microseconds // 1000
    await redis.zadd(bot_keys.identify_turn(0), {"0:dead": 0})
    await redis.zadd(bot_keys.identify_waiters(0), {"0:dead": now_ms + waiter_ttl_ms(_WINDOW_S)})
    (_, gate) = _gates(clients, bot_keys, max_concurrency=2)
    started = time.monotonic()
    async with asyncio.timeout(5):
        await gate.wait_turn(2)
    assert time.monotonic() - started < waiter_ttl_ms(_WINDOW_S) / 1000 + _PROMPT_S
    assert await redis.zcard(bot_keys.identify_turn(0)) == 0


async def test_gate_leaves_the_queue_when_the_wait_is_cancelled(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    redis = clients[0]
    await redis.set(bot_keys.identify_bucket(0), "other", px=5_000)
    (gate, _) = _gates(clients, bot_keys, max_concurrency=1)
    waiting = asyncio.create_task(gate.wait_turn(0))

    async def is_queued() -> bool:
        return bool(await redis.zcard(bot_keys.identify_turn(0)))

    await until_true(is_queued, "shard 0 queued")
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    assert await redis.zcard(bot_keys.identify_turn(0)) == 0
    assert await redis.zcard(bot_keys.identify_waiters(0)) == 0


async def test_gate_restarts_the_window_with_a_margin_when_the_identify_is_sent(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    redis = clients[0]
    (gate, _) = _gates(clients, bot_keys, max_concurrency=1)
    await gate.wait_turn(0)
    await asyncio.sleep(_WINDOW_S / 2)  # a slow connection between the turn and the send
    await gate.identifying(0)
    remaining_ms = await redis.pttl(bot_keys.identify_bucket(0))
    assert remaining_ms > _WINDOW_S * 1000  # a whole window from the send, and the margin
    assert remaining_ms < (_WINDOW_S + send_margin_s(_WINDOW_S)) * 1000 + 1  # whole ms


async def test_gate_waits_for_a_new_turn_when_the_turn_lapsed_before_the_send(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    redis = clients[0]
    (gate, other) = _gates(clients, bot_keys, max_concurrency=2)
    await gate.wait_turn(0)
    await asyncio.sleep(_WINDOW_S + _SLACK_S)  # the connection took longer than a window
    await other.wait_turn(2)  # same bucket: the lapsed turn went to another shard
    await other.identifying(2)
    started = time.monotonic()
    async with asyncio.timeout(5):
        await gate.identifying(0)
    waited_s = time.monotonic() - started
    assert waited_s >= _WINDOW_S - _SLACK_S  # never inside the other shard's window
    # Its IDENTIFY's window runs from now: the bucket is shut again for a whole window.
    assert await redis.pttl(bot_keys.identify_bucket(0)) > _WINDOW_S * 1000 * 0.8


async def test_gate_keeps_the_bucket_shut_a_window_from_ready_when_the_identify_arrived_late(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    # Shard 0's IDENTIFY left at once but reached Discord late (its READY comes 0.1 s
    # after the send margin): the next shard of the bucket may only go a full window after
    # that READY, or Discord, which times the window from receipt, would answer it with op 9.
    first, second = _gates(clients, bot_keys, max_concurrency=2)
    await first.wait_turn(0)
    await first.identifying(0)
    await asyncio.sleep(send_margin_s(_WINDOW_S) + 0.1)
    ready_at = time.monotonic()
    await first.identified(0)
    async with asyncio.timeout(5):
        await second.wait_turn(2)
    assert time.monotonic() - ready_at >= _WINDOW_S - _SLACK_S


async def test_gate_does_not_hold_the_bucket_longer_when_ready_is_prompt(
    clients: list[Redis], bot_keys: RedisKeys
) -> None:
    first, second = _gates(clients, bot_keys, max_concurrency=2)
    await first.wait_turn(0)
    await first.identifying(0)
    sent_at = time.monotonic()
    await first.identified(0)  # READY at once: the window still runs from the send
    async with asyncio.timeout(5):
        await second.wait_turn(2)
    held_s = time.monotonic() - sent_at
    assert held_s < _WINDOW_S + send_margin_s(_WINDOW_S) + _PROMPT_S


async def test_gate_waits_for_redis_when_it_is_down_while_a_shard_waits_its_turn(
    restartable_redis: RestartableServer, bot_keys: RedisKeys, caplog: pytest.LogCaptureFixture
) -> None:
    client = Redis.from_url(restartable_redis.url, retry=Retry(NoBackoff(), retries=0))
    health = redis_health(None)
    gate = RedisIdentifyGate(client, bot_keys, max_concurrency=1, window_s=_WINDOW_S, health=health)
    try:
        restartable_redis.kill()
        waiting = asyncio.create_task(gate.wait_turn(0))
        await asyncio.sleep(2.5)  # past two polls while down: it waits, it does not raise
        assert not waiting.done()
        restartable_redis.start_again()
        await client.ping()
        health.report_success()  # what the worker's probe does
        async with asyncio.timeout(5):
            await waiting
    finally:
        await client.aclose()
    assert sum("Redis is unreachable" in r.getMessage() for r in caplog.records) == 1
