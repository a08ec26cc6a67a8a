"""Child processes of a local run: they die with their parent, and stop with a signal.

Owns what every child of ``shoal local up`` and of the test suite shares: picking a free
port on 127.0.0.1, starting a program in its own session (so a terminal's Ctrl-C reaches
only the parent, which then stops its children in order) that is killed if its parent dies
(PR_SET_PDEATHSIG, so even a killed run leaves nothing behind), optionally as another
account, waiting on a readiness probe rather than a sleep, and stopping a child with its
own graceful signal before SIGKILL. Does not own any server's flags, probe or data: see
:mod:`shoal.local.servers`.

PR_SET_PDEATHSIG fires when the *thread* that started the child ends, so start children
from a thread that lives as long as they do (the main thread, or the event loop's).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

__all__ = [
    "LOOPBACK_HOST",
    "Account",
    "ServerProcess",
    "ServerStartError",
    "child_environment",
    "free_loopback_port",
    "log_tail",
    "start_child",
    "start_server",
    "stop_child",
    "stop_process",
]

LOOPBACK_HOST: Final = "127.0.0.1"
"""Local servers listen here only: nothing is exposed beyond this machine."""

_READY_TIMEOUT_S: Final = 30.0  # a cold PostgreSQL start is ~1 s; headroom for a loaded CI
_POLL_INTERVAL_S: Final = 0.02  # between probes; short so that start-up stays fast
_STOP_TIMEOUT_S: Final = 15.0  # graceful shutdown before SIGKILL
_PORT_ATTEMPTS: Final = 3  # a port found free can be taken before the server binds it
_LOG_TAIL_CHARS: Final = 4_000  # enough of a log to show why a program failed
_PR_SET_PDEATHSIG: Final = 1  # from <linux/prctl.h>

_libc: Final = ctypes.CDLL(None, use_errno=True)


class ServerStartError(RuntimeError):
    """A server could not be started or did not become ready; the message holds its log."""


@dataclass(frozen=True, slots=True)
class Account:
    """A system account to run a server as (PostgreSQL refuses to run as root)."""

    uid: int
    """Numeric user id."""
    gid: int
    """Numeric primary group id."""


@dataclass(frozen=True, slots=True)
class ServerProcess:
    """A started server that answered its readiness probe."""

    name: str
    """Human name used in messages, e.g. ``"redis-server"``."""
    process: subprocess.Popen[bytes]
    """The running server."""
    port: int
    """The TCP port it listens on, on `LOOPBACK_HOST`."""
    log_path: Path
    """Its stdout and stderr."""
    stop_signal: signal.Signals
    """The signal that shuts it down gracefully."""

    def stop(self) -> None:
        """Stop the server: its graceful signal first, SIGKILL if that takes too long."""
        stop_process(self.process, self.stop_signal)


def free_loopback_port() -> int:
    """Return a TCP port that is free on `LOOPBACK_HOST` now (another process may take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment of a child: this process's, plus ``extra``.

    The parent's environment passes through untouched (PATH, locale, the virtualenv); no
    setting is read from it here. Messages of children are in English, whatever the host.
    """
    return {**os.environ, "LC_ALL": "C", **(extra or {})}


def start_server(
    *,
    name: str,
    argv_for_port: Callable[[int], Sequence[str]],
    is_ready: Callable[[int], bool],
    log_path: Path,
    cwd: Path,
    stop_signal: signal.Signals,
    account: Account | None = None,
) -> ServerProcess:
    """Start a server on a free loopback port and wait until its probe says it is ready.

    Args:
        name: Human name used in messages.
        argv_for_port: Builds the command line for a given port.
        is_ready: Readiness probe for a given port; must not block for long.
        log_path: Where the server's output goes (appended to across attempts).
        cwd: Working directory of the server, readable by `account`.
        stop_signal: The signal that shuts the server down gracefully.
        account: Run as this account instead of the current one.

    Returns:
        The ready server. Call `ServerProcess.stop` when done.

    Raises:
        ServerStartError: when it exits before it is ready (every attempt) or is not ready
            in time; the message ends with its log.
    """
    for _ in range(_PORT_ATTEMPTS):
        port = free_loopback_port()
        process = _spawn(argv_for_port(port), log_path=log_path, cwd=cwd, account=account)
        probe = functools.partial(is_ready, port)
        if _wait_until_ready(process, probe, name=name, log_path=log_path):
            return ServerProcess(name, process, port, log_path, stop_signal)
        # It exited before becoming ready; most often the port was taken meanwhile.
    raise ServerStartError(
        f"{name} exited before it was ready, {_PORT_ATTEMPTS} times; its log:\n{log_tail(log_path)}"
    )


def stop_process(process: subprocess.Popen[bytes], stop_signal: signal.Signals) -> None:
    """Stop ``process`` with ``stop_signal``, SIGKILL if it takes too long, and reap it."""
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


async def start_child(
    argv: Sequence[str], *, log_path: Path, env: Mapping[str, str], cwd: Path | None = None
) -> asyncio.subprocess.Process:
    """Start a program whose stdout and stderr go to ``log_path``; it dies with this one.

    Raises:
        OSError: when the program cannot be started (e.g. not found).
    """
    with log_path.open("ab") as log:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,  # Ctrl-C reaches the parent, which stops children in order
            preexec_fn=_die_with_parent,  # see _die_with_parent
        )


async def stop_child(
    process: asyncio.subprocess.Process,
    stop_signal: signal.Signals = signal.SIGTERM,
    *,
    timeout_s: float = _STOP_TIMEOUT_S,
) -> int:
    """Stop a child with ``stop_signal``, SIGKILL after ``timeout_s``; return its exit code."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            process.send_signal(stop_signal)
        try:
            async with asyncio.timeout(timeout_s):
                return await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
    return await process.wait()


def log_tail(log_path: Path) -> str:
    """Return the end of a log, enough to show why a program failed."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError as error:
        return f"(no log: {error})"
    return text[-_LOG_TAIL_CHARS:]


def _die_with_parent() -> None:
    # Runs in the child between fork and exec, after it switched account (a switch would reset
    # the setting). prctl(2) takes no locks, so this is safe in a threaded parent.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn(
    argv: Sequence[str], *, log_path: Path, cwd: Path, account: Account | None
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 -- argv is built by the callers, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=child_environment(),
            start_new_session=True,  # Ctrl-C reaches the parent, which then stops the server
            preexec_fn=_die_with_parent,  # noqa: PLW1509 -- see _die_with_parent
            user=account.uid if account else None,
            group=account.gid if account else None,
            extra_groups=[] if account else None,
        )


def _wait_until_ready(
    process: subprocess.Popen[bytes], is_ready: Callable[[], bool], *, name: str, log_path: Path
) -> bool:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if is_ready():
            return True
        time.sleep(_POLL_INTERVAL_S)
    stop_process(process, signal.SIGKILL)
    raise ServerStartError(
        f"{name} was not ready after {_READY_TIMEOUT_S:.0f} s; its log:\n{log_tail(log_path)}"
    )
