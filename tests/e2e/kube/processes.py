"""What the SIMULATED kubelet starts: a Pod's launch description and its process handles.

Owns the data handed to a pluggable runner (:class:`PodLaunch`: a Pod's first container with
its environment, command and args resolved), the role of a running container process
(:class:`ProcessHandle`), the runner and readiness-check signatures, and the one backing over
an ``asyncio`` subprocess (:class:`SubprocessHandle`). This is a SIMULATION for e2e tests: a
"container" is a local process, with no image, isolation, resource limits or restarts. Does
not own resolving a Pod spec into a launch (``tests.e2e.kube.launching``) nor deciding which
Pods run (``tests.e2e.kube.kubelet``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

__all__ = [
    "PodLaunch",
    "PodRunner",
    "ProcessHandle",
    "ReadinessCheck",
    "SubprocessHandle",
]


@dataclasses.dataclass(frozen=True, slots=True)
class PodLaunch:
    """What a runner needs to start a Pod's (first) container as a local process."""

    namespace: str
    """The Pod's namespace."""
    pod_name: str
    """The Pod's name, e.g. ``bot-shards-0``."""
    env: Mapping[str, str]
    """The container's environment, resolved (values, Secret/ConfigMap keys, field refs)."""
    command: Sequence[str]
    """The container's ``command`` with ``$(VAR)`` references expanded."""
    args: Sequence[str]
    """The container's ``args`` with ``$(VAR)`` references expanded."""
    container: Mapping[str, Any]
    """The raw container spec (for ports, probes)."""


class ProcessHandle(Protocol):
    """A running container process, as a runner returns it."""

    @property
    def port(self) -> int | None:
        """The local port where its readiness probe is served, if any."""
        ...

    async def stop(self) -> None:
        """Send SIGTERM and wait until the process is gone."""
        ...

    async def wait(self) -> int:
        """Wait for the process to exit on its own; return its exit code."""
        ...


PodRunner = Callable[[PodLaunch], Awaitable[ProcessHandle]]
"""Starts a Pod's container as a local process."""
ReadinessCheck = Callable[[PodLaunch, ProcessHandle], Awaitable[bool]]
"""Whether a started Pod is Ready now."""


class SubprocessHandle:
    """``ProcessHandle`` over an ``asyncio`` subprocess.

    Args:
        process: the started process.
        port: where it serves its readiness probe, if anywhere.
        stop_timeout_s: how long to wait after SIGTERM before SIGKILL.
    """

    def __init__(
        self, process: asyncio.subprocess.Process, port: int | None, *, stop_timeout_s: float = 10.0
    ) -> None:
        self.process = process
        self._port = port
        self._stop_timeout_s = stop_timeout_s

    @property
    def port(self) -> int | None:
        """The local port where its readiness probe is served, if any."""
        return self._port

    async def stop(self) -> None:
        """Send SIGTERM, then SIGKILL if it outlives the timeout; wait until it is gone."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), self._stop_timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
        await self.process.wait()

    async def wait(self) -> int:
        """Wait for the process to exit; return its exit code."""
        return await self.process.wait()
