"""Bot processes for the fleet tests: start a shard runner, read its reports, stop it.

Drives :mod:`tests.integration.sim.gateway.shard_runner` in a child process, collecting
the JSON lines it writes. A process that outlives its test is killed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import pathlib
import sys
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from shoal_sim.discord.server import Simulator

__all__ = ["ShardProcess", "shard_processes"]

_REPO_ROOT: Final = pathlib.Path(__file__).resolve().parents[4]
_RUNNER: Final = "tests.integration.sim.gateway.shard_runner"
#: A cold Python start plus importing hikari takes about a second; leave room for a slow CI.
_SETTLE_TIMEOUT_S: Final = 20.0
_STOP_TIMEOUT_S: Final = 10.0


class ShardProcess:
    """One child process running a contiguous range of shards of a bot."""

    def __init__(
        self, process: asyncio.subprocess.Process, shard_ids: Sequence[int], log: pathlib.Path
    ) -> None:
        """Follow a started runner process."""
        self._process = process
        self.shard_ids = tuple(shard_ids)
        self.log = log
        self.reports: list[dict[str, Any]] = []
        """Every JSON line the process wrote, in order."""

    @classmethod
    async def spawn(
        cls,
        sim: Simulator,
        *,
        token: str,
        shard_ids: Sequence[int],
        shard_count: int,
        log: pathlib.Path,
        is_compressed: bool = True,
    ) -> ShardProcess:
        """Start a runner; it waits for :meth:`release` before it identifies."""
        argv = [
            "-m",
            _RUNNER,
            "--rest-url",
            sim.rest_url,
            "--token",
            token,
            "--shard-ids",
            ",".join(str(s) for s in shard_ids),
            "--shard-count",
            str(shard_count),
        ]
        if not is_compressed:
            argv.append("--uncompressed")
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                *argv,
                cwd=_REPO_ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        return cls(process, shard_ids, log)

    def _write(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(line.encode() + b"\n")

    def release(self) -> None:
        """Let the process start its shards."""
        self._write("start")

    async def _read_report(self, deadline: float) -> dict[str, Any] | None:
        assert self._process.stdout is not None
        async with asyncio.timeout_at(deadline):
            line = await self._process.stdout.readline()
        if not line:
            return None
        report: dict[str, Any] = json.loads(line)
        self.reports.append(report)
        return report

    def guilds_by_shard(self) -> dict[int, list[int]]:
        """Return the guild ids of the GuildAvailableEvents seen, by shard, in order."""
        found: dict[int, list[int]] = collections.defaultdict(list)
        for report in self.reports:
            if report["event"] == "guild":
                found[report["shard"]].append(int(report["guild"]))
        return dict(found)

    def ready_guilds_by_shard(self) -> dict[int, set[int]]:
        """Return the guild ids listed in each shard's READY."""
        return {
            report["shard"]: {int(g) for g in report["guilds"]}
            for report in self.reports
            if report["event"] == "ready"
        }

    def _is_settled(self) -> bool:
        ready = self.ready_guilds_by_shard()
        seen = self.guilds_by_shard()
        return (
            any(r["event"] == "started" for r in self.reports)
            and set(ready) == set(self.shard_ids)
            and all(ready[s] <= set(seen.get(s, ())) for s in self.shard_ids)
        )

    async def settled(self) -> None:
        """Wait until every shard is READY and has seen each guild its READY listed."""
        deadline = asyncio.get_running_loop().time() + _SETTLE_TIMEOUT_S
        while not self._is_settled():
            if await self._read_report(deadline) is None:
                msg = f"shard runner {self.shard_ids} exited early:\n{self._log_tail()}"
                raise AssertionError(msg)

    async def stop(self) -> int:
        """Ask the process to close its bot, read its last reports; return its exit code."""
        self._write("stop")
        deadline = asyncio.get_running_loop().time() + _STOP_TIMEOUT_S
        while await self._read_report(deadline) is not None:
            pass
        async with asyncio.timeout_at(deadline):
            return await self._process.wait()

    async def reap(self) -> None:
        """Kill the process if it still runs, and wait for it."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        await self._process.wait()

    def _log_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


@contextlib.asynccontextmanager
async def shard_processes(
    sim: Simulator,
    *,
    token: str,
    ranges: Sequence[Sequence[int]],
    shard_count: int,
    log_dir: pathlib.Path,
    uncompressed: Sequence[int] = (),
) -> AsyncIterator[list[ShardProcess]]:
    """Spawn one runner per shard range (those at ``uncompressed`` indexes without zlib)."""
    processes: list[ShardProcess] = []
    try:
        for index, shard_ids in enumerate(ranges):
            process = await ShardProcess.spawn(
                sim,
                token=token,
                shard_ids=shard_ids,
                shard_count=shard_count,
                log=log_dir / f"shard-runner-{index}.log",
                is_compressed=index not in uncompressed,
            )
            processes.append(process)
        yield processes
    finally:
        for process in processes:
            await process.reap()
