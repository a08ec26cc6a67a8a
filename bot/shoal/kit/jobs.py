"""Background jobs a feature declares, each run by exactly one worker of the active generation.

A feature declares :class:`Job` values (periodic, or due-time: "run when the next unban is
due"); the worker's :class:`JobRunner` keeps one asyncio task per job. Every worker tries
to take the job's fleet-wide lease (:class:`~shoal.kit.job_leases.RedisJobLeases`), only
while its generation is the active one; the holder schedules the runs, renews the lease
every third of it and gives it up at once when its generation turns passive or it stops.
The rules (when to renew, when a lease counts as lost, when to run next) are
:mod:`shoal.kit.job_rules`.

What a run in progress sees when the lease goes:

- **lost** (Redis gave it to another worker, or it could not be renewed before it ran
  out, e.g. Redis is down): the run is **cancelled at once**, since another worker may
  be about to run the job, and nothing more is scheduled. ``JobRun.token`` lets storage
  refuse a write from a holder that was too slow to notice (a frozen process).
- **handed over** (the generation turned passive, or :meth:`JobRunner.stop`): the run in
  progress **finishes** (at most ``timeout_s``) while the lease is still renewed, then,
  on stop only, the job's ``on_stop`` runs (a last flush), and the lease is released so
  that the next worker takes over at its next poll.
- **dead** (the process died, or :meth:`JobRunner.run` was cancelled): nothing is
  released; the lease expires within ``lease_s`` and another worker takes over within one
  poll after that.

A run that raises is logged at ERROR with its traceback, counted, and tried again at the
next period (a due-time job backs off, doubling up to ``retry_max_s``); one that outlives
``timeout_s`` is cancelled and counted as ``timeout``. While Redis is down no job runs
anywhere (nobody can prove a lease): Redis's health logs one WARNING and one INFO.

Does not own what a job does (features), nor Redis's key names (``shoal.storage``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import random
import re
import time
from typing import TYPE_CHECKING, Final

from prometheus_client import Counter, Gauge, Histogram

from shoal.kit import job_rules
from shoal.kit.job_leases import CONSEQUENCE, Lease, RedisJobLeases
from shoal.kit.job_rules import HeldLease
from shoal.storage.probing import redis_health

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from prometheus_client import CollectorRegistry
    from redis.asyncio import Redis

    from shoal.interactions.gating import GenerationView
    from shoal.observability.dependencies import DependencyHealth
    from shoal.storage.redis_keys import RedisKeys

__all__ = ["DEFAULT_LEASE_S", "Job", "JobMetrics", "JobOutcome", "JobRun", "JobRunner"]

logger = logging.getLogger(__name__)

DEFAULT_LEASE_S: Final = 10.0
"""A dead holder is replaced within about this; renewals (every third) cost one round trip."""
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_-]*")
#: From a 1 s flush (milliseconds) to a weekly report (minutes).
_RUN_BUCKETS_S: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BUCKETS_LONG_S: Final = (60.0, 300.0, 900.0, 3600.0)


@dataclasses.dataclass(frozen=True, slots=True)
class JobRun:
    """What one run of a job is given."""

    name: str
    """The job's name (``feature.job``)."""
    token: int
    """The lease's fencing token: larger for every later holder, so that storage can
    refuse a write carrying a smaller one than it saw last."""
    started_at_unix_s: float
    """When the run started (Unix seconds, the runner's clock)."""
    _check: Callable[[], Awaitable[bool]] = dataclasses.field(repr=False, compare=False)

    async def still_held(self) -> bool:
        """Return whether this worker still holds the lease (asks Redis; for long runs)."""
        return await self._check()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """A background job: periodic (``every_s``) or due-time (``next_due``), never both."""

    name: str
    """Unique across the bot: ``<feature>.<job>`` (lowercase, digits, ``-`` and ``_``)."""
    run: Callable[[JobRun], Awaitable[None]]
    """One run (cancelled at ``timeout_s``, or at once when the lease is lost)."""
    every_s: float | None = None
    """Periodic: the pause between the end of one run and the start of the next."""
    next_due: Callable[[], Awaitable[float | None]] | None = None
    """Due-time: when the next work is due (Unix s), None when nothing is; asked again
    after each run, at most every ``poll_s``, and when :meth:`JobRunner.wake` is called."""
    poll_s: float = 30.0
    """Due-time: the longest wait before ``next_due`` is asked again."""
    lease_s: float = DEFAULT_LEASE_S
    """How long a lease runs unrenewed: a dead holder is replaced within about this."""
    timeout_s: float = 30.0
    """The longest one run (or ``on_stop``, or ``next_due``) may take."""
    on_stop: Callable[[JobRun], Awaitable[None]] | None = None
    """A last run when this worker stops while it holds the job (e.g. a last flush)."""
    retry_first_s: float = 1.0
    """Due-time: the pause after a failed run, doubled after each further failure..."""
    retry_max_s: float = 60.0
    """...up to this."""

    def __post_init__(self) -> None:
        """Refuse a job that could not be scheduled."""
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"job name must be '<feature>.<job>', got {self.name!r}")
        if (self.every_s is None) == (self.next_due is None):
            raise ValueError(f"job {self.name}: give exactly one of every_s and next_due")
        for field in ("poll_s", "lease_s", "timeout_s", "retry_first_s", "retry_max_s"):
            if not getattr(self, field) > 0:
                raise ValueError(f"job {self.name}: {field} must be positive")
        if self.every_s is not None and not self.every_s > 0:
            raise ValueError(f"job {self.name}: every_s must be positive")


class JobOutcome(enum.StrEnum):
    """Values of the ``outcome`` label of ``shoal_job_runs_total``."""

    OK = "ok"
    """The run returned."""
    ERROR = "error"
    """The run (or ``next_due``) raised; logged at ERROR with its traceback."""
    TIMEOUT = "timeout"
    """The run outlived ``timeout_s`` and was cancelled."""


class JobMetrics:
    """The job runner's metrics, in a registry of the caller's (the worker's)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Create the ``shoal_job_*`` metrics in ``registry``."""
        self.runs: Final = Counter(
            "shoal_job_runs_total",
            "Runs of background jobs on this worker, by outcome.",
            ["job", "outcome"],
            registry=registry,
        )
        self.run_seconds: Final = Histogram(
            "shoal_job_run_seconds",
            "How long runs of background jobs took on this worker.",
            ["job"],
            buckets=(*_RUN_BUCKETS_S, *_BUCKETS_LONG_S),
            registry=registry,
        )
        self.leases_held: Final = Gauge(
            "shoal_job_leases_held",
            "1 while this worker holds the job's lease (runs it), else 0.",
            ["job"],
            registry=registry,
        )


@dataclasses.dataclass(slots=True)
class _Slot:
    """One job's state on this runner."""

    job: Job
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    lease: Lease | None = None
    held: HeldLease | None = None


class JobRunner:
    """Runs every job this worker holds the lease of, one asyncio task per job."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        *,
        owner: str,
        generation: GenerationView,
        jobs: Iterable[Job],
        clock: Callable[[], float] = time.time,
        health: DependencyHealth | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        """Run ``jobs`` for a worker known to the fleet as ``owner`` (pod and generation).

        Args:
            redis: The shared Redis (leases, last runs).
            keys: The bot's key builders.
            owner: Who holds a lease, as stored in it (e.g. ``shoal-3/g1``).
            generation: Whether this worker's generation is active (an attribute read).
            jobs: The jobs, with unique names.
            clock: Unix seconds (due times and last runs are compared across workers).
            health: Redis's health as this process sees it (a private one by default).
            registry: Where ``shoal_job_*`` are recorded (the worker's; None: nowhere).
        """
        self._slots: dict[str, _Slot] = {}
        for job in jobs:
            if job.name in self._slots:
                raise ValueError(f"two jobs are named {job.name}")
            self._slots[job.name] = _Slot(job)
        health = health or redis_health(None, consequence=CONSEQUENCE)
        self._leases = RedisJobLeases(redis, keys, owner=owner, health=health)
        self._generation = generation
        self._clock = clock
        self._metrics = None if registry is None else JobMetrics(registry)
        self._random = random.Random()  # noqa: S311 - poll jitter, not a secret
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._finished = asyncio.Event()
        self._finished.set()  # not running yet

    def holds(self, name: str) -> bool:
        """Return whether this worker holds job ``name``'s lease (as far as it knows)."""
        return self._slots[name].lease is not None

    def wake(self, name: str) -> None:
        """Have due-time job ``name`` ask ``next_due`` now (work was just scheduled here).

        Takes effect only where the job runs; other workers' work is seen within ``poll_s``.
        """
        self._slots[name].wake.set()

    async def run(self) -> None:
        """Run every job until :meth:`stop`; cancelling this instead releases nothing."""
        self._finished.clear()
        try:
            async with asyncio.TaskGroup() as group:
                for slot in self._slots.values():
                    group.create_task(self._keep(slot), name=f"job {slot.job.name}")
        finally:
            self._finished.set()

    async def start(self) -> None:
        """Start :meth:`run` in the background."""
        self._task = asyncio.create_task(self.run(), name="job runner")

    async def stop(self) -> None:
        """Stop cleanly: runs finish, ``on_stop`` runs where held, held leases are released."""
        self._stopping.set()
        for slot in self._slots.values():
            slot.wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        else:  # run() awaited by the caller: wait until it returned
            await self._finished.wait()

    async def _keep(self, slot: _Slot) -> None:
        job = slot.job
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            lease = None
            sent_at_s = loop.time()
            if self._generation.is_active:
                lease = await self._leases.acquire(
                    job.name, lease_s=job.lease_s, timeout_s=_round_trip_s(job)
                )
            if lease is not None and self._stopping.is_set():
                await self._leases.release(lease, timeout_s=_round_trip_s(job))
                return
            if lease is None:
                pause_s = job_rules.poll_every_s(job.lease_s, self._random.random())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause_s)
                continue
            held = HeldLease(
                token=lease.token,
                held_until_s=job_rules.held_until_s(sent_at_s, job.lease_s),
                renewed_at_s=sent_at_s,
            )
            await self._hold(slot, lease, held)

    async def _hold(self, slot: _Slot, lease: Lease, held: HeldLease) -> None:
        job = slot.job
        slot.lease, slot.held = lease, held
        self._set_held(job.name, 1)
        logger.info(
            "job %s: this worker runs it (lease token %d)",
            job.name,
            lease.token,
            extra={"job": job.name, "token": lease.token},
        )
        schedule = asyncio.create_task(self._schedule(slot, lease), name=f"job {job.name} runs")
        try:
            is_kept = await self._keep_renewed(slot, lease, schedule)
        finally:
            if not schedule.done():
                schedule.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await schedule
            slot.lease = slot.held = None
            self._set_held(job.name, 0)
        if is_kept:
            await self._leases.release(lease, timeout_s=_round_trip_s(job))
            logger.info(
                "job %s: lease released (%s)",
                job.name,
                "stopping" if self._stopping.is_set() else "generation passive",
                extra={"job": job.name, "token": lease.token},
            )

    async def _keep_renewed(self, slot: _Slot, lease: Lease, schedule: asyncio.Task[None]) -> bool:
        """Renew until ``schedule`` ends (True) or the lease is lost (False)."""
        job = slot.job
        loop = asyncio.get_running_loop()
        renew_every_s = job_rules.renew_every_s(job.lease_s)
        next_renew_s = loop.time() + renew_every_s
        while True:
            held = slot.held
            assert held is not None  # noqa: S101 - set by _hold for as long as this runs
            wait_s = min(next_renew_s, held.held_until_s) - loop.time()
            await asyncio.wait({schedule}, timeout=max(wait_s, 0.0))
            if schedule.done():
                return True
            now_s = loop.time()
            if job_rules.is_lost(held, now_s):
                logger.info(
                    "job %s: lease could not be renewed in time; stopped running it",
                    job.name,
                    extra={"job": job.name, "token": lease.token},
                )
                return False
            if self._stopping.is_set() or not self._generation.is_active:
                slot.wake.set()  # the schedule hands over after the run in progress
            if now_s < next_renew_s:
                continue
            renewal = await self._leases.renew(
                lease, lease_s=job.lease_s, timeout_s=_round_trip_s(job)
            )
            slot.held = job_rules.after_renewal(held, renewal, sent_at_s=now_s, lease_s=job.lease_s)
            if slot.held is None:
                logger.warning(
                    "job %s: lease taken over or expired before it was renewed; "
                    "the run in progress is cancelled",
                    job.name,
                    extra={"job": job.name, "token": lease.token},
                )
                return False
            next_renew_s = now_s + renew_every_s

    def _is_handing_over(self) -> bool:
        return self._stopping.is_set() or not self._generation.is_active

    async def _schedule(self, slot: _Slot, lease: Lease) -> None:
        job = slot.job
        if job.every_s is not None:
            await self._schedule_periodic(slot, lease, job.every_s)
        else:
            await self._schedule_due(slot, lease)
        if self._stopping.is_set() and job.on_stop is not None:
            await self._run_once(slot, lease, job.on_stop)

    async def _schedule_periodic(self, slot: _Slot, lease: Lease, every_s: float) -> None:
        job = slot.job
        last = await self._leases.last_finished(job.name, timeout_s=_round_trip_s(job))
        run_at = job_rules.first_periodic_run_at_s(last, self._clock(), every_s)
        while not self._is_handing_over():
            wait_s = run_at - self._clock()
            if wait_s > 0:
                await self._sleep(slot, wait_s, is_wakeable=False)
                continue
            await self._run_once(slot, lease, job.run)
            finished = self._clock()
            run_at = job_rules.next_periodic_run_at_s(finished, every_s)
            await self._leases.stamp_finished(
                lease, finished, every_s=every_s, timeout_s=_round_trip_s(job)
            )

    async def _schedule_due(self, slot: _Slot, lease: Lease) -> None:
        job = slot.job
        assert job.next_due is not None  # noqa: S101 - a due-time job (Job checks)
        failures = 0
        while not self._is_handing_over():
            due: float | None = None
            try:
                async with asyncio.timeout(job.timeout_s):
                    due = await job.next_due()
            except Exception:
                logger.exception("job %s: next_due failed", job.name, extra={"job": job.name})
                self._count(job.name, JobOutcome.ERROR)
                failures += 1
            else:
                wait_s = job_rules.due_wait_s(due, self._clock(), job.poll_s)
                if wait_s > 0:
                    await self._sleep(slot, wait_s, is_wakeable=True)
                    continue
                outcome = await self._run_once(slot, lease, job.run)
                failures = 0 if outcome is JobOutcome.OK else failures + 1
            pause_s = job_rules.backoff_s(
                failures, first_s=job.retry_first_s, max_s=job.retry_max_s
            )
            if pause_s > 0:
                await self._sleep(slot, pause_s, is_wakeable=False)

    async def _sleep(self, slot: _Slot, delay_s: float, *, is_wakeable: bool) -> None:
        """Sleep ``delay_s``; sooner on a hand-over, or on :meth:`wake` if ``is_wakeable``."""
        loop = asyncio.get_running_loop()
        until_s = loop.time() + delay_s
        while (left_s := until_s - loop.time()) > 0:
            try:
                await asyncio.wait_for(slot.wake.wait(), left_s)
            except TimeoutError:
                return
            slot.wake.clear()
            if is_wakeable or self._is_handing_over():
                return

    async def _run_once(
        self, slot: _Slot, lease: Lease, callback: Callable[[JobRun], Awaitable[None]]
    ) -> JobOutcome:
        job = slot.job
        run = JobRun(
            name=job.name,
            token=lease.token,
            started_at_unix_s=self._clock(),
            _check=lambda: self._still_held(slot, lease),
        )
        loop = asyncio.get_running_loop()
        started_s = loop.time()
        outcome = JobOutcome.OK
        deadline = asyncio.timeout(job.timeout_s)
        try:
            async with deadline:
                await callback(run)
        except TimeoutError:
            if not deadline.expired():
                outcome = JobOutcome.ERROR
                logger.exception("job %s failed", job.name, extra={"job": job.name})
            else:
                outcome = JobOutcome.TIMEOUT
                logger.error(  # noqa: TRY400 - the traceback is the runner's, not the job's
                    "job %s: run cancelled after its timeout of %s s",
                    job.name,
                    job.timeout_s,
                    extra={"job": job.name},
                )
        except Exception:
            outcome = JobOutcome.ERROR
            logger.exception("job %s failed", job.name, extra={"job": job.name})
        self._count(job.name, outcome)
        if self._metrics is not None:
            self._metrics.run_seconds.labels(job.name).observe(loop.time() - started_s)
        return outcome

    async def _still_held(self, slot: _Slot, lease: Lease) -> bool:
        held = slot.held
        if slot.lease is not lease or held is None:
            return False
        if job_rules.is_lost(held, asyncio.get_running_loop().time()):
            return False
        return await self._leases.is_held(lease, timeout_s=_round_trip_s(slot.job))

    def _count(self, name: str, outcome: JobOutcome) -> None:
        if self._metrics is not None:
            self._metrics.runs.labels(name, outcome.value).inc()

    def _set_held(self, name: str, value: int) -> None:
        if self._metrics is not None:
            self._metrics.leases_held.labels(name).set(value)


def _round_trip_s(job: Job) -> float:
    """The longest wait on one Redis request: a renewal must fit between two renewals."""
    return job_rules.renew_every_s(job.lease_s)
