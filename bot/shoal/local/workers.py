"""The worker processes of a local fleet: one per shard range, like the pods of a StatefulSet.

Owns starting each worker with its ``SHOAL_*`` environment (:func:`shoal.local.plans.
worker_environment`), a free loopback port for its health and metrics server and a log file,
and stopping them all with SIGTERM (a worker then closes its shards resumably), SIGKILL for
any that outlives the grace period. Does not own what a worker does (``shoal worker``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from typing import TYPE_CHECKING, Final

from shoal.local.errors import LocalUpError
from shoal.local.plans import worker_environment
from shoal.local.spawning import child_environment, free_loopback_port, start_child, stop_child

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from shoal.local.plans import FleetLayout, FleetTargets
    from shoal.planning.shards import ShardRange

__all__ = ["WorkerProcess", "start_workers", "stop_workers"]

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

    @property
    def is_running(self) -> bool:
        """Whether the process is still running."""
        return self.process.returncode is None


async def start_workers(
    layout: FleetLayout, targets: FleetTargets, command: Sequence[str], log_dir: Path
) -> list[WorkerProcess]:
    """Start one worker per shard range of ``layout``, in ordinal order.

    Raises:
        LocalUpError: when ``command`` cannot be started (the ones started are stopped).
    """
    workers: list[WorkerProcess] = []
    for ordinal in range(layout.workers):
        port = free_loopback_port()
        env = worker_environment(layout, ordinal, targets, http_port=port)
        log_path = log_dir / f"worker-{ordinal}.log"
        try:
            process = await start_child(command, log_path=log_path, env=child_environment(env))
        except OSError as exc:
            await stop_workers(workers)
            raise LocalUpError(f"cannot start the worker command {command[0]!r}: {exc}") from exc
        name = env["SHOAL_POD_NAME"]
        workers.append(WorkerProcess(name, layout.shard_range(ordinal), port, log_path, process))
    return workers


async def stop_workers(workers: Sequence[WorkerProcess]) -> None:
    """Send every worker SIGTERM at once and wait for them (SIGKILL after the grace period)."""
    await asyncio.gather(
        *(stop_child(w.process, signal.SIGTERM, timeout_s=_STOP_GRACE_S) for w in workers)
    )
