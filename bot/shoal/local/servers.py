"""Throwaway Redis and PostgreSQL servers started from the local binaries.

Owns how ``shoal local up`` and the test suite run their own servers: `start_redis` runs
`redis-server` with no persistence, `start_postgres` makes a cluster with `initdb` (trust
auth, user ``shoal``, no fsync) and serves it with `postgres`; both listen on a free
loopback port, in a working directory the caller gives (and later deletes), and answer a
readiness probe before they are returned. As root, PostgreSQL runs as the ``postgres``
account (it refuses to run as root). PostgreSQL binaries are found on PATH or in Debian's
/usr/lib/postgresql/<version>/bin (the highest version wins).

Does not own process handling (:mod:`shoal.local.spawning`), Shoal's key names or schema
(:mod:`shoal.storage`), nor per-test isolation (the test fixtures).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from shoal.local.spawning import (
    LOOPBACK_HOST,
    Account,
    ServerProcess,
    ServerStartError,
    child_environment,
    start_server,
)

__all__ = [
    "MissingBinaryError",
    "RunningServer",
    "ServerStartError",
    "find_postgres_bin_dir",
    "start_postgres",
    "start_redis",
]

_APT_COMMAND: Final = (
    "sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server postgresql"
)
_PROBE_TIMEOUT_S: Final = 1.0  # one exchange on loopback; a ready server answers in microseconds

_POSTGRES_USER: Final = "shoal"
_POSTGRES_DATABASE: Final = "postgres"  # made by initdb; a throwaway cluster needs no other
_POSTGRES_ACCOUNT: Final = "postgres"  # made by Debian's postgresql package
_DEBIAN_POSTGRES_ROOT: Final = Path("/usr/lib/postgresql")
_PROTOCOL_3_0: Final = 196_608  # (3 << 16) | 0, the frontend/backend protocol version
_TERMINATE: Final = b"X\x00\x00\x00\x04"  # Terminate message: a polite goodbye, no log noise


class MissingBinaryError(RuntimeError):
    """A server binary (or the account to run it as) is not installed on this machine."""

    def __init__(self, what: str) -> None:
        """Say what is missing and how to install it.

        Args:
            what: The missing program(s), named for a person.
        """
        super().__init__(
            f"{what} not found. Run scripts/bootstrap.sh: as root it installs the Debian "
            "packages (redis-server, postgresql); otherwise it prints the apt-get command to "
            f"run, which is: {_APT_COMMAND}"
        )
        self.what = what


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A throwaway server that answered its readiness probe."""

    url: str
    """Where to connect: ``redis://127.0.0.1:<port>/0`` or, for PostgreSQL, the DSN
    ``postgresql://shoal@127.0.0.1:<port>/postgres``."""
    server: ServerProcess
    """The server process (port, log)."""

    def stop(self) -> None:
        """Stop the server gracefully (SIGKILL if it takes too long); its data stays."""
        self.server.stop()


# -- Redis -------------------------------------------------------------------------------------


def start_redis(workdir: Path) -> RunningServer:
    """Start `redis-server` without persistence, its log and files in ``workdir``.

    Raises:
        MissingBinaryError: when `redis-server` is not on PATH.
        ServerStartError: when it does not become ready (the message holds its log).
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise MissingBinaryError("redis-server")
    server = start_server(
        name="redis-server",
        argv_for_port=lambda port: [binary, *_redis_flags(port=port, workdir=workdir)],
        is_ready=_redis_answers_ping,
        log_path=workdir / "redis.log",
        cwd=workdir,
        stop_signal=signal.SIGTERM,
    )
    return RunningServer(f"redis://{LOOPBACK_HOST}:{server.port}/0", server)


def _redis_flags(*, port: int, workdir: Path) -> list[str]:
    options = {
        "port": str(port),
        "bind": LOOPBACK_HOST,
        "dir": str(workdir),
        "save": "",  # no snapshots: a throwaway server's data is disposable
        "appendonly": "no",
        "daemonize": "no",
        "loglevel": "warning",
    }
    return [part for name, value in options.items() for part in (f"--{name}", value)]


def _redis_answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK_HOST, port), timeout=_PROBE_TIMEOUT_S) as sock:
            sock.sendall(b"PING\r\n")  # inline command: no RESP framing needed
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


# -- PostgreSQL --------------------------------------------------------------------------------


def start_postgres(workdir: Path) -> RunningServer:
    """Make a cluster in ``workdir`` with `initdb` and serve it on a free loopback port.

    ``workdir`` holds the server's unix socket, so keep its path short (a socket path has
    at most 107 bytes). As root it is handed to the ``postgres`` account, which must be able
    to reach it (a directory made by `tempfile.mkdtemp` directly under /tmp is).

    Raises:
        MissingBinaryError: when `initdb` or `postgres` (or, as root, the ``postgres``
            account) is missing.
        ServerStartError: when `initdb` fails or the server does not become ready.
    """
    bin_dir = find_postgres_bin_dir()
    if bin_dir is None:
        raise MissingBinaryError(
            f"PostgreSQL server binaries (initdb, postgres; PATH, {_DEBIAN_POSTGRES_ROOT})"
        )
    account = _postgres_account()
    if account is not None:
        os.chown(workdir, account.uid, account.gid)
    data_dir = workdir / "data"
    _initdb(bin_dir, data_dir, cwd=workdir, account=account)
    server = start_server(
        name="postgres",
        argv_for_port=lambda port: [
            str(bin_dir / "postgres"),
            f"-D{data_dir}",
            f"-p{port}",
            *(f"-c{setting}" for setting in _postgres_settings(socket_dir=workdir)),
        ],
        is_ready=_postgres_accepts_sessions,
        log_path=workdir / "postgres.log",
        cwd=workdir,
        stop_signal=signal.SIGINT,  # "fast" shutdown: ends sessions, no checkpoint wait
        account=account,
    )
    dsn = f"postgresql://{_POSTGRES_USER}@{LOOPBACK_HOST}:{server.port}/{_POSTGRES_DATABASE}"
    return RunningServer(dsn, server)


def find_postgres_bin_dir() -> Path | None:
    """Return the directory holding `initdb` and `postgres`, or None when there is none."""
    candidates: list[Path] = []
    on_path = shutil.which("postgres")
    if on_path is not None:
        candidates.append(Path(on_path).resolve().parent)  # Debian's PATH entries are symlinks
    versioned = [d for d in _DEBIAN_POSTGRES_ROOT.glob("*/bin") if d.parent.name.isdigit()]
    candidates.extend(sorted(versioned, key=lambda d: int(d.parent.name), reverse=True))
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in ("initdb", "postgres")):
            return directory
    return None


def _postgres_settings(*, socket_dir: Path) -> list[str]:
    return [
        f"listen_addresses={LOOPBACK_HOST}",
        f"unix_socket_directories={socket_dir}",  # private; never the system's /run/postgresql
        "fsync=off",  # durability is pointless for a throwaway cluster; speed is not
        "synchronous_commit=off",
        "full_page_writes=off",
        "max_connections=200",  # room for a pool per test or per worker
        "log_min_messages=warning",
    ]


def _postgres_account() -> Account | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(_POSTGRES_ACCOUNT)
    except KeyError:
        raise MissingBinaryError(
            f"the {_POSTGRES_ACCOUNT!r} account (PostgreSQL will not run as root)"
        ) from None
    return Account(uid=entry.pw_uid, gid=entry.pw_gid)


def _postgres_accepts_sessions(port: int) -> bool:
    # What pg_isready does: a startup message; AuthenticationOk ("R") means it is accepting.
    # While starting up, the server answers with an error ("E") instead.
    parameters = f"user\0{_POSTGRES_USER}\0database\0{_POSTGRES_DATABASE}\0\0".encode()
    startup = struct.pack("!ii", 8 + len(parameters), _PROTOCOL_3_0) + parameters
    try:
        with socket.create_connection((LOOPBACK_HOST, port), timeout=_PROBE_TIMEOUT_S) as sock:
            sock.sendall(startup)
            is_accepting = sock.recv(1) == b"R"
            if is_accepting:
                sock.sendall(_TERMINATE)
            return is_accepting
    except OSError:
        return False


def _initdb(bin_dir: Path, data_dir: Path, *, cwd: Path, account: Account | None) -> None:
    result = subprocess.run(  # noqa: S603 -- fixed argv, no shell
        [
            str(bin_dir / "initdb"),
            f"--pgdata={data_dir}",
            f"--username={_POSTGRES_USER}",
            "--auth=trust",  # loopback and a private socket dir; nothing else can reach it
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # the cluster is thrown away; skip the fsync of every file
            "--no-instructions",
        ],
        cwd=cwd,
        env=child_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        user=account.uid if account else None,
        group=account.gid if account else None,
        extra_groups=[] if account else None,
    )
    if result.returncode != 0:
        raise ServerStartError(
            f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
