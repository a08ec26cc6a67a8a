"""Keeping a local fleet's workers running: each that exits on its own is started again.

Plays the kubelet's part for ``shoal local up`` (a simulation of it, see
:mod:`shoal.local.restarts` for the rule): a worker that exits unexpectedly is started
again as the same pod (name, port, settings, log), so its shards RESUME the sessions it
saved; the run is told of each restart, and a crash loop or a fatal exit ends it with the
worker's name and the end of its log. A worker that exits with status 3 (a fatal close)
left a record of the close code in Redis (``keys.fatal_close(pod)``, written by
:func:`shoal.gateway.closing.record_fatal_close`); it is read where that worker wrote it
(its own ``SHOAL_REDIS_URL`` and ``SHOAL_BOT_NAME``), since 4011 is restarted while the
reshard controller grows the fleet and the others end the run. Workers stopped on purpose
(a reshard removing a generation, the end of the run) leave
:class:`~shoal.local.workers.WorkerGenerations` before they are stopped, so they are never
restarted.

Owns the watching, reading the close code of a fatal exit and the restarting. Does not
own when to restart (:mod:`.restarts`) nor how a worker is started (:mod:`.workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from typing import TYPE_CHECKING, Final

import redis.exceptions
from redis.asyncio import Redis

from shoal.config import SettingsError, redis_settings
from shoal.local.errors import LocalUpError
from shoal.local.restarts import EXIT_FATAL_CLOSE, RestartPolicy, exit_text, next_restart
from shoal.local.spawning import log_tail, stop_child
from shoal.local.workers import restart_worker
from shoal.storage.fatal_closes import read_fatal_closes
from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    from collections.abc import Callable

    from shoal.local.workers import WorkerGenerations, WorkerProcess

__all__ = ["WorkerKeeper"]

_POLL_S: Final = 0.1  # how soon an exit is seen; a shard's session outlives seconds
_RECORD_READ_TIMEOUT_S: Final = 2.0  # a Redis that does not answer must not stall the keeper

logger = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class _History:
    quick_exits: int = 0
    restarts: int = 0


class WorkerKeeper:
    """Restarts the workers of ``generations`` that exit on their own, until closed."""

    def __init__(
        self,
        generations: WorkerGenerations,
        say: Callable[[str], None],
        *,
        policy: RestartPolicy | None = None,
        is_count_fixed: bool = False,
    ) -> None:
        """Keep the workers of ``generations`` running, telling the run with ``say``.

        Args:
            generations: The run's worker sets.
            say: Writes a status line.
            policy: The restart delays and the crash-loop threshold.
            is_count_fixed: Whether the person fixed the shard count (``--shards``): a
                4011 close then ends the run, as no reshard can follow it.
        """
        self._generations = generations
        self._say = say
        self._policy = policy or RestartPolicy()
        self._is_count_fixed = is_count_fixed
        self._redis: dict[str, Redis] = {}
        self._history: dict[str, _History] = {}
        self._pending: set[str] = set()
        self._failure: LocalUpError | None = None
        self._task: asyncio.Task[None] | None = None
        self._restarting: set[asyncio.Task[None]] = set()

    @property
    def restarts(self) -> int:
        """How many restarts the run made, over every worker."""
        return sum(history.restarts for history in self._history.values())

    def start(self) -> None:
        """Start watching the workers."""
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="worker-keeper")

    def raise_if_failed(self) -> None:
        """Raise the reason the run must end (a crash loop, a fatal exit), if there is one.

        Raises:
            LocalUpError: naming the worker, with the end of its log.
        """
        if self._failure is not None:
            raise self._failure

    async def close(self) -> None:
        """Stop watching; a restart under way is cancelled (its process, if any, stopped)."""
        tasks = [t for t in (self._task, *self._restarting) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        clients, self._redis = list(self._redis.values()), {}
        for client in clients:
            await client.aclose()

    async def _watch(self) -> None:
        while self._failure is None:
            for worker in self._generations.all_workers():
                if not worker.is_running and worker.name not in self._pending:
                    await self._on_exit(worker)
            await asyncio.sleep(_POLL_S)

    async def _on_exit(self, worker: WorkerProcess) -> None:
        status = worker.process.returncode
        if status is None:  # pragma: no cover - only called for exited workers
            return
        loop = asyncio.get_running_loop()
        ran_s = loop.time() - worker.started_s
        close_code = await self._close_code(worker) if status == EXIT_FATAL_CLOSE else None
        if not any(w is worker for w in self._generations.all_workers()):
            return  # removed while its record was read (a reshard, the end of the run)
        history = self._history.setdefault(worker.name, _History())
        decision = next_restart(
            exit_status=status,
            ran_s=ran_s,
            quick_exits=history.quick_exits,
            close_code=close_code,
            is_count_fixed=self._is_count_fixed,
            policy=self._policy,
        )
        history.quick_exits = decision.quick_exits
        if decision.delay_s is None:
            self._failure = LocalUpError(
                f"worker {worker.name} exited ({exit_text(status)}) and is not restarted: "
                f"{decision.reason}; the end of its log ({worker.log_path}):\n"
                f"{log_tail(worker.log_path)}"
            )
            return
        wait = "" if decision.delay_s == 0 else f" in {decision.delay_s:g} s"
        note = f": {decision.note}" if decision.note else ""
        self._say(
            f"Worker {worker.name} exited ({exit_text(status)}){note}; starting it again{wait} "
            f"(restart {history.restarts + 1}, log: {worker.log_path})"
        )
        self._pending.add(worker.name)
        task = loop.create_task(self._restart(worker, decision.delay_s, history))
        self._restarting.add(task)
        task.add_done_callback(self._restarting.discard)

    async def _close_code(self, worker: WorkerProcess) -> int | None:
        """Return the code of ``worker``'s fatal-close record; None: none, or unreadable."""
        try:
            settings = redis_settings(worker.env)
        except SettingsError:
            return None  # not a worker that records its closes where the run can read them
        client = self._redis.get(settings.url)
        if client is None:
            client = self._redis[settings.url] = Redis.from_url(settings.url)
        keys = RedisKeys(settings.namespace)
        try:
            async with asyncio.timeout(_RECORD_READ_TIMEOUT_S):
                records = await read_fatal_closes(client, keys, [worker.name])
        except (redis.exceptions.RedisError, OSError, TimeoutError) as exc:
            # The run then ends as for any fatal close: the end of the worker's log names it.
            logger.warning(
                "cannot read the fatal close record: %r", exc, extra={"pod": worker.name}
            )
            return None
        record = records.get(worker.name)
        return None if record is None else record.code

    async def _restart(self, worker: WorkerProcess, delay_s: float, history: _History) -> None:
        try:
            await asyncio.sleep(delay_s)
            if not any(w is worker for w in self._generations.all_workers()):
                return  # removed meanwhile (a reshard, the end of the run)
            try:
                new = await restart_worker(worker, self._generations.command)
            except OSError as exc:
                self._failure = LocalUpError(f"cannot start worker {worker.name} again: {exc}")
                return
            if not self._generations.replace(worker, new):
                await stop_child(new.process, signal.SIGTERM)
                return
            history.restarts += 1
        finally:
            self._pending.discard(worker.name)
