"""Real ``shoal worker`` processes (``python -m shoal worker``), as a pod runs them.

Each process gets a pod's ``SHOAL_*`` environment, logs to a file, serves ``/readyz``
and ``/metrics`` on its own loopback port, and is stopped with SIGTERM (killed if it
hangs) when the ``async with`` block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pathlib
import signal
import sys
import time
from typing import TYPE_CHECKING, Final

from tests.fixtures.ports import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    import aiohttp

__all__ = ["ShoalWorker", "shoal_workers"]

_REPO_ROOT: Final = pathlib.Path(__file__).resolve().parents[3]
_READY_WAIT_S: Final = 30.0  # a cold Python start plus a gated boot of a few shards
_POLL_S: Final = 0.05
_STOP_WAIT_S: Final = 15.0
_LOG_TAIL_CHARS: Final = 6_000


class ShoalWorker:
    """One ``shoal worker`` process and where to reach its HTTP server."""

    def __init__(
        self, process: asyncio.subprocess.Process, *, port: int, log: pathlib.Path
    ) -> None:
        """Follow a started process serving HTTP on ``port``."""
        self.process = process
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log

    @classmethod
    async def spawn(cls, env: Mapping[str, str], *, log: pathlib.Path) -> ShoalWorker:
        """Start ``python -m shoal worker`` with ``env`` over this environment."""
        port = free_port()
        full_env = {
            **os.environ,
            **env,
            "SHOAL_HTTP_HOST": "127.0.0.1",
            "SHOAL_HTTP_PORT": str(port),
        }
        with log.open("ab") as output:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "shoal",
                "worker",
                cwd=_REPO_ROOT,
                env=full_env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        return cls(process, port=port, log=log)

    async def ready(self, http: aiohttp.ClientSession) -> None:
        """Wait until ``/readyz`` answers 200 (every local shard READY)."""
        deadline = time.monotonic() + _READY_WAIT_S
        while True:
            if self.process.returncode is not None:
                msg = f"worker exited ({self.process.returncode}) before ready:\n{self.log_tail()}"
                raise AssertionError(msg)
            with contextlib.suppress(OSError):
                async with http.get(f"{self.base_url}/readyz") as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                msg = f"worker not ready in {_READY_WAIT_S} s:\n{self.log_tail()}"
                raise AssertionError(msg)
            await asyncio.sleep(_POLL_S)

    async def metrics_text(self, http: aiohttp.ClientSession) -> str:
        """Return the worker's ``/metrics`` page."""
        async with http.get(f"{self.base_url}/metrics") as response:
            assert response.status == 200, response.status
            return await response.text()

    async def stop(self) -> None:
        """SIGTERM, then wait; kill what does not stop in time."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(_STOP_WAIT_S):
                    await self.process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
        await self.process.wait()

    def log_tail(self) -> str:
        """Return the end of the process's log."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-_LOG_TAIL_CHARS:]


@contextlib.asynccontextmanager
async def shoal_workers() -> AsyncIterator[list[ShoalWorker]]:
    """Collect spawned workers; stop them all at the end of the block."""
    spawned: list[ShoalWorker] = []
    try:
        yield spawned
    finally:
        await asyncio.gather(*(worker.stop() for worker in spawned))
