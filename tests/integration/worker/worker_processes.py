"""Worker processes for the acceptance tests: spawn, release, follow reports, signal, reap.

Drives :mod:`tests.integration.worker.worker_runner` in child processes with a pod's
``SHOAL_*`` environment, collecting the JSON lines each writes. A process that outlives
its test is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import signal
import sys
from typing import TYPE_CHECKING, Any, Final

import orjson

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Collection, Mapping

__all__ = ["WorkerProcess", "worker_processes"]

_REPO_ROOT: Final = pathlib.Path(__file__).resolve().parents[3]
_RUNNER: Final = "tests.integration.worker.worker_runner"
#: A cold Python start importing hikari, redis and shoal takes about a second.
_WAIT_S: Final = 20.0
_LOG_TAIL_CHARS: Final = 6_000


class WorkerProcess:
    """One worker process and everything it reported."""

    def __init__(self, process: asyncio.subprocess.Process, log: pathlib.Path) -> None:
        """Follow a started runner."""
        self._process = process
        self.log = log
        self.reports: list[dict[str, Any]] = []
        """Every JSON line the process wrote, in order."""
        self._changed = asyncio.Event()
        self._reading = asyncio.create_task(self._read())

    @classmethod
    async def spawn(cls, env: Mapping[str, str], *, log: pathlib.Path) -> WorkerProcess:
        """Start a runner with ``env`` on top of this environment; it waits for release."""
        with log.open("ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                _RUNNER,
                cwd=_REPO_ROOT,
                env={**os.environ, **env},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        return cls(process, log)

    async def _read(self) -> None:
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            self.reports.append(orjson.loads(line))
            self._changed.set()
        self._changed.set()

    def events(self, name: str) -> list[dict[str, Any]]:
        """Return the reports of one kind, in order."""
        return [report for report in self.reports if report["event"] == name]

    def shards(self, name: str) -> set[int]:
        """Return the shards that reported ``name`` (``ready`` or ``resumed``)."""
        return {report["shard"] for report in self.events(name)}

    def message_ids(self) -> set[int]:
        """Return the ids of the guild messages received."""
        return {int(report["id"]) for report in self.events("message")}

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        """Wait until ``condition()`` holds; fail with the process log if it never does."""
        async with asyncio.timeout(_WAIT_S):
            while not condition():
                if self._reading.done():
                    msg = f"worker exited before {what}:\n{self.log_tail()}"
                    raise AssertionError(msg)
                self._changed.clear()
                await self._changed.wait()

    async def loaded(self) -> None:
        """Wait until the process has imported everything and waits for release."""
        await self.until(lambda: bool(self.events("loaded")), "load")

    async def connected(self, shard_ids: Collection[int]) -> None:
        """Wait until every one of ``shard_ids`` reported READY or RESUMED."""
        expected = set(shard_ids)
        await self.until(
            lambda: self.shards("ready") | self.shards("resumed") == expected, "connected shards"
        )

    def release(self) -> None:
        """Let the worker start its shards."""
        assert self._process.stdin is not None
        self._process.stdin.write(b"start\n")

    def close_stdin(self) -> None:
        """End the worker's stdin: one still waiting for release exits at once."""
        assert self._process.stdin is not None
        self._process.stdin.close()

    def send(self, sig: signal.Signals) -> None:
        """Send ``sig`` (SIGTERM: stop for a restart; SIGKILL: die)."""
        self._process.send_signal(sig)

    async def exit_code(self) -> int:
        """Wait for the process to end (and its last reports); return its exit code."""
        async with asyncio.timeout(_WAIT_S):
            await self._reading
            return await self._process.wait()

    async def reap(self) -> None:
        """Kill the process if it still runs, and wait for it."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        await self._process.wait()
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading

    def log_tail(self) -> str:
        """Return the end of the process's log (stderr)."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-_LOG_TAIL_CHARS:]


@contextlib.asynccontextmanager
async def worker_processes() -> AsyncIterator[list[WorkerProcess]]:
    """Collect spawned workers; stop them with SIGTERM at the end (kill what hangs)."""
    spawned: list[WorkerProcess] = []
    try:
        yield spawned
    finally:
        for worker in spawned:
            worker.close_stdin()
            with contextlib.suppress(ProcessLookupError):
                worker.send(signal.SIGTERM)
        for worker in spawned:
            with contextlib.suppress(TimeoutError):
                await worker.exit_code()
            await worker.reap()
