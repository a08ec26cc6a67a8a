"""``shoal local up`` end to end: a tiny fleet of fake workers becomes ready and stops cleanly.

The workers are :mod:`tests.integration.local.fake_worker` (plain hikari over the shard
range from the ``SHOAL_*`` environment), so the orchestration is proven on its own: servers,
migrations, the simulator in its own process, the shard plan, worker environments, the load,
the status, and the shutdown order on SIGINT and SIGTERM.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import aiohttp
from redis.asyncio import Redis

from shoal.local.options import LocalOptions
from shoal.local.running import local_up
from shoal.local.spawning import free_loopback_port
from tests.integration.local.process_table import command_of, descendants, is_alive, pods_below

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

_REPO_ROOT: Final = Path(__file__).resolve().parents[3]
_FAKE_WORKER: Final = (sys.executable, "-m", "tests.integration.local.fake_worker")
_RUN_LOCAL_UP: Final = (
    "import os, sys\n"
    "from shoal.local.running import run_local_up\n"
    "sys.exit(run_local_up(sys.argv[1:], os.environ))\n"
)
_TINY_FLEET: Final = (
    "--guilds=200",
    "--identify-window=0.2",
    "--max-concurrency=4",  # four buckets: the two workers never share one, so no op 9
    "--shards=4",
    "--shards-per-worker=2",
    "--refresh=0.2",
    f"--worker-command={shlex.join(_FAKE_WORKER)}",
)
#: Python and hikari start in about a second per process; room for a loaded 2-core CI.
_READY_TIMEOUT_S: Final = 30.0
_STOP_TIMEOUT_S: Final = 30.0
_POLL_S: Final = 0.05
_KEPT: Final = re.compile(r"Logs and data kept in (\S+)")
_COMMUNITY: Final = re.compile(
    r"answered: (?P<answered>.*) onboarding: (?P<joined>\d+) joined, (?P<agreed>\d+) agreed "
    r"\((?P<member>\d+) with Member role\) role menus: (?P<picks>\d+) picks"
)
_SHOWCASE: Final = re.compile(r"Showcase: onboarding and role menus set up in guild (\d+)")
#: Two real workers' cold start, the showcase's setup, then a plain line every 10 s.
_SHOWCASE_TIMEOUT_S: Final = 35.0


class _Output:
    """The lines a ``shoal local up`` process writes, read as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.lines: list[str] = []

    async def wait_for(self, text: str) -> str:
        """Return the first line containing ``text``, reading more as needed."""
        async with asyncio.timeout(_READY_TIMEOUT_S):
            while True:
                found = next((line for line in self.lines if text in line), None)
                if found is not None:
                    return found
                assert self._process.stdout is not None
                line = await self._process.stdout.readline()
                assert line, f"shoal local up ended before {text!r}:\n{self.text()}"
                self.lines.append(line.decode().rstrip("\n"))

    async def read_to_end(self) -> None:
        assert self._process.stdout is not None
        rest = await self._process.stdout.read()
        self.lines += rest.decode().splitlines()

    async def wait_for_match(
        self, pattern: re.Pattern[str], check: Callable[[re.Match[str]], bool], timeout_s: float
    ) -> re.Match[str]:
        """Return the first match of ``pattern`` in a line for which ``check`` holds."""
        async with asyncio.timeout(timeout_s):
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    match = pattern.search(line)
                    if match is not None and check(match):
                        return match
                seen = len(self.lines)
                assert self._process.stdout is not None
                read = await self._process.stdout.readline()
                assert read, f"shoal local up ended first:\n{self.text()}"
                self.lines.append(read.decode().rstrip("\n"))

    def value_of(self, label: str) -> str:
        """Return the first word after ``label :`` in the banner."""
        line = next(line for line in self.lines if line.strip().startswith(f"{label} "))
        return line.split(":", 1)[1].split()[0]

    def text(self) -> str:
        return "\n".join(self.lines)


async def _interrupt(process: asyncio.subprocess.Process, output: _Output) -> int:
    """Send SIGINT (a person's Ctrl-C), read the rest of the output, return the status."""
    process.send_signal(signal.SIGINT)
    async with asyncio.timeout(_STOP_TIMEOUT_S):
        await output.read_to_end()
        return await process.wait()


async def _killed_if_running(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


async def _eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(_POLL_S)


async def _get_json(http: aiohttp.ClientSession, url: str) -> Any:  # noqa: ANN401 - JSON
    async with http.get(url) as response:
        response.raise_for_status()
        return await response.json()


def _reports(directory: Path) -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


async def test_local_up_runs_a_ready_fleet_then_stops_everything_when_interrupted(
    tmp_path: Path,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _RUN_LOCAL_UP,
        *_TINY_FLEET,
        cwd=_REPO_ROOT,  # where `python -m tests...` finds the fake worker
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "FAKE_WORKER_REPORTS": str(tmp_path)},
    )
    output = _Output(process)
    try:
        await output.wait_for("shards 4/4 ready (registry 4/4) workers 2/2 guilds 200")
        control = output.value_of("Control API").removesuffix("/info")
        async with aiohttp.ClientSession() as http:
            stats = await _get_json(http, f"{control}/stats")
            loads: list[dict[str, Any]] = []
            async with asyncio.timeout(_READY_TIMEOUT_S):
                while not any(load["messages_sent"] for load in loads):
                    loads = await _get_json(http, f"{control}/load")
                    await asyncio.sleep(_POLL_S)
        children = descendants(process.pid)
        code = await _interrupt(process, output)
    finally:
        await _killed_if_running(process)

    assert code == 0, output.text()
    assert (stats["identifies"], stats["invalid_sessions"], stats["resumes"]) == (4, 0, 0)
    assert loads[0]["running"] is True
    assert loads[0]["spec"]["commands"] == ["ping", "rank", "leaderboard"]
    stops = [line for line in output.lines if line.startswith("Stopping")]
    assert stops == [
        "Stopping the load...",
        "Stopping 2 workers (SIGTERM: sessions stay resumable)...",
        "Stopping the simulator...",
        "Stopping PostgreSQL...",
        "Stopping Redis...",
    ]
    reports = _reports(tmp_path)
    assert list(reports) == ["local-0", "local-1"]  # each closed its bot on SIGTERM
    assert all(report["stopped"] for report in reports.values())
    assert [r["SHOAL_POD_ORDINAL"] for r in reports.values()] == ["0", "1"]
    assert {r["SHOAL_TOTAL_SHARDS"] for r in reports.values()} == {"4"}
    assert len(children) >= 5  # the simulator, two workers, redis-server, postgres
    await _eventually(lambda: not any(is_alive(pid) for pid in children), "no leftover process")
    workdir = Path(output.value_of("Logs"))
    assert not await asyncio.to_thread(workdir.exists)  # a clean run deletes its directory


async def test_local_up_restarts_a_killed_worker_and_reports_a_dead_server() -> None:
    # Not under tmp_path: as root, PostgreSQL runs as the postgres account, which must be
    # able to reach the --workdir (pytest's directories are root's only).
    workdir = _reachable_temporary_directory()
    try:
        await _kill_a_worker_and_redis(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _reachable_temporary_directory() -> Path:
    path = Path(tempfile.mkdtemp(prefix="shoal-test-local-"))
    path.chmod(0o711)
    return path


async def _kill_a_worker_and_redis(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _RUN_LOCAL_UP,
        *_TINY_FLEET,
        f"--workdir={tmp_path / 'run'}",
        cwd=_REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = _Output(process)
    try:
        await output.wait_for("shards 4/4 ready (registry 4/4) workers 2/2 guilds 200")
        killed = pods_below(process.pid)["local-1"]
        os.kill(killed, signal.SIGKILL)
        await output.wait_for("Worker local-1 exited (killed by SIGKILL); starting it again")
        await output.wait_for("shards 4/4 ready (registry 4/4) workers 2/2 restarts 1")
        restarted = pods_below(process.pid)["local-1"]
        (redis_pid,) = (
            pid for pid in descendants(process.pid) if "redis-server" in " ".join(command_of(pid))
        )
        os.kill(redis_pid, signal.SIGKILL)
        await output.wait_for("redis-server exited with status")
        await output.wait_for("down redis-server")
        code = await _interrupt(process, output)
    finally:
        await _killed_if_running(process)

    assert code == 0, output.text()  # asked to stop; the logs are kept
    assert restarted != killed
    assert "Logs and data kept in" in output.text()
    log = (tmp_path / "run" / "worker-1.log").read_text()
    assert "---- shoal local up: local-1 started again (restart 1) ----" in log


async def test_local_up_uses_the_given_servers_and_migrates_them_when_urls_are_given(
    redis_url: str, postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_WORKER_REPORTS", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(_REPO_ROOT))  # the fake worker, wherever pytest runs
    bot_name = f"t-{uuid.uuid4().hex[:12]}"  # its own Redis namespace on the shared server
    migrated: list[str] = []

    async def migrate(dsn: str) -> None:
        migrated.append(dsn)

    options = LocalOptions(
        guilds=200,
        identify_window_s=0.2,
        shards=2,
        redis_url=redis_url,
        postgres_dsn=postgres_dsn,
        bot_name=bot_name,
        worker_command=_FAKE_WORKER,
        messages_per_s=0.0,
        interactions_per_s=0.0,
        refresh_s=0.1,
    )
    stream = io.StringIO()
    run = asyncio.create_task(local_up(options, migrate=migrate, stream=stream))
    try:
        await _eventually(
            lambda: run.done() or "shards 2/2 ready (registry 2/2)" in stream.getvalue(),
            "a ready fleet",
        )
        assert not run.done(), stream.getvalue()
        signal.raise_signal(signal.SIGTERM)  # handled by local_up while it runs
        async with asyncio.timeout(_STOP_TIMEOUT_S):
            code = await run
    finally:
        run.cancel()
        await _forget_namespace(redis_url, bot_name)

    output = stream.getvalue()
    assert code == 0, output
    assert migrated == [postgres_dsn]
    (report,) = _reports(tmp_path).values()  # two shards at the default four per worker
    assert report["SHOAL_REDIS_URL"] == redis_url
    assert report["SHOAL_POSTGRES_DSN"] == postgres_dsn
    assert report["SHOAL_BOT_NAME"] == bot_name
    assert "Stopping the load" not in output  # no load was asked for
    assert "Stopping Redis" not in output  # not ours to stop
    assert "Stopping PostgreSQL" not in output


async def _run_with_crashing_worker(
    redis_url: str, postgres_dsn: str, exit_status: int
) -> tuple[int, str, Path]:
    crashing = (
        sys.executable,
        "-c",
        f"import sys; print('no such command: worker'); sys.exit({exit_status})",
    )
    options = LocalOptions(
        guilds=50,
        identify_window_s=0.2,
        redis_url=redis_url,
        postgres_dsn=postgres_dsn,
        worker_command=crashing,
        refresh_s=0.1,
    )
    stream = io.StringIO()
    code = await local_up(options, stream=stream)
    output = stream.getvalue()
    kept = _KEPT.search(output)
    assert kept is not None, output
    return code, output, Path(kept.group(1))


async def test_local_up_restarts_a_crashing_worker_then_ends_the_crash_loop_with_its_log(
    redis_url: str, postgres_dsn: str
) -> None:
    code, output, workdir = await _run_with_crashing_worker(redis_url, postgres_dsn, 2)
    try:
        assert code == 1
        restarts = re.findall(r"Worker local-0 exited \(status 2\); starting it again", output)
        assert len(restarts) == 4, output  # the fifth quick exit in a row is a crash loop
        assert "in 1 s (restart 2" in output  # at once, then with a doubling back-off
        assert "in 4 s (restart 4" in output
        assert "shoal local up: worker local-0 exited (status 2) and is not restarted: " in output
        assert "exited 5 times in a row within 10 s of starting (a crash loop)" in output
        log = (workdir / "worker-0.log").read_text()  # kept for a person to read
        assert log.count("no such command: worker") == 5
        assert "---- shoal local up: local-0 started again (restart 4) ----" in log
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def test_local_up_ends_at_once_when_a_worker_exits_on_a_fatal_close(
    redis_url: str, postgres_dsn: str
) -> None:
    code, output, workdir = await _run_with_crashing_worker(redis_url, postgres_dsn, 3)
    try:
        assert code == 1
        assert "starting it again" not in output
        assert "exited (status 3) and is not restarted: Discord closed a shard" in output
        assert "no such command: worker" in output  # the end of its log
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def test_local_up_fails_naming_the_url_when_discord_cannot_be_reached(
    redis_url: str, postgres_dsn: str
) -> None:
    rest_url = f"http://127.0.0.1:{free_loopback_port()}/api/v10"  # nothing listens there
    options = LocalOptions(
        is_simulated=False,
        token="MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.cmVhbA",  # noqa: S106 - a fake token
        rest_url=rest_url,
        redis_url=redis_url,
        postgres_dsn=postgres_dsn,
    )
    stream = io.StringIO()

    code = await local_up(options, stream=stream)

    output = stream.getvalue()
    kept = _KEPT.search(output)
    if kept is not None:
        shutil.rmtree(kept.group(1), ignore_errors=True)
    assert code == 1
    assert f"shoal local up: cannot read {rest_url}/gateway/bot" in output
    assert "MTAwMDAw" not in output  # a real token is never shown


async def _forget_namespace(redis_url: str, bot_name: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"shoal:{{{bot_name}}}:*")]
        if keys:
            await client.unlink(*keys)
    finally:
        await client.aclose()


def _has_members_agreeing_and_picking(match: re.Match[str]) -> bool:
    return all(int(match.group(name)) > 0 for name in ("joined", "agreed", "member", "picks"))


async def test_local_up_sets_up_onboarding_and_a_role_menu_that_members_use_with_real_workers() -> (
    None
):
    workdir = _reachable_temporary_directory()  # as root, PostgreSQL's account must reach it
    try:
        await _run_the_showcase(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _run_the_showcase(workdir: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shoal",
        "local",
        "up",  # as scripts/run-local runs it: throwaway servers, migrations, real workers
        "--guilds=40",
        "--shards=2",
        "--identify-window=0.2",
        "--messages-per-s=2",
        "--interactions-per-s=0",  # the answers shown are the showcase's own
        "--joins-per-s=0.25",  # 0.9 member edits/s: within Discord's 10 per 10 s
        "--role-picks-per-s=0.4",
        f"--workdir={workdir / 'run'}",
        cwd=_REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = _Output(process)
    try:
        figures = await output.wait_for_match(
            _COMMUNITY, _has_members_agreeing_and_picking, _SHOWCASE_TIMEOUT_S
        )
        showcase = _SHOWCASE.search(output.text())
        assert showcase is not None, output.text()
        control = output.value_of("Control API").removesuffix("/info")
        async with aiohttp.ClientSession() as http:
            guild = await _get_json(http, f"{control}/guilds/{showcase.group(1)}")
        code = await _interrupt(process, output)
    finally:
        await _killed_if_running(process)

    assert code == 0, output.text()
    assert "/onboarding button" in figures.group("answered"), figures.group(0)
    assert "/rolemenu choose" in figures.group("answered"), figures.group(0)
    assert "did not go through" not in output.text()  # every setup step was accepted
    roles = {role["name"]: role["id"] for role in guild["roles"]}
    colours = {roles[name] for name in ("Red", "Green", "Blue", "Yellow")}
    held = [set(member["roles"]) for member in guild["members"].values()]
    assert any(roles["Member"] in member and roles["Pre-Member"] not in member for member in held)
    assert any(member & colours for member in held)
    assert sum(member["pending"] for member in guild["members"].values()) <= int(
        figures.group("joined")
    )
