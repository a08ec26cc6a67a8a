"""Child processes of the fleet benchmarks: Redis, the simulator, Shoal workers, hikari bots.

Owns starting each as its own process (a benchmark's figures are one process's CPU or
memory, and the simulator must not share the driver's event loop), waiting until each is
ready, reading a process's CPU time and resident memory from ``/proc``, and stopping
everything. PostgreSQL is :mod:`shoal_sim.benchmarks.postgres_process`'s; every fleet
starts one and migrates it before any worker. Workers run as ``python -m shoal worker``
with a pod's ``SHOAL_*`` environment: ``shoal_sim`` never imports ``shoal`` (an
import-linter contract), so this module knows the worker only by its command line, its
environment and its HTTP port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from shoal_sim.benchmarks.postgres_process import PostgresProcess
from shoal_sim.benchmarks.prometheus_text import sample_sum

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping, Sequence

__all__ = [
    "APPROVED_INTENTS",
    "CACHED_HIKARI",
    "UNCACHED_HIKARI",
    "WORKER",
    "Fleet",
    "HikariBotProcess",
    "PostgresProcess",
    "SimProcess",
    "WorkerProcess",
    "WorkerSpec",
    "cpu_seconds",
    "die_with_parent",
    "free_port",
    "install_uvloop",
    "rss_bytes",
    "running_fleet",
    "start_consumer",
    "wait_cpu_settled",
]

_CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
_PAGE_BYTES: Final = os.sysconf("SC_PAGE_SIZE")
_START_TIMEOUT_S: Final = 120.0  # 64 shards at a 5 s window would need 20 s; room for CI
_POLL_S: Final = 0.02  # readiness probes: short, so boot times are measured to ~20 ms
_STOP_GRACE_S: Final = 20.0
#: hikari's intents: GUILDS | GUILD_MESSAGES, what the benchmarks' events need.
MESSAGE_INTENTS: Final = (1 << 0) | (1 << 9)
#: The privileged intents a simulator approves (``--privileged-intents``): GUILD_MEMBERS,
#: which the worker's default intents ask for (onboarding, levels' member events); a
#: simulator that did not approve it would close every shard with 4014.
APPROVED_INTENTS: Final = 1 << 1


_PR_SET_PDEATHSIG: Final = 1  # from <linux/prctl.h>
_libc: Final = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Run in a child before exec: SIGKILL it when the benchmark dies (no orphan left)."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def install_uvloop() -> None:
    """Make uvloop the event loop policy of this process, as in production, if installed."""
    try:
        import uvloop  # noqa: PLC0415 - optional: absent on platforms uvloop does not build for
    except ImportError:
        return
    uvloop.install()


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """Return a process's user plus system CPU time so far (``/proc/<pid>/stat``)."""
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    # The command name (field 2) may hold spaces: count fields after its closing paren.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _CLK_TCK


def rss_bytes(pid: int) -> int:
    """Return a process's resident set size (``/proc/<pid>/statm``)."""
    statm = pathlib.Path(f"/proc/{pid}/statm").read_text(encoding="ascii").split()
    return int(statm[1]) * _PAGE_BYTES


async def wait_cpu_settled(pid: int, *, quiet_s: float = 0.5, idle_cpu_s: float = 0.01) -> float:
    """Wait until ``pid`` spends under ``idle_cpu_s`` CPU in ``quiet_s``; return its CPU time."""
    last = cpu_seconds(pid)
    while True:
        await asyncio.sleep(quiet_s)
        now = cpu_seconds(pid)
        if now - last < idle_cpu_s:
            return now
        last = now


async def _stop(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), _STOP_GRACE_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@dataclasses.dataclass(slots=True)
class RedisProcess:
    """A throwaway ``redis-server`` without persistence."""

    process: asyncio.subprocess.Process
    url: str

    @classmethod
    async def start(cls, workdir: pathlib.Path) -> RedisProcess:
        """Start it on a free port and wait until it answers PING."""
        binary = shutil.which("redis-server")
        if binary is None:
            msg = "redis-server is not on PATH (apt-get install redis-server)"
            raise RuntimeError(msg)
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            binary,
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(workdir)),
            stdout=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not await _answers_ping(port):
            if process.returncode is not None or time.monotonic() > deadline:
                msg = f"redis-server did not start on port {port}"
                raise RuntimeError(msg)
            await asyncio.sleep(_POLL_S)
        return cls(process, f"redis://127.0.0.1:{port}/0")

    async def stop(self) -> None:
        """Stop it."""
        await _stop(self.process, signal.SIGTERM)


async def _answers_ping(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        return (await reader.readline()).startswith(b"+PONG")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclasses.dataclass(slots=True)
class SimProcess:
    """The Discord simulator as ``python -m shoal sim discord``, and its control API."""

    process: asyncio.subprocess.Process
    rest_url: str
    http: aiohttp.ClientSession

    @property
    def control_url(self) -> str:
        """The control API's base (``.../_sim``)."""
        return self.rest_url.removesuffix("/api/v10") + "/_sim"

    @classmethod
    async def start(
        cls, workdir: pathlib.Path, options: Sequence[str], http: aiohttp.ClientSession
    ) -> SimProcess:
        """Start it with ``options`` (``--guilds`` ...) and wait until it listens."""
        url_file = workdir / "sim.url"
        with (workdir / "sim.log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "shoal", "sim", "discord", "--port", "0"),
                *("--url-file", str(url_file), "--log-level", "WARNING", *options),
                stdout=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
                stderr=log,
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not (url_file.exists() and url_file.read_text(encoding="utf-8").endswith("\n")):
            if process.returncode is not None or time.monotonic() > deadline:
                msg = f"the simulator did not start; see {workdir / 'sim.log'}"
                raise RuntimeError(msg)
            await asyncio.sleep(_POLL_S)
        return cls(process, url_file.read_text(encoding="utf-8").strip(), http)

    async def get(self, path: str) -> Any:  # noqa: ANN401 - JSON of the control API
        """Return ``GET /_sim{path}``."""
        async with self.http.get(self.control_url + path) as response:
            response.raise_for_status()
            return await response.json()

    async def post(self, path: str, body: Mapping[str, Any]) -> Any:  # noqa: ANN401 - JSON
        """Return ``POST /_sim{path}`` with ``body``."""
        async with self.http.post(self.control_url + path, json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def token(self) -> str:
        """Return the first application's bot token."""
        info = await self.get("/info")
        token: str = info["applications"][0]["token"]
        return token

    async def stop(self) -> None:
        """Stop it as Ctrl-C would."""
        await _stop(self.process, signal.SIGINT)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WorkerSpec:
    """What every worker of a fleet shares."""

    token: str
    rest_url: str
    redis_url: str
    total_shards: int
    shards_per_pod: int
    identify_window_s: float
    intents: int | None = None
    """``SHOAL_INTENTS``; the worker's default when None."""
    bot_name: str = "bench"
    postgres_dsn: str | None = None
    """``SHOAL_POSTGRES_DSN``; :meth:`Fleet.worker` fills in the fleet's when None."""


@dataclasses.dataclass(slots=True)
class WorkerProcess:
    """One ``shoal worker`` process and its health and metrics port."""

    process: asyncio.subprocess.Process
    http_port: int
    http: aiohttp.ClientSession

    @classmethod
    async def start(
        cls, spec: WorkerSpec, ordinal: int, workdir: pathlib.Path, http: aiohttp.ClientSession
    ) -> WorkerProcess:
        """Start pod ``ordinal`` (it boots at once; wait with :meth:`ready`)."""
        if spec.postgres_dsn is None:
            msg = "WorkerSpec.postgres_dsn is not set (Fleet.worker sets the fleet's)"
            raise ValueError(msg)
        port = free_port()
        env = {
            "SHOAL_TOKEN": spec.token,
            "SHOAL_REST_URL": spec.rest_url,
            "SHOAL_TOTAL_SHARDS": str(spec.total_shards),
            "SHOAL_SHARDS_PER_POD": str(spec.shards_per_pod),
            "SHOAL_POD_ORDINAL": str(ordinal),
            "SHOAL_POD_NAME": f"bench-{ordinal}",
            "SHOAL_GENERATION": "0",
            "SHOAL_REDIS_URL": spec.redis_url,
            "SHOAL_POSTGRES_DSN": spec.postgres_dsn,
            # Avatars for rank cards come from the simulator's CDN, never Discord's.
            "SHOAL_CDN_URL": spec.rest_url.removesuffix("/api/v10"),
            "SHOAL_BOT_NAME": spec.bot_name,
            "SHOAL_HTTP_HOST": "127.0.0.1",
            "SHOAL_HTTP_PORT": str(port),
            "SHOAL_LOG_JSON": "false",
            "SHOAL_LOG_LEVEL": "WARNING",
            "SHOAL_IDENTIFY_WINDOW_S": str(spec.identify_window_s),
        }
        if spec.intents is not None:
            env["SHOAL_INTENTS"] = str(spec.intents)
        with (workdir / f"worker-{ordinal}.log").open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "shoal", "worker"),
                env={**os.environ, **env},
                stdout=log,
                preexec_fn=die_with_parent,
                stderr=log,
            )
        return cls(process, port, http)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    async def is_ready(self) -> bool:
        """Return whether ``/readyz`` answers 200 (every local shard READY)."""
        try:
            async with self.http.get(f"http://127.0.0.1:{self.http_port}/readyz") as response:
                return response.status == 200  # noqa: PLR2004 - HTTP OK
        except aiohttp.ClientError:
            return False

    async def ready(self, timeout_s: float = _START_TIMEOUT_S) -> None:
        """Wait until :meth:`is_ready`."""
        deadline = time.monotonic() + timeout_s
        while not await self.is_ready():
            if self.process.returncode is not None or time.monotonic() > deadline:
                msg = f"worker pid {self.pid} did not become ready"
                raise RuntimeError(msg)
            await asyncio.sleep(_POLL_S)

    async def metrics_text(self) -> str:
        """Return ``/metrics`` (Prometheus text; parse it with `prometheus_text`)."""
        async with self.http.get(f"http://127.0.0.1:{self.http_port}/metrics") as response:
            return await response.text()

    async def metric(self, name: str, **labels: str) -> float:
        """Return the sum of ``name``'s samples carrying ``labels`` in ``/metrics`` (0: none)."""
        return sample_sum(await self.metrics_text(), name, **labels) or 0.0

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop it (SIGTERM: its shards close resumably)."""
        await _stop(self.process, sig)


@dataclasses.dataclass(slots=True)
class HikariBotProcess:
    """A plain hikari bot (:mod:`shoal_sim.benchmarks.hikari_consumer`)."""

    process: asyncio.subprocess.Process

    @classmethod
    async def start(
        cls, rest_url: str, token: str, shard_count: int, *, is_cached: bool
    ) -> HikariBotProcess:
        """Start one bot running every shard, listening to MESSAGE_CREATE; wait for READY."""
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "shoal_sim.benchmarks.hikari_consumer"),
            *("--rest-url", rest_url, "--token", token, "--shard-count", str(shard_count)),
            *("--shards", ",".join(map(str, range(shard_count))), "--listen"),
            *(() if not is_cached else ("--cache",)),
            stdout=subprocess.PIPE,
            preexec_fn=die_with_parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert process.stdout is not None  # noqa: S101 - PIPE above
        line = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT_S)
        if line.strip() != b"READY":
            msg = f"hikari bot failed to start: {line!r}"
            raise RuntimeError(msg)
        return cls(process)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    async def stop(self) -> None:
        """Stop it (it prints its sequences on SIGTERM; they are not needed here)."""
        await _stop(self.process, signal.SIGTERM)


@dataclasses.dataclass(slots=True)
class Fleet:
    """A benchmark's shared pieces: a scratch directory, Redis, PostgreSQL, an HTTP client."""

    workdir: pathlib.Path
    redis: RedisProcess
    postgres: PostgresProcess
    """Migrated before the fleet is handed out."""
    http: aiohttp.ClientSession
    children: list[SimProcess | WorkerProcess | HikariBotProcess] = dataclasses.field(
        default_factory=list
    )

    async def simulator(self, options: Sequence[str]) -> SimProcess:
        """Start a simulator process that is stopped with the fleet."""
        sim = await SimProcess.start(self.workdir, options, self.http)
        self.children.append(sim)
        return sim

    async def worker(self, spec: WorkerSpec, ordinal: int) -> WorkerProcess:
        """Start a worker process that is stopped with the fleet (on its PostgreSQL if unset)."""
        if spec.postgres_dsn is None:
            spec = dataclasses.replace(spec, postgres_dsn=self.postgres.dsn)
        worker = await WorkerProcess.start(spec, ordinal, self.workdir, self.http)
        self.children.append(worker)
        return worker


@contextlib.asynccontextmanager
async def running_fleet(logs: pathlib.Path | None = None) -> AsyncIterator[Fleet]:
    """Start Redis, a migrated PostgreSQL and an HTTP client; stop every child at the end.

    Args:
        logs: where the children's logs go (kept); a scratch directory when None.
    """
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as scratch:
        workdir = logs or pathlib.Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        redis = await RedisProcess.start(workdir)
        try:
            postgres = await PostgresProcess.start(
                workdir / "postgres.log", free_port(), die_with_parent
            )
            try:
                await postgres.migrate(workdir / "migrate.log")
                async with aiohttp.ClientSession() as http:
                    fleet = Fleet(workdir, redis, postgres, http)
                    try:
                        yield fleet
                    finally:
                        for child in reversed(fleet.children):
                            await child.stop()
            finally:
                await postgres.stop()
        finally:
            await redis.stop()


#: The consumers the CPU and memory benchmarks compare, by their printed names.
WORKER: Final = "shoal worker"
CACHED_HIKARI: Final = "hikari, default cache"
UNCACHED_HIKARI: Final = "hikari, cache off"


async def start_consumer(
    fleet: Fleet, consumer: str, *, rest_url: str, token: str, shards: int, bot_name: str
) -> WorkerProcess | HikariBotProcess:
    """Start one consumer of all ``shards`` (a Shoal worker or plain hikari) and wait for it."""
    if consumer == WORKER:
        spec = WorkerSpec(
            token=token,
            rest_url=rest_url,
            redis_url=fleet.redis.url,
            total_shards=shards,
            shards_per_pod=shards,
            identify_window_s=0.05,
            intents=MESSAGE_INTENTS,
            bot_name=bot_name,
        )
        worker = await fleet.worker(spec, 0)
        await worker.ready()
        return worker
    return await HikariBotProcess.start(
        rest_url, token, shards, is_cached=consumer == CACHED_HIKARI
    )
