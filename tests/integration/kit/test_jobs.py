"""Background jobs under fleet-wide leases against a real Redis.

One runner at a time, handed over on a clean stop, taken over after a death, nothing
while Redis is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import time
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from shoal.kit.jobs import Job, JobRun, JobRunner

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from shoal.storage.redis_keys import RedisKeys
    from tests.fixtures.restartable import RestartableServer

_LEASE_S = 0.6
_POLL_MAX_S = _LEASE_S / 3 + 0.1 * _LEASE_S  # the longest a non-holder waits between tries
_SLACK_S = 0.15  # scheduling and Redis round trips on a busy test machine


@dataclasses.dataclass
class _View:
    """A generation view the test switches by hand."""

    is_active: bool = True

    @property
    def answers_unclaimed(self) -> bool:
        return self.is_active


@dataclasses.dataclass(frozen=True)
class _Span:
    owner: str
    token: int
    start: float
    end: float


@dataclasses.dataclass
class _Log:
    """Every run of the test's job: who ran it, with which token, from when to when."""

    spans: list[_Span] = dataclasses.field(default_factory=list)
    running: set[str] = dataclasses.field(default_factory=set)

    def work(self, owner: str, duration_s: float = 0.02) -> Callable[[JobRun], Awaitable[None]]:
        async def run(job_run: JobRun) -> None:
            start = time.monotonic()
            self.running.add(owner)
            try:
                await asyncio.sleep(duration_s)
            finally:
                self.running.discard(owner)
                self.spans.append(_Span(owner, job_run.token, start, time.monotonic()))

        return run

    def owners(self) -> list[str]:
        return [span.owner for span in self.spans]

    def assert_never_overlapped(self) -> None:
        ordered = sorted(self.spans, key=lambda span: span.start)
        for before, after in itertools.pairwise(ordered):
            assert before.end <= after.start, (before, after)


@dataclasses.dataclass
class _Worker:
    runner: JobRunner
    task: asyncio.Task[None]
    view: _View
    registry: CollectorRegistry

    def die(self) -> None:
        """Cancel the runner without a clean stop: nothing is released, as in a SIGKILL."""
        self.task.cancel()

    def sample(self, name: str, labels: dict[str, str]) -> float | None:
        return self.registry.get_sample_value(name, labels)


class _Fleet:
    """Workers each with their own Redis connection, as pods have."""

    def __init__(self, url: str, keys: RedisKeys) -> None:
        self._url = url
        self._keys = keys
        self._clients: list[Redis] = []
        self.workers: list[_Worker] = []

    async def start(self, owner: str, *jobs: Job, view: _View | None = None) -> _Worker:
        client = Redis.from_url(self._url, retry=Retry(NoBackoff(), retries=0))
        self._clients.append(client)
        registry = CollectorRegistry()
        view = view or _View()
        runner = JobRunner(
            client, self._keys, owner=owner, generation=view, jobs=jobs, registry=registry
        )
        task = asyncio.create_task(runner.run())
        worker = _Worker(runner, task, view, registry)
        self.workers.append(worker)
        return worker

    async def close(self) -> None:
        for worker in self.workers:
            if not worker.task.done():
                await worker.runner.stop()
                await worker.task
            with contextlib.suppress(asyncio.CancelledError):
                await worker.task
        for client in self._clients:
            await client.aclose()


@pytest.fixture
async def fleet(redis_url: str, keys: RedisKeys) -> AsyncIterator[_Fleet]:
    """Job runners on the session's Redis, stopped and closed after the test."""
    fleet = _Fleet(redis_url, keys)
    try:
        yield fleet
    finally:
        await fleet.close()


async def _until(condition: Callable[[], bool], *, within_s: float) -> float:
    """Wait until ``condition`` holds; return when it did (monotonic), fail after ``within_s``."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within_s} s")
        await asyncio.sleep(0.005)
    return time.monotonic()


def _tick(log: _Log, owner: str, *, every_s: float = 0.1) -> Job:
    return Job(name="test.tick", run=log.work(owner), every_s=every_s, lease_s=_LEASE_S)


async def test_runner_runs_a_job_on_one_worker_at_the_period_when_three_compete(
    fleet: _Fleet,
) -> None:
    log = _Log()
    workers = [await fleet.start(f"w{i}", _tick(log, f"w{i}")) for i in range(3)]
    await asyncio.sleep(1.5)
    assert [w.runner.holds("test.tick") for w in workers].count(True) == 1
    assert len(set(log.owners())) == 1
    log.assert_never_overlapped()
    starts = [span.start for span in log.spans]
    gaps = [b.start - a.end for a, b in itertools.pairwise(log.spans)]
    assert len(starts) >= 10  # 1.5 s at one run per ~0.12 s
    assert all(0.09 <= gap <= 0.1 + _SLACK_S for gap in gaps), gaps
    holder = next(w for w in workers if w.runner.holds("test.tick"))
    assert holder.sample("shoal_job_leases_held", {"job": "test.tick"}) == 1
    assert holder.sample("shoal_job_runs_total", {"job": "test.tick", "outcome": "ok"}) == len(
        log.spans
    )


async def test_runner_takes_over_within_a_lease_and_a_poll_when_the_holder_dies(
    fleet: _Fleet,
) -> None:
    log = _Log()
    workers = [await fleet.start(f"w{i}", _tick(log, f"w{i}")) for i in range(3)]
    await _until(lambda: len(log.spans) >= 2, within_s=2.0)
    holder = next(w for w in workers if w.runner.holds("test.tick"))
    holder.die()
    died_at = time.monotonic()
    dead = log.owners()[-1]
    taken_over_at = await _until(
        lambda: any(s.owner != dead for s in log.spans), within_s=_LEASE_S * 3
    )
    assert taken_over_at - died_at < _LEASE_S + _POLL_MAX_S + _SLACK_S
    log.assert_never_overlapped()
    tokens = [span.token for span in log.spans]
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == 2  # the new holder's token is greater


async def test_runner_cancels_the_run_at_once_when_another_worker_took_the_lease(
    fleet: _Fleet, redis_client: Redis, keys: RedisKeys, caplog: pytest.LogCaptureFixture
) -> None:
    log = _Log()
    job = Job(name="test.long", run=log.work("a", 10.0), every_s=0.1, lease_s=_LEASE_S)
    worker = await fleet.start("a", dataclasses.replace(job, timeout_s=20.0))
    await _until(lambda: "a" in log.running, within_s=2.0)
    await redis_client.set(keys.feature("jobs", "lease", "test.long"), "intruder|1")
    stolen_at = time.monotonic()
    cancelled_at = await _until(lambda: bool(log.spans), within_s=2.0)
    assert cancelled_at - stolen_at < _LEASE_S / 3 + _SLACK_S
    assert not worker.runner.holds("test.long")
    assert "lease taken over or expired" in caplog.text


async def test_runner_keeps_the_lease_through_a_run_longer_than_the_lease_when_renewing(
    fleet: _Fleet,
) -> None:
    log = _Log()
    for owner in ("a", "b"):
        job = Job(name="test.slow", run=log.work(owner, 1.5), every_s=0.05, lease_s=_LEASE_S)
        await fleet.start(owner, job)
    await _until(lambda: len(log.spans) >= 2, within_s=5.0)
    assert len(set(log.owners())) == 1
    log.assert_never_overlapped()


async def test_runner_hands_over_at_once_and_runs_on_stop_once_when_stopped_cleanly(
    fleet: _Fleet,
) -> None:
    lease_s = 3.0  # far longer than a poll: a takeover in time proves the release
    log = _Log()
    stops: list[str] = []

    def flush(owner: str) -> Job:
        async def last(_: JobRun) -> None:
            stops.append(owner)

        return Job(
            name="test.flush", run=log.work(owner), every_s=0.05, lease_s=lease_s, on_stop=last
        )

    first = await fleet.start("a", flush("a"))
    await _until(lambda: first.runner.holds("test.flush"), within_s=1.0)
    await fleet.start("b", flush("b"))
    await asyncio.sleep(0.3)
    await first.runner.stop()
    stopped_at = time.monotonic()
    assert stops == ["a"]
    assert first.sample("shoal_job_leases_held", {"job": "test.flush"}) == 0
    taken_at = await _until(lambda: "b" in log.owners(), within_s=lease_s)
    assert taken_at - stopped_at < lease_s / 3 + 0.1 * lease_s + _SLACK_S
    assert stops == ["a"]
    log.assert_never_overlapped()


async def test_runner_never_runs_a_job_when_its_generation_is_passive(
    fleet: _Fleet, redis_client: Redis, keys: RedisKeys
) -> None:
    log = _Log()
    passive = await fleet.start("p", _tick(log, "p"), view=_View(is_active=False))
    await asyncio.sleep(1.0)
    assert log.spans == []
    assert await redis_client.exists(keys.feature("jobs", "lease", "test.tick")) == 0
    passive.view.is_active = True
    await _until(lambda: bool(log.spans), within_s=1.0)


async def test_runner_releases_to_the_active_generation_when_its_own_turns_passive(
    fleet: _Fleet,
) -> None:
    log = _Log()
    old = await fleet.start("old", _tick(log, "old"))
    await _until(lambda: bool(log.spans), within_s=1.0)
    new = await fleet.start("new", _tick(log, "new"), view=_View(is_active=False))
    await asyncio.sleep(0.3)
    old.view.is_active, new.view.is_active = False, True
    switched_at = time.monotonic()
    taken_at = await _until(lambda: "new" in log.owners(), within_s=2.0)
    assert taken_at - switched_at < _LEASE_S / 3 + _POLL_MAX_S + _SLACK_S
    assert not old.runner.holds("test.tick")
    log.assert_never_overlapped()


async def test_runner_keeps_the_period_when_another_worker_takes_over(fleet: _Fleet) -> None:
    log = _Log()
    first = await fleet.start("a", _tick(log, "a", every_s=1.0))
    await _until(lambda: bool(log.spans), within_s=1.0)
    await first.runner.stop()
    await fleet.start("b", _tick(log, "b", every_s=1.0))
    await _until(lambda: "b" in log.owners(), within_s=2.0)
    a_end, b_start = log.spans[0].end, log.spans[1].start
    assert b_start - a_end >= 0.95  # not at once: "a" ran it less than a period ago


async def test_fencing_tokens_increase_across_takeovers_and_a_lost_counter(
    fleet: _Fleet, redis_client: Redis, keys: RedisKeys
) -> None:
    log = _Log()
    for round_ in range(4):
        if round_ == 2:  # as if Redis restarted without its data
            await redis_client.delete(keys.feature("jobs", "fence", "test.tick"))
        worker = await fleet.start(f"w{round_}", _tick(log, f"w{round_}"))

        def seen_all(owners: int = round_ + 1) -> bool:
            return len(set(log.owners())) == owners

        await _until(seen_all, within_s=2.0)
        await worker.runner.stop()
    firsts = [next(s.token for s in log.spans if s.owner == f"w{i}") for i in range(4)]
    assert all(a < b for a, b in itertools.pairwise(firsts)), firsts


async def test_due_time_job_runs_within_100_ms_of_its_due_time_and_sooner_when_woken(
    fleet: _Fleet,
) -> None:
    due: list[float] = []
    late_s: list[float] = []

    async def next_due() -> float | None:
        return min(due, default=None)

    async def run(job_run: JobRun) -> None:
        for at in [at for at in due if at <= job_run.started_at_unix_s]:
            due.remove(at)
            late_s.append(time.time() - at)

    job = Job(name="test.unban", run=run, next_due=next_due, poll_s=5.0, lease_s=_LEASE_S)
    worker = await fleet.start("a", job)
    await _until(lambda: worker.runner.holds("test.unban"), within_s=1.0)
    await asyncio.sleep(0.1)  # it asked: nothing is due, so it sleeps poll_s (5 s)
    due.append(time.time() + 0.2)
    worker.runner.wake("test.unban")
    await _until(lambda: len(late_s) == 1, within_s=1.0)
    assert 0.0 <= late_s[0] < 0.1
    due.append(time.time() + 0.4)  # no wake: it still sleeps until the due time it knew
    await asyncio.sleep(0.05)
    worker.runner.wake("test.unban")
    await _until(lambda: len(late_s) == 2, within_s=1.0)
    assert 0.0 <= late_s[1] < 0.1


async def test_failing_job_is_retried_and_counted_when_it_keeps_raising(
    fleet: _Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[float] = []

    async def broken(_: JobRun) -> None:
        attempts.append(time.monotonic())
        msg = "job bug"
        raise RuntimeError(msg)

    job = Job(name="test.broken", run=broken, every_s=0.05, lease_s=_LEASE_S)
    worker = await fleet.start("a", job)
    await _until(lambda: len(attempts) >= 5, within_s=2.0)
    assert worker.runner.holds("test.broken")
    errors = [
        r for r in caplog.records if r.levelno == logging.ERROR and r.name == "shoal.kit.jobs"
    ]
    assert errors
    assert "test.broken" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    failed = worker.sample("shoal_job_runs_total", {"job": "test.broken", "outcome": "error"})
    assert failed is not None
    assert failed >= 5


async def test_due_time_job_backs_off_doubling_to_its_cap_when_it_keeps_raising(
    fleet: _Fleet,
) -> None:
    attempts: list[float] = []

    async def due_now() -> float:
        return time.time()

    async def broken(_: JobRun) -> None:
        attempts.append(time.monotonic())
        msg = "job bug"
        raise RuntimeError(msg)

    job = Job(
        name="test.retry",
        run=broken,
        next_due=due_now,
        lease_s=_LEASE_S,
        retry_first_s=0.1,
        retry_max_s=0.2,
    )
    await fleet.start("a", job)
    await _until(lambda: len(attempts) >= 4, within_s=3.0)
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert 0.1 <= gaps[0] < 0.1 + _SLACK_S
    assert 0.2 <= gaps[1] < 0.2 + _SLACK_S
    assert 0.2 <= gaps[2] < 0.2 + _SLACK_S  # capped


async def test_timed_out_run_is_cancelled_and_counted_when_it_outlives_timeout_s(
    fleet: _Fleet,
) -> None:
    log = _Log()
    job = Job(name="test.stuck", run=log.work("a", 10.0), every_s=0.05, timeout_s=0.1)
    worker = await fleet.start("a", job)
    await _until(lambda: len(log.spans) >= 2, within_s=2.0)
    assert all(span.end - span.start < 0.1 + _SLACK_S for span in log.spans)
    timeouts = worker.sample("shoal_job_runs_total", {"job": "test.stuck", "outcome": "timeout"})
    assert timeouts is not None
    assert timeouts >= 2


async def test_runner_runs_nothing_while_redis_is_down_and_resumes_when_it_is_back(
    restartable_redis: RestartableServer, keys: RedisKeys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fleet = _Fleet(restartable_redis.url, keys)
    log = _Log()
    try:
        for owner in ("a", "b"):
            await fleet.start(owner, _tick(log, owner))
        await _until(lambda: len(log.spans) >= 2, within_s=2.0)
        token_before = log.spans[-1].token
        restartable_redis.kill()
        killed_at = time.monotonic()
        await asyncio.sleep(1.5)
        # The holder cannot know at once: it stops when its lease would run out.
        late = [s for s in log.spans if s.start > killed_at + _LEASE_S]
        assert late == []
        assert not any(w.runner.holds("test.tick") for w in fleet.workers)
        restartable_redis.start_again()
        back_at = time.monotonic()
        await _until(lambda: any(s.start > back_at for s in log.spans), within_s=3.0)
        assert log.spans[-1].token > token_before  # the restarted Redis lost the counter
        await asyncio.sleep(_POLL_MAX_S + _SLACK_S)  # the other worker asked again too
        log.assert_never_overlapped()
    finally:
        await fleet.close()
    lines = [r for r in caplog.records if r.name.startswith("shoal") and r.levelno >= logging.INFO]
    warnings = [r.getMessage() for r in lines if r.levelno >= logging.WARNING]
    back = [r.getMessage() for r in lines if "reachable again" in r.getMessage()]
    # One private health per worker: one line down and one back per worker, no more.
    assert len(warnings) == 2, warnings
    assert all("Redis is unreachable" in w for w in warnings)
    assert len(back) == 2, back
