"""Background jobs under fleet-wide leases: one runner at a time, handed over on stop or death."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from shoal.kit.jobs import Job, JobRun, JobRunner

if TYPE_CHECKING:
    from shoal.storage.redis_keys import RedisKeys

_LEASE_S = 0.6


@dataclasses.dataclass
class _View:
    is_active: bool = True

    @property
    def answers_unclaimed(self) -> bool:
        return self.is_active


def _runner(
    redis: Redis, keys: RedisKeys, owner: str, job: Job, view: _View | None = None
) -> JobRunner:
    return JobRunner(redis, keys, owner=owner, generation=view or _View(), jobs=[job])


async def test_one_runner_of_three_runs_a_job_and_another_takes_over_when_it_dies(
    redis_url: str, keys: RedisKeys
) -> None:
    runs: list[tuple[str, int, float, float]] = []

    def job_for(owner: str) -> Job:
        async def work(run: JobRun) -> None:
            started = time.monotonic()
            await asyncio.sleep(0.02)
            runs.append((owner, run.token, started, time.monotonic()))

        return Job(name="test.tick", run=work, every_s=0.05, lease_s=_LEASE_S)

    # One client each, as workers have: a killed worker's half-sent command dies with it.
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    runners = [_runner(clients[i], keys, f"w{i}", job_for(f"w{i}")) for i in range(3)]
    for runner in runners:
        await runner.start()
    await asyncio.sleep(0.6)
    holders = [r for r in runners if r.holds("test.tick")]
    assert len(holders) == 1
    first = holders[0]
    # Death: its task stops without releasing the lease.
    for task in first._tasks:  # noqa: SLF001 - simulate a SIGKILLed worker
        task.cancel()
    died_at = time.monotonic()
    await asyncio.sleep(_LEASE_S * 2.5)
    for runner in runners:
        if runner is not first:
            await runner.stop()
    for client in clients:
        await client.aclose()
    owners = [owner for owner, *_ in runs]
    taken_over = [start for owner, _, start, _ in runs if owner != owners[0]]
    assert len(set(owners)) == 2
    assert taken_over, runs
    assert taken_over[0] - died_at < _LEASE_S + _LEASE_S / 3 + 0.2
    spans = sorted((start, end) for _, _, start, end in runs)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    tokens = [token for _, token, _, _ in runs]
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == 2  # the fencing token grew with the new holder


async def test_a_clean_stop_runs_on_stop_once_and_hands_over_at_once(
    redis_client: Redis, keys: RedisKeys
) -> None:
    stops: list[str] = []
    ran: list[str] = []

    def job_for(owner: str) -> Job:
        async def work(_: JobRun) -> None:
            ran.append(owner)

        async def last(_: JobRun) -> None:
            stops.append(owner)

        return Job(name="test.flush", run=work, every_s=0.05, lease_s=5.0, on_stop=last)

    first = _runner(redis_client, keys, "a", job_for("a"))
    await first.start()
    await asyncio.sleep(0.2)
    second = _runner(redis_client, keys, "b", job_for("b"))
    await second.start()
    await asyncio.sleep(0.2)
    assert set(ran) == {"a"}
    await first.stop()
    await asyncio.sleep(5.0 / 3 + 0.3)  # the next poll, far less than the 5 s lease
    await second.stop()
    assert stops == ["a", "b"]
    assert "b" in ran


async def test_a_passive_generation_never_runs_a_job(redis_client: Redis, keys: RedisKeys) -> None:
    ran: list[int] = []

    async def work(run: JobRun) -> None:
        ran.append(run.token)

    view = _View(is_active=False)
    runner = _runner(
        redis_client, keys, "p", Job(name="test.p", run=work, every_s=0.05, lease_s=0.3), view
    )
    await runner.start()
    await asyncio.sleep(0.5)
    assert ran == []
    view.is_active = True
    await asyncio.sleep(0.5)
    await runner.stop()
    assert ran


async def test_a_failing_run_is_retried_at_the_next_period(
    redis_client: Redis, keys: RedisKeys
) -> None:
    attempts: list[int] = []

    async def work(_: JobRun) -> None:
        attempts.append(1)
        msg = "job bug"
        raise RuntimeError(msg)

    runner = _runner(
        redis_client, keys, "f", Job(name="test.f", run=work, every_s=0.05, lease_s=0.3)
    )
    await runner.start()
    await asyncio.sleep(0.4)
    await runner.stop()
    assert len(attempts) >= 3
