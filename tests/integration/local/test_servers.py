"""Throwaway Redis and PostgreSQL: they start, serve, stop, fail clearly and die with us."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Final

import asyncpg
import pytest
from redis.asyncio import Redis

from shoal.local import servers, spawning
from tests.integration.local.process_table import is_alive

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_GONE_TIMEOUT_S: Final = 10.0
_POLL_S: Final = 0.02


def _is_listening(port: int) -> bool:
    try:
        with socket.create_connection((spawning.LOOPBACK_HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _stopped_afterwards(server: servers.RunningServer) -> Iterator[None]:
    """Stop ``server`` after the block, then check it exited cleanly and closed its port."""
    try:
        yield
    finally:
        server.stop()
    assert server.server.process.returncode == 0
    assert not _is_listening(server.server.port)


async def test_start_redis_serves_and_stops_when_started_in_workdir(workdir: Path) -> None:
    server = servers.start_redis(workdir)
    with _stopped_afterwards(server):
        client = Redis.from_url(server.url)
        try:
            await client.set("greeting", "hello")
            assert await client.get("greeting") == b"hello"
        finally:
            await client.aclose()

    assert server.url == f"redis://127.0.0.1:{server.server.port}/0"


async def test_start_postgres_serves_and_stops_when_started_in_workdir(workdir: Path) -> None:
    server = servers.start_postgres(workdir)
    with _stopped_afterwards(server):
        connection = await asyncpg.connect(server.url)
        try:
            assert await connection.fetchval("SELECT current_user") == "shoal"
        finally:
            await connection.close()

    assert server.url == f"postgresql://shoal@127.0.0.1:{server.server.port}/postgres"


def test_start_redis_raises_missing_binary_error_when_not_installed(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(workdir))  # an empty directory: nothing to find

    with pytest.raises(servers.MissingBinaryError) as raised:
        servers.start_redis(workdir)

    message = str(raised.value)
    assert message.startswith("redis-server not found.")
    assert "scripts/bootstrap.sh" in message
    assert "apt-get install -y --no-install-recommends redis-server postgresql" in message


def test_start_server_raises_start_error_with_log_when_program_exits_early(
    workdir: Path,
) -> None:
    with pytest.raises(spawning.ServerStartError) as raised:
        spawning.start_server(
            name="broken",
            argv_for_port=lambda port: ["sh", "-c", f"echo cannot bind {port}; exit 3"],
            is_ready=lambda _: False,
            log_path=workdir / "broken.log",
            cwd=workdir,
            stop_signal=signal.SIGTERM,
        )

    message = str(raised.value)
    assert message.startswith("broken exited before it was ready, 3 times; its log:\n")
    assert message.count("cannot bind") == 3  # one line per attempt, each on another port


def test_start_redis_leaves_no_server_when_its_parent_is_killed(workdir: Path) -> None:
    script = (
        "import sys, pathlib\n"
        "from shoal.local.servers import start_redis\n"
        "server = start_redis(pathlib.Path(sys.argv[1]))\n"
        "print(server.server.process.pid, flush=True)\n"
        "sys.stdin.read()\n"  # until killed
    )
    parent = subprocess.Popen(  # noqa: S603 -- fixed argv
        [sys.executable, "-c", script, str(workdir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        redis_pid = int(parent.stdout.readline())
        assert is_alive(redis_pid)
        parent.kill()  # SIGKILL: the parent cannot clean up
        parent.wait()
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.communicate()

    deadline = time.monotonic() + _GONE_TIMEOUT_S
    while is_alive(redis_pid):
        assert time.monotonic() < deadline, "redis-server outlived its killed parent"
        time.sleep(_POLL_S)


async def test_stop_child_kills_child_when_it_ignores_its_stop_signal(workdir: Path) -> None:
    ignoring = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    log = workdir / "child.log"
    child = await spawning.start_child(
        [sys.executable, "-c", ignoring], log_path=log, env=spawning.child_environment()
    )
    while "up" not in log.read_text():  # the handler is installed before "up" is printed
        assert child.returncode is None
        await asyncio.sleep(_POLL_S)

    code = await spawning.stop_child(child, signal.SIGTERM, timeout_s=0.2)

    assert code == -signal.SIGKILL
