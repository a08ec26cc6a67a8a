"""A whole local fleet to break: ``shoal local up`` with real workers, read as a person would.

:class:`ChaosFleet` runs ``python -m shoal local up`` (real ``shoal worker`` processes, the
simulator in its own process, the load generator) against a Redis and a PostgreSQL the test
owns (:mod:`tests.fixtures.restartable`, so it can kill and restart them), and reads what
an operator would: the simulator's record of every session and interaction, the workers'
logs, and the run's output. :meth:`ChaosFleet.measure` wraps one fault and returns what it
cost (:class:`FaultCost`): unanswered interactions and when they were sent, seconds until
every shard is READY again, identifies and resumes, and warning lines logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from tests.integration.local.process_table import pods_below

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

__all__ = ["ChaosFleet", "FaultCost", "chaos_fleet"]

_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
_BOOT_TIMEOUT_S: Final = 60.0  # two cold Python + hikari starts on a loaded 2-core CI
_STOP_TIMEOUT_S: Final = 45.0
_POLL_S: Final = 0.1
#: Discord's (and the simulator's) interaction deadline.
DEADLINE_S: Final = 3.0
#: An interaction sent this long before a fault may still fall to it (its worker died with
#: it in hand); one sent this long after the fleet is READY again must be answered.
_BEFORE_FAULT_S: Final = DEADLINE_S + 0.5
_AFTER_READY_S: Final = 1.5
#: A log line a person would have to read: WARNING and worse, and tracebacks.
_FAULT_LINE: Final = re.compile(r" (WARNING|ERROR|CRITICAL) |^Traceback")
_CONTROL: Final = re.compile(r"Control API\s*:\s*(\S+)/info")


@dataclasses.dataclass(frozen=True, slots=True)
class FaultCost:
    """What one fault cost the fleet's users and its daily session budget."""

    name: str
    injected: int
    """Interactions sent from the fault's start until the measure ended."""
    unanswered: int
    """Of those, past their deadline with no answer, or never delivered."""
    unexplained: tuple[dict[str, Any], ...]
    """Unanswered ones sent outside the fault window (must be none)."""
    lost: tuple[dict[str, Any], ...]
    """Every unanswered one (command, times, the shard it went to), to match the logs."""
    double_acknowledged: int
    """Second answers over the whole run so far (must stay 0)."""
    answered_twice: tuple[dict[str, Any], ...]
    """The interactions behind them, with their times, to match against the logs."""
    ready_s: float
    """Seconds from the fault's start until every shard had a connected session again."""
    started_at: float
    """The fault's start (unix time, as the simulator's ``created_at_unix``)."""
    ready_at: float
    """When every shard was READY again (unix time)."""
    identifies: int
    resumes: int
    warning_lines: tuple[str, ...]
    """WARNING, ERROR, CRITICAL and traceback lines the workers logged meanwhile."""

    def summary(self) -> str:
        """One line for the report."""
        return (
            f"{self.name}: {self.unanswered}/{self.injected} unanswered, READY in "
            f"{self.ready_s:.1f} s, {self.identifies} identifies, {self.resumes} resumes, "
            f"{len(self.warning_lines)} warning lines"
            + "".join(f"\n  lost: {_described(i, self.started_at)}" for i in self.lost)
        )


def _described(interaction: dict[str, Any], started_at: float) -> str:
    """One unanswered interaction: what it was and when, relative to the fault's start."""
    what = interaction.get("custom_id") or f"/{interaction.get('name')}"
    sent_s = interaction["created_at_unix"] - started_at
    shards = ", ".join(interaction.get("shards") or ()) or "no shard"
    return (
        f"{what} {interaction['id']} sent at {sent_s:+.2f} s to {shards} ({interaction['outcome']})"
    )


class ChaosFleet:
    """One ``shoal local up`` run and the means to read it."""

    def __init__(self, process: asyncio.subprocess.Process, workdir: Path, shards: int) -> None:
        self.process = process
        self.workdir = workdir
        self.shards = shards
        self.lines: list[str] = []
        self.control = ""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._reader = asyncio.get_running_loop().create_task(self._read_output())

    async def _read_output(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def output(self) -> str:
        """Everything the run printed so far."""
        return "\n".join(self.lines)

    async def wait_for_line(self, text: str, *, timeout_s: float = _BOOT_TIMEOUT_S) -> str:
        """Return the first output line containing ``text``."""
        async with asyncio.timeout(timeout_s):
            while True:
                found = next((line for line in self.lines if text in line), None)
                if found is not None:
                    return found
                assert self.process.returncode is None, f"the run ended:\n{self.output()}"
                await asyncio.sleep(_POLL_S)

    async def boot(self) -> None:
        """Wait for the banner and for every shard to be READY."""
        banner = await self.wait_for_line("Control API")
        match = _CONTROL.search(banner)
        assert match is not None, banner
        self.control = match.group(1)
        await self.wait_ready(timeout_s=_BOOT_TIMEOUT_S)

    async def get(self, path: str, **params: str) -> Any:  # noqa: ANN401 - JSON
        """GET a control API route."""
        async with self._http.get(f"{self.control}{path}", params=params) as response:
            response.raise_for_status()
            return await response.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:  # noqa: ANN401 - JSON
        """POST a control API route."""
        async with self._http.post(f"{self.control}{path}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def ready_shards(self, shard_count: int | None = None) -> set[int]:
        """Return the shards of ``shard_count`` (default: the fleet's) with a live session."""
        count = self.shards if shard_count is None else shard_count
        sessions = await self.get("/sessions")
        return {s["shard"][0] for s in sessions if s["is_connected"] and s["shard"][1] == count}

    async def wait_ready(self, *, timeout_s: float, shard_count: int | None = None) -> None:
        """Wait until every shard of ``shard_count`` has a connected session."""
        count = self.shards if shard_count is None else shard_count
        async with asyncio.timeout(timeout_s):
            while True:
                if len(await self.ready_shards(count)) == count:
                    return
                await asyncio.sleep(_POLL_S)

    def pods(self) -> dict[str, int]:
        """Return the running workers' process ids by pod name."""
        return pods_below(self.process.pid)

    def _log_sizes(self) -> dict[Path, int]:
        return {path: path.stat().st_size for path in self.workdir.glob("worker*.log")}

    def _lines_since(self, sizes: dict[Path, int]) -> list[str]:
        lines: list[str] = []
        for path in sorted(self.workdir.glob("worker*.log")):
            with path.open("rb") as log:
                log.seek(sizes.get(path, 0))
                text = log.read().decode(errors="replace")
            lines += [
                f"{path.stem}: {line}" for line in text.splitlines() if _FAULT_LINE.search(line)
            ]
        return lines

    async def measure(
        self,
        name: str,
        fault: Callable[[], Awaitable[None]],
        *,
        disconnects: bool,
        ready_timeout_s: float = 30.0,
        shard_count: int | None = None,
    ) -> FaultCost:
        """Run ``fault`` under the load and return what it cost.

        Args:
            name: How the report names it.
            fault: Breaks something and, when it returns, the broken part is back (or on its
                way back, as a restarted pod is).
            disconnects: Whether shards lose their sessions (then READY again is waited for
                after they were seen gone).
            ready_timeout_s: The stated bound on READY again, from the fault's start.
            shard_count: The shard count to watch (default: the fleet's).
        """
        before = await self.get("/stats")
        sizes = await asyncio.to_thread(self._log_sizes)
        started = time.time()
        loop = asyncio.get_running_loop()
        started_s = loop.time()
        count = self.shards if shard_count is None else shard_count
        await fault()
        if disconnects:
            async with asyncio.timeout(ready_timeout_s):  # first, the sessions go
                while True:
                    if len(await self.ready_shards(count)) < count:
                        break
                    await asyncio.sleep(0.02)
        await self.wait_ready(timeout_s=ready_timeout_s, shard_count=count)
        ready_s = loop.time() - started_s
        ready_at = time.time()
        await asyncio.sleep(DEADLINE_S + _AFTER_READY_S + 1.0)  # answered after READY
        after = await self.get("/stats")
        listed = await self.get("/interactions", limit="10000")
        window = [i for i in listed["interactions"] if i["created_at_unix"] >= started]
        settled = [i for i in window if i["outcome"] != "pending"]
        lost = [i for i in settled if i["outcome"] in ("unanswered", "undelivered")]
        unexplained = tuple(
            i
            for i in lost
            if not started - _BEFORE_FAULT_S <= i["created_at_unix"] <= ready_at + _AFTER_READY_S
        )
        lines = await asyncio.to_thread(self._lines_since, sizes)
        twice = tuple(i for i in listed["interactions"] if i["acknowledge_attempts"] > 1)
        return FaultCost(
            name=name,
            injected=len(settled),
            unanswered=len(lost),
            unexplained=unexplained,
            lost=tuple(lost),
            double_acknowledged=after["interactions"]["double_acknowledged"],
            answered_twice=twice,
            ready_s=ready_s,
            started_at=started,
            ready_at=ready_at,
            identifies=after["identifies"] - before["identifies"],
            resumes=after["resumes"] - before["resumes"],
            warning_lines=tuple(lines),
        )

    async def stop(self) -> int:
        """SIGINT the run (a person's Ctrl-C) and return its exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(_STOP_TIMEOUT_S):
                code = await self.process.wait()
                await self._reader
        finally:
            await self._http.close()
        return code


@contextlib.asynccontextmanager
async def chaos_fleet(
    *,
    redis_url: str,
    postgres_dsn: str,
    shards: int,
    arguments: Sequence[str] = (),
) -> AsyncIterator[ChaosFleet]:
    """Run ``shoal local up`` with real workers until the block ends; yield it booted."""
    workdir = Path(tempfile.mkdtemp(prefix="shoal-chaos-"))
    workdir.chmod(0o711)  # noqa: ASYNC240 - before the run starts, nothing else runs
    argv = [
        sys.executable,
        "-m",
        "shoal",
        "local",
        "up",
        f"--redis-url={redis_url}",
        f"--postgres-dsn={postgres_dsn}",
        f"--workdir={workdir / 'run'}",
        f"--bot-name=chaos{os.getpid()}",
        *arguments,
    ]
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=_REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    fleet = ChaosFleet(process, workdir / "run", shards)
    try:
        await fleet.boot()
        yield fleet
    except BaseException:
        sys.stderr.write(f"shoal local up ({shlex.join(argv)}) printed:\n{fleet.output()}\n")
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):
            if process.returncode is None:
                await fleet.stop()
        if process.returncode is None:
            process.kill()
            await process.wait()
        if os.environ.get("SHOAL_CHAOS_KEEP"):  # to read the logs after a run
            sys.stderr.write(f"chaos fleet's logs kept in {workdir}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
