"""The worker processes of a local fleet: one per shard range, like the pods of a StatefulSet.

Owns starting each worker with its ``SHOAL_*`` environment (:func:`shoal.local.plans.
worker_environment`), a free loopback port for its health and metrics server and a log file,
and stopping them all with SIGTERM (a worker then closes its shards resumably), SIGKILL for
any that outlives the grace period; and :class:`WorkerGenerations`, the worker sets of each
generation of a fleet (its StatefulSets), which a reshard starts and removes. Does not own
what a worker does (``shoal worker``) nor when a generation runs (:mod:`shoal.local.
resharding`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from typing import TYPE_CHECKING, Final

from shoal.local.errors import LocalUpError
from shoal.local.plans import generation_layout, worker_environment
from shoal.local.spawning import child_environment, free_loopback_port, start_child, stop_child

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from shoal.local.plans import FleetLayout, FleetTargets
    from shoal.planning.shards import ShardRange

__all__ = [
    "WorkerGenerations",
    "WorkerProcess",
    "restart_worker",
    "start_workers",
    "stop_workers",
]

#: Kubernetes' default termination grace period: a worker gets as long locally as in a pod.
_STOP_GRACE_S: Final = 30.0


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerProcess:
    """One started worker."""

    name: str
    """Its pod name, ``local-<ordinal>``."""
    shards: ShardRange
    """The shards it runs."""
    http_port: int
    """Its health and metrics port on 127.0.0.1."""
    log_path: Path
    """Its output."""
    process: asyncio.subprocess.Process
    """The running program."""
    env: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    """Its ``SHOAL_*`` settings, given again when it is restarted."""
    started_s: float = 0.0
    """When it was last started (the event loop's clock)."""
    restarts: int = 0
    """How many times it was started again after exiting on its own."""

    @property
    def is_running(self) -> bool:
        """Whether the process is still running."""
        return self.process.returncode is None


async def start_workers(
    layout: FleetLayout,
    targets: FleetTargets,
    command: Sequence[str],
    log_dir: Path,
    *,
    generation: int = 0,
) -> list[WorkerProcess]:
    """Start one worker of ``generation`` per shard range of ``layout``, in ordinal order.

    Raises:
        LocalUpError: when ``command`` cannot be started (the ones started are stopped).
    """
    workers: list[WorkerProcess] = []
    for ordinal in range(layout.workers):
        port = free_loopback_port()
        env = worker_environment(layout, ordinal, targets, http_port=port, generation=generation)
        stem = f"worker-{ordinal}" if generation == 0 else f"worker-g{generation}-{ordinal}"
        log_path = log_dir / f"{stem}.log"
        try:
            process = await start_child(command, log_path=log_path, env=child_environment(env))
        except OSError as exc:
            await stop_workers(workers)
            raise LocalUpError(f"cannot start the worker command {command[0]!r}: {exc}") from exc
        name = env["SHOAL_POD_NAME"]
        workers.append(
            WorkerProcess(
                name,
                layout.shard_range(ordinal),
                port,
                log_path,
                process,
                env=env,
                started_s=asyncio.get_running_loop().time(),
            )
        )
    return workers


async def restart_worker(worker: WorkerProcess, command: Sequence[str]) -> WorkerProcess:
    """Start ``worker`` again as it was (same pod name, port, settings and log), like a pod.

    A line in its log marks where the new run starts.

    Raises:
        OSError: when the command cannot be started.
    """
    with worker.log_path.open("a") as log:
        log.write(
            f"---- shoal local up: {worker.name} started again "
            f"(restart {worker.restarts + 1}) ----\n"
        )
    process = await start_child(
        command, log_path=worker.log_path, env=child_environment(worker.env)
    )
    return dataclasses.replace(
        worker,
        process=process,
        started_s=asyncio.get_running_loop().time(),
        restarts=worker.restarts + 1,
    )


async def stop_workers(workers: Sequence[WorkerProcess]) -> None:
    """Send every worker SIGTERM at once and wait for them (SIGKILL after the grace period)."""
    await asyncio.gather(
        *(stop_child(w.process, signal.SIGTERM, timeout_s=_STOP_GRACE_S) for w in workers)
    )


class WorkerGenerations:
    """The worker processes of each running generation: a local fleet's StatefulSets."""

    __slots__ = ("_command", "_layouts", "_log_dir", "_shards_per_worker", "_targets", "_workers")

    def __init__(
        self,
        targets: FleetTargets,
        command: Sequence[str],
        log_dir: Path,
        *,
        shards_per_worker: int | None = None,
    ) -> None:
        """Start workers running ``command`` against ``targets``, logging to ``log_dir``.

        ``shards_per_worker`` is the person's choice (``--shards-per-worker``), kept for
        every generation; None spreads each as :func:`shoal.local.plans.plan_fleet` does.
        """
        self._targets = targets
        self._command = tuple(command)
        self._log_dir = log_dir
        self._shards_per_worker = shards_per_worker
        self._layouts: dict[int, FleetLayout] = {}
        self._workers: dict[int, list[WorkerProcess]] = {}

    def adopt(self, generation: int, layout: FleetLayout, workers: Sequence[WorkerProcess]) -> None:
        """Take over workers of ``generation`` started elsewhere (the run's first fleet)."""
        self._layouts[generation] = layout
        self._workers[generation] = list(workers)

    @property
    def generations(self) -> list[int]:
        """The running generations, oldest first."""
        return sorted(self._workers)

    def layout_of(self, generation: int) -> FleetLayout | None:
        """Return how ``generation`` is laid out (None: it does not run)."""
        return self._layouts.get(generation)

    def workers_of(self, generation: int) -> list[WorkerProcess]:
        """Return the workers of ``generation`` (none when it does not run)."""
        return list(self._workers.get(generation, ()))

    @property
    def command(self) -> tuple[str, ...]:
        """The worker command every generation runs."""
        return self._command

    def replace(self, old: WorkerProcess, new: WorkerProcess) -> bool:
        """Put ``new`` (``old`` started again) in ``old``'s place; False if ``old`` was removed.

        A reshard may remove a generation while one of its workers is being restarted: the
        caller then stops ``new``.
        """
        for workers in self._workers.values():
            for index, worker in enumerate(workers):
                if worker is old:
                    workers[index] = new
                    return True
        return False

    def all_workers(self) -> list[WorkerProcess]:
        """Return every worker of every running generation, oldest generation first."""
        return [worker for g in self.generations for worker in self._workers[g]]

    async def run(self, generation: int, shards: int, max_concurrency: int) -> bool:
        """Ensure ``generation`` runs ``shards`` shards; return whether workers were started.

        Workers that exited are restarted by :class:`shoal.local.keeping.WorkerKeeper`.

        Raises:
            LocalUpError: when the worker command cannot be started.
        """
        layout = self._layouts.get(generation)
        if layout is not None and layout.total_shards == shards:
            return False
        if layout is not None:  # another count under one generation: replace its workers
            await self.remove(generation)
        layout = generation_layout(
            shards, max_concurrency, shards_per_worker=self._shards_per_worker
        )
        workers = await start_workers(
            layout, self._targets, self._command, self._log_dir, generation=generation
        )
        self._layouts[generation] = layout
        self._workers[generation] = workers
        return True

    async def remove(self, generation: int) -> list[WorkerProcess]:
        """Stop the workers of ``generation`` with SIGTERM; return them (stopped)."""
        self._layouts.pop(generation, None)
        workers = self._workers.pop(generation, [])
        await stop_workers(workers)
        return workers
