"""Background jobs declared by features, each run by one worker of the active generation.

A feature declares a :class:`Job` on its module (``Module.jobs``): a name, what to run and
how often. :class:`JobRunner` (one per worker, started by the features' runtime) keeps one
task per job. Only while this worker's generation is active does it try to take the job's
**lease**: a Redis key ``SET NX PX`` holding this worker's owner name and a fencing token
(an ``INCR`` per acquisition, strictly increasing, handed to each run so storage writes can
refuse a stale holder). The holder renews it every third of the lease (compare-and-renew
in Lua) and runs the job every ``every_s``; a worker that is not the holder asks again every
third of the lease, so a dead holder is replaced within one lease and one poll. Losing the
lease (a renewal refused, the generation no longer active) stops further runs at once; a run
in progress is cut off at its ``timeout_s``. A clean :meth:`JobRunner.stop` (SIGTERM) runs
each held job's ``on_stop`` once and releases the lease (compare-and-delete), so the next
worker takes over at its next poll.

When Redis cannot be asked nobody can prove they hold a lease, so no job runs; the outage
is logged once and its end once. A run that raises is logged with its traceback and the
job runs again at its next period.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Final

import redis.exceptions
from prometheus_client import CollectorRegistry, Counter, Gauge

from shoal.observability.metrics import NAMESPACE

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from redis.asyncio import Redis

    from shoal.interactions.gating import GenerationView
    from shoal.storage.redis_keys import RedisKeys

__all__ = ["DEFAULT_LEASE_S", "Job", "JobRun", "JobRunner"]

logger = logging.getLogger(__name__)

DEFAULT_LEASE_S: Final = 10.0
_FEATURE: Final = "jobs"
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_REDIS_ERRORS: Final = (redis.exceptions.RedisError, OSError)


@dataclasses.dataclass(frozen=True, slots=True)
class JobRun:
    """What one run of a job knows."""

    name: str
    """The job."""
    token: int
    """The lease's fencing token: greater for every new holder."""
    started_at: float
    """Unix seconds."""


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """A feature's periodic background work (see the module docstring)."""

    name: str
    """Unique across features: ``feature.job`` (``levels.flush``)."""
    run: Callable[[JobRun], Awaitable[None]]
    """The work of one run."""
    every_s: float
    """Seconds between the end of one run and the start of the next."""
    lease_s: float = DEFAULT_LEASE_S
    """How long a holder that stopped renewing keeps the job from others."""
    timeout_s: float | None = None
    """A run taking longer is cancelled (None: the lease's length)."""
    on_stop: Callable[[JobRun], Awaitable[None]] | None = None
    """Run once by the holder when its worker stops cleanly (a last flush)."""

    def __post_init__(self) -> None:
        """Reject a period or lease that is not positive."""
        if not (self.every_s > 0 and self.lease_s > 0):
            msg = f"job {self.name}: every_s and lease_s must be positive"
            raise ValueError(msg)


class _JobMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter(
            "job_runs",
            "Runs of background jobs on this worker, by job and outcome (ok, error, timeout).",
            ["job", "outcome"],
            namespace=NAMESPACE,
            registry=registry,
        )
        self.held = Gauge(
            "job_leases_held",
            "Whether this worker holds the job's fleet-wide lease (1) or not (0).",
            ["job"],
            namespace=NAMESPACE,
            registry=registry,
        )


@dataclasses.dataclass(slots=True)
class _Held:
    token: int
    value: str


class JobRunner:
    """Runs declared jobs under fleet-wide leases (see the module docstring)."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        owner: str,
        generation: GenerationView,
        jobs: Sequence[Job],
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Run ``jobs`` as ``owner`` while ``generation`` is active."""
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            msg = f"job names must be unique: {names}"
            raise ValueError(msg)
        self._redis = redis
        self._keys = keys
        self._owner = owner
        self._generation = generation
        self._jobs = tuple(jobs)
        self._clock = clock
        self._metrics = _JobMetrics(registry or CollectorRegistry())
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._held: dict[str, _Held] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._redis_down = False

    def lease_key(self, name: str) -> str:
        """The Redis key of a job's lease."""
        return self._keys.feature(_FEATURE, "lease", name)

    def holds(self, name: str) -> bool:
        """Whether this worker holds ``name``'s lease now."""
        return name in self._held

    async def start(self) -> None:
        """Start one task per job."""
        self._tasks = [
            asyncio.create_task(self._loop(job), name=f"job {job.name}") for job in self._jobs
        ]

    async def stop(self) -> None:
        """Stop the tasks, run held jobs' ``on_stop`` once and release their leases."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for job in self._jobs:
            held = self._held.pop(job.name, None)
            if held is None:
                continue
            if job.on_stop is not None:
                await self._run_once(job, held, job.on_stop)
            with contextlib.suppress(*_REDIS_ERRORS):
                await self._release(keys=[self.lease_key(job.name)], args=[held.value])
            self._metrics.held.labels(job.name).set(0)

    async def _loop(self, job: Job) -> None:
        poll_s = job.lease_s / 3
        next_run_s = 0.0
        while True:
            try:
                held = await self._keep_lease(job)
                self._note_redis(up=True)
            except _REDIS_ERRORS as error:
                self._lose(job)
                self._note_redis(up=False, error=error)
                await asyncio.sleep(poll_s)
                continue
            if held is None:
                await asyncio.sleep(poll_s)
                continue
            now_s = time.monotonic()
            if now_s >= next_run_s:
                await self._run_once(job, held, job.run)
                next_run_s = time.monotonic() + job.every_s
            await asyncio.sleep(max(0.0, min(poll_s, next_run_s - time.monotonic())))

    async def _keep_lease(self, job: Job) -> _Held | None:
        """Take or renew the lease; return it when held, None when another has it."""
        key = self.lease_key(job.name)
        lease_ms = int(job.lease_s * 1000)
        held = self._held.get(job.name)
        if not self._generation.is_active:
            if held is not None:
                self._lose(job)
                await self._release(keys=[key], args=[held.value])
            return None
        if held is not None:
            if await self._renew(keys=[key], args=[held.value, lease_ms]):
                return held
            self._lose(job)
            logger.warning("lost the lease of job %s to another worker", job.name)
            return None
        token = int(await self._redis.incr(self._keys.feature(_FEATURE, "token", job.name)))
        value = f"{self._owner}:{token}"
        if not await self._redis.set(key, value, nx=True, px=lease_ms):
            return None
        held = self._held[job.name] = _Held(token=token, value=value)
        self._metrics.held.labels(job.name).set(1)
        logger.info("took the lease of job %s (token %d)", job.name, token)
        return held

    def _lose(self, job: Job) -> None:
        if self._held.pop(job.name, None) is not None:
            self._metrics.held.labels(job.name).set(0)

    async def _run_once(
        self, job: Job, held: _Held, work: Callable[[JobRun], Awaitable[None]]
    ) -> None:
        run = JobRun(name=job.name, token=held.token, started_at=self._clock())
        try:
            await asyncio.wait_for(work(run), job.timeout_s or job.lease_s)
        except TimeoutError:
            self._metrics.runs.labels(job.name, "timeout").inc()
            logger.error(  # noqa: TRY400 - a timeout's traceback says nothing
                "job %s did not finish within %.1f s", job.name, job.timeout_s or job.lease_s
            )
        except Exception:
            self._metrics.runs.labels(job.name, "error").inc()
            logger.exception("job %s failed; it runs again at its next period", job.name)
        else:
            self._metrics.runs.labels(job.name, "ok").inc()

    def _note_redis(self, *, up: bool, error: BaseException | None = None) -> None:
        if up and self._redis_down:
            self._redis_down = False
            logger.info("Redis answers again: background jobs run again")
        elif not up and not self._redis_down:
            self._redis_down = True
            logger.warning(
                "Redis cannot be asked (%s): no background job runs until it is back",
                type(error).__name__,
            )
