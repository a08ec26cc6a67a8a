"""Resharding a local fleet: the operator's planner and reshard machine over worker processes.

Every few seconds :class:`ReshardController` does what the operator's reconcile does, with
worker processes in place of StatefulSets: it reads ``GET /gateway/bot`` (the recommended
count, ``max_concurrency`` and the session starts left), the shard registry, records the
guild total into the history and reads it back, reads the fatal-close records of its
workers (``keys.fatal_close(pod)``, as the operator does: a 4011 close grows the count),
asks :func:`shoal.planning.reconciling.decide_reconcile` (the operator's own decision)
for the count and the step of the reshard machine, and carries out its actions:
``RunGeneration`` starts the generation's workers if they do not run
(:class:`shoal.local.workers.WorkerGenerations`), ``ActivateGeneration`` writes the
active-generation key, ``RemoveGeneration`` stops the generation's workers with SIGTERM.
The :class:`~shoal.planning.resharding.ReshardState` lives in memory (a local run ends
with its processes). Each reshard event becomes a status line. Once the active
generation is READY again, the fatal-close records of its workers are deleted (it
recovered), as the operator does.

A step that cannot observe (Discord or Redis unreachable) or act (Redis) is skipped and
said once; its state is not advanced, so the next step replays it, as the operator does.
Does not own any decision (:mod:`shoal.planning`, :mod:`shoal.local.reshards`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Final

import redis.exceptions

from shoal.local.discovering import fetch_gateway_bot
from shoal.local.errors import LocalUpError
from shoal.local.reshards import reshard_line
from shoal.planning.reconciling import (
    PlanningRules,
    decide_reconcile,
    expected_shards,
    fleet_observation,
    growth_policy,
)
from shoal.planning.resharding import ActivateGeneration, RunGeneration
from shoal.planning.sharding import GrowthPolicy, ShardPolicy
from shoal.storage.fatal_closes import clear_fatal_closes, read_fatal_closes
from shoal.storage.shard_registry import read_guild_history, read_registry, record_guild_total

if TYPE_CHECKING:
    from collections.abc import Callable

    import aiohttp
    from redis.asyncio import Redis

    from shoal.local.discovering import GatewayBotInfo
    from shoal.local.workers import WorkerGenerations
    from shoal.planning.reconciling import ReconcileDecision
    from shoal.planning.resharding import ReshardAction, ReshardState, ReshardStep
    from shoal.storage.redis_keys import RedisKeys

__all__ = ["ReshardController", "ReshardSettings"]

logger = logging.getLogger(__name__)

#: The operator's history interval: a sample a minute, so a day of samples spans a day.
_HISTORY_INTERVAL_S: Final = 60.0
#: The operator's default horizon and shrink cooldown (a DiscordBot that sets neither).
_DEFAULT_GROWTH: Final = GrowthPolicy()


def _operator_growth() -> GrowthPolicy:
    """Return the growth rules the operator runs a DiscordBot with by default."""
    return growth_policy(horizon_s=_DEFAULT_GROWTH.horizon_s, cooldown_s=_DEFAULT_GROWTH.cooldown_s)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReshardSettings:
    """How a local run reshards."""

    interval_s: float = 5.0
    """Seconds between steps (the operator's timer)."""
    history_interval_s: float = _HISTORY_INTERVAL_S
    """The guild history gets a sample at most this often, in seconds."""
    fixed_shards: int | None = None
    """A count given with ``--shards``: never changed (the operator's Fixed spec)."""
    policy: ShardPolicy = dataclasses.field(default_factory=ShardPolicy)
    """Density and cap rules (the operator's defaults)."""
    growth: GrowthPolicy = dataclasses.field(default_factory=_operator_growth)
    """Forecast and shrink rules (the operator's defaults)."""

    @property
    def rules(self) -> PlanningRules:
        """The planning rules of the run (what the operator reads from a DiscordBot spec)."""
        return PlanningRules(
            policy=self.policy,
            growth=self.growth,
            fixed_shards=self.fixed_shards,
            fixed_source="--shards",
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _Observed:
    gateway: GatewayBotInfo
    planned: ReconcileDecision
    fatal_pods: list[str]
    """The workers that have a fatal close record."""


class ReshardController:
    """Steps the reshard machine of a local fleet and carries out its actions."""

    def __init__(  # noqa: PLR0913 - its connections, all keyword-only
        self,
        *,
        generations: WorkerGenerations,
        redis_client: Redis,
        keys: RedisKeys,
        http: aiohttp.ClientSession,
        rest_url: str,
        token: str,
        state: ReshardState,
        settings: ReshardSettings,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Reshard the workers of ``generations``, starting from ``state``.

        Args:
            generations: The running worker sets, adopted from the run's first fleet.
            redis_client: The fleet's Redis (decoded responses).
            keys: The bot's key builders.
            http: For ``GET /gateway/bot``.
            rest_url: Discord's (or the simulator's) REST base URL.
            token: The bot token.
            state: Where the fleet stands (the first fleet: STEADY, generation 0).
            settings: The interval and the planning rules.
            say: Writes a status line.
            clock: The unix time (the history and the reshard's timestamps).
        """
        self._generations = generations
        self._redis = redis_client
        self._keys = keys
        self._http = http
        self._rest_url = rest_url
        self._token = token
        self._state = state
        self._fatal_seen: set[str] = set()
        self._settings = settings
        self._say = say
        self._clock = clock
        self._last_problem: str | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.reshards_completed = 0
        """Reshards that completed since the run started."""
        self.has_unclean_stop = False
        """Whether a removed worker stopped with a non-zero status."""

    @property
    def state(self) -> ReshardState:
        """The reshard state after the last step."""
        return self._state

    def start(self) -> None:
        """Step every ``settings.interval_s`` in a background task until :meth:`close`."""
        self._task = asyncio.create_task(self._run(), name="local-resharding")

    async def close(self) -> None:
        """Stop stepping; a step under way (e.g. stopping a generation) finishes first."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):  # a failure was raised by raise_if_failed
                await self._task

    def raise_if_failed(self) -> None:
        """Re-raise the error that ended the background task (a worker that cannot start).

        Raises:
            LocalUpError: what ended it.
        """
        task = self._task
        if task is not None and task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                raise error

    async def _run(self) -> None:
        while not self._stop.is_set():
            await self.step()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.interval_s):
                    await self._stop.wait()

    async def step(self) -> ReshardStep | None:
        """Observe, decide, step and act once; return the step (None: skipped, said why).

        Raises:
            LocalUpError: when a generation's workers cannot be started.
        """
        now = self._clock()
        observed = await self._observe(now)
        if observed is None:
            return None
        step = observed.planned.step
        try:
            for action in step.actions:
                await self._act(action, observed.gateway.max_concurrency)
            active_ready = observed.planned.ready_shards.get(step.state.active_generation, 0)
            # A record is cleared once the active generation is READY on an observation after
            # the one that first saw it: just after a close the registry may still show that
            # shard ready, and the run reads the record when the worker exits (to restart it
            # on 4011, where a missing record would end the run).
            seen_before, self._fatal_seen = self._fatal_seen, set(observed.fatal_pods)
            stale = sorted(seen_before & self._fatal_seen)
            if stale and active_ready >= step.state.active_shards > 0:
                await clear_fatal_closes(self._redis, self._keys, stale)
        except (redis.exceptions.RedisError, OSError) as exc:
            self._problem(f"reshard: a step was not carried out, it will be again: {exc}")
            return None
        self._last_problem = None
        before, self._state = self._state, step.state
        logger.debug("reshard state %s", step.state.to_status())
        for event in step.events:
            if event.reason == "ReshardCompleted":
                self.reshards_completed += 1
            line = reshard_line(
                event,
                before=before,
                after=step.state,
                why=observed.planned.decision.message,
                now=now,
            )
            if event.is_warning:
                self._problem(line)
            else:
                self._say(line)
        return step

    async def _observe(self, now: float) -> _Observed | None:
        try:
            gateway = await fetch_gateway_bot(self._http, self._rest_url, self._token)
        except LocalUpError as exc:
            self._problem(f"reshard: skipped a step: {exc}")
            return None
        except TimeoutError:
            self._problem("reshard: skipped a step: GET /gateway/bot timed out")
            return None
        try:
            entries = await read_registry(self._redis, self._keys)
            total = await record_guild_total(
                self._redis,
                self._keys,
                now=now,
                min_interval_s=self._settings.history_interval_s,
            )
            history = await read_guild_history(self._redis, self._keys)
            shards_of_pod = self._shards_of_workers()
            fatal = await read_fatal_closes(self._redis, self._keys, list(shards_of_pod))
        except (redis.exceptions.RedisError, OSError) as exc:
            self._problem(f"reshard: skipped a step, Redis did not answer: {exc}")
            return None
        observation = fleet_observation(
            gateway,
            guild_total=total,
            history=history,
            entries=entries,
            close_codes={pod: record.code for pod, record in fatal.items()},
            shards_of_pod=shards_of_pod,
            now=now,
        )
        planned = decide_reconcile(self._state, observation, self._settings.rules)
        return _Observed(gateway, planned, list(fatal))

    def _shards_of_workers(self) -> dict[str, int]:
        """Return worker (pod) name -> its generation's shard count, for the state's generations."""
        return {
            worker.name: shards
            for generation, shards in expected_shards(self._state).items()
            for worker in self._generations.workers_of(generation)
        }

    async def _act(self, action: ReshardAction, max_concurrency: int) -> None:
        if isinstance(action, RunGeneration):
            generations = self._generations
            if await generations.run(action.generation, action.shards, max_concurrency):
                workers = generations.workers_of(action.generation)
                self._say(
                    f"Started generation {action.generation}: {action.shards} shards in "
                    f"{len(workers)} workers ({workers[0].name} to {workers[-1].name})"
                )
        elif isinstance(action, ActivateGeneration):
            await self._redis.set(self._keys.active_generation(), action.generation)
        else:
            stopped = await self._generations.remove(action.generation)
            for worker in stopped:
                status = worker.process.returncode
                if status != 0:
                    self.has_unclean_stop = True
                    self._say(f"Worker {worker.name} stopped with status {status}")

    def _problem(self, line: str) -> None:
        """Say ``line`` unless it was the last problem said (a step is retried every tick)."""
        if line != self._last_problem:
            self._last_problem = line
            self._say(line)
