"""A throwaway PostgreSQL for the fleet benchmarks, migrated by ``shoal migrate``.

Owns starting ``initdb`` and ``postgres`` as child processes (trust auth, user ``bench``,
no fsync, a free loopback port), waiting until the server accepts sessions, running
``python -m shoal migrate`` against it before any worker starts, and reading the
figures the benchmarks need from it (``pg_stat_database``). As root, both binaries run as
the ``postgres`` account (PostgreSQL refuses to run as root), in a directory of their own
under the system's temporary directory that the account owns.

``shoal_sim`` never imports ``shoal`` (an import-linter contract), so this module repeats
what ``shoal.local.servers`` does instead of calling it, and knows Shoal's schema only by
the migrations its CLI applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import pathlib
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Final

import asyncpg

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DATABASE", "READS_DATABASE", "PostgresProcess", "find_postgres_bin_dir"]

#: The database initdb makes; the workers use it.
DATABASE: Final = "postgres"
#: Where the benchmarks' own reads of ``pg_stat_database`` run: a database of their own,
#: so those reads never count in the workers' ``xact_commit``.
READS_DATABASE: Final = "bench_reads"
_USER: Final = "bench"
_ACCOUNT: Final = "postgres"  # made by Debian's postgresql package
_DEBIAN_ROOT: Final = pathlib.Path("/usr/lib/postgresql")
_START_TIMEOUT_S: Final = 60.0
_POLL_S: Final = 0.05
_STOP_GRACE_S: Final = 20.0
_SETTINGS: Final = (
    "fsync=off",  # a throwaway cluster: durability costs time and proves nothing here
    "synchronous_commit=off",
    "full_page_writes=off",
    "max_connections=200",
    "log_min_messages=warning",
)


def find_postgres_bin_dir() -> pathlib.Path | None:
    """Return the directory holding ``initdb`` and ``postgres`` (PATH, then Debian's)."""
    candidates: list[pathlib.Path] = []
    on_path = shutil.which("postgres")
    if on_path is not None:
        candidates.append(pathlib.Path(on_path).resolve().parent)
    versioned = [d for d in _DEBIAN_ROOT.glob("*/bin") if d.parent.name.isdigit()]
    candidates.extend(sorted(versioned, key=lambda d: int(d.parent.name), reverse=True))
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in ("initdb", "postgres")):
            return directory
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class _Account:
    uid: int
    gid: int


def _account() -> _Account | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(_ACCOUNT)
    except KeyError:
        msg = f"running as root needs the {_ACCOUNT!r} account (PostgreSQL refuses root)"
        raise RuntimeError(msg) from None
    return _Account(entry.pw_uid, entry.pw_gid)


def _child_setup(
    account: _Account | None, die_with_parent: Callable[[], None]
) -> Callable[[], None]:
    """Return what a child runs before exec: die with us, and drop to ``account`` if any.

    A ``preexec_fn`` rather than ``user=``/``group=``: uvloop's subprocesses take neither.
    """

    def setup() -> None:
        die_with_parent()
        if account is not None:
            os.setgroups([])
            os.setgid(account.gid)
            os.setuid(account.uid)

    return setup


@dataclasses.dataclass(slots=True)
class PostgresProcess:
    """A throwaway ``postgres`` server with Shoal's migrations applied."""

    process: asyncio.subprocess.Process
    port: int
    directory: pathlib.Path
    """The cluster's own directory (data and socket), deleted by :meth:`stop`."""

    @property
    def dsn(self) -> str:
        """The workers' DSN (database ``postgres``)."""
        return self.dsn_for(DATABASE)

    def dsn_for(self, database: str) -> str:
        """Return the DSN of another database of this server."""
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{database}"

    @classmethod
    async def start(
        cls, log_path: pathlib.Path, port: int, die_with_parent: Callable[[], None]
    ) -> PostgresProcess:
        """Make a cluster, serve it on ``port`` and wait until it accepts sessions.

        Args:
            log_path: Where the server's and ``initdb``'s output goes.
            port: A free loopback port.
            die_with_parent: Run in the children before exec (no orphan server).

        Raises:
            RuntimeError: A binary or the account is missing, or the server did not start.
        """
        bin_dir = find_postgres_bin_dir()
        if bin_dir is None:
            msg = "initdb and postgres are not installed (apt-get install postgresql)"
            raise RuntimeError(msg)
        account = _account()
        # Directly under /tmp: reachable by the postgres account, and a short socket path.
        directory = pathlib.Path(tempfile.mkdtemp(prefix="shoal-bench-pg-"))
        if account is not None:
            os.chown(directory, account.uid, account.gid)
        data = directory / "data"
        setup = _child_setup(account, die_with_parent)
        with log_path.open("ab") as log:
            initdb = await asyncio.create_subprocess_exec(
                str(bin_dir / "initdb"),
                *(f"--pgdata={data}", f"--username={_USER}", "--auth=trust"),
                *("--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"),
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=setup,
            )
            if await initdb.wait() != 0:
                shutil.rmtree(directory, ignore_errors=True)
                msg = f"initdb failed; see {log_path}"
                raise RuntimeError(msg)
            process = await asyncio.create_subprocess_exec(
                str(bin_dir / "postgres"),
                *(f"-D{data}", f"-p{port}", "-clisten_addresses=127.0.0.1"),
                f"-cunix_socket_directories={directory}",
                *(f"-c{setting}" for setting in _SETTINGS),
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=setup,
            )
        server = cls(process, port, directory)
        try:
            await server._wait_ready(log_path)
            connection = await asyncpg.connect(server.dsn)
            try:
                await connection.execute(f"CREATE DATABASE {READS_DATABASE}")
            finally:
                await connection.close()
        except BaseException:
            await server.stop()
            raise
        return server

    async def _wait_ready(self, log_path: pathlib.Path) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                connection = await asyncpg.connect(self.dsn, timeout=1.0)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                if self.process.returncode is not None or time.monotonic() > deadline:
                    msg = f"postgres did not start on port {self.port}; see {log_path}"
                    raise RuntimeError(msg) from None
                await asyncio.sleep(_POLL_S)
            else:
                await connection.close()
                return

    async def migrate(self, log_path: pathlib.Path) -> None:
        """Run ``python -m shoal migrate`` against it (every feature's migrations).

        Raises:
            RuntimeError: The command failed (its output is in ``log_path``).
        """
        env = {
            **os.environ,
            "SHOAL_POSTGRES_DSN": self.dsn,
            "SHOAL_LOG_JSON": "false",
            "SHOAL_LOG_LEVEL": "WARNING",
        }
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "shoal", "migrate"),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
            code = await process.wait()
        if code != 0:
            msg = f"shoal migrate exited with {code}; see {log_path}"
            raise RuntimeError(msg)

    async def xact_commit(self) -> int:
        """Return the workers' database's committed transactions (``pg_stat_database``).

        Read from :data:`READS_DATABASE`, so this read is not among them.
        """
        connection = await asyncpg.connect(self.dsn_for(READS_DATABASE))
        try:
            value = await connection.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", DATABASE
            )
        finally:
            await connection.close()
        return int(value)

    async def backends(self) -> int:
        """Return how many sessions are open on the workers' database."""
        connection = await asyncpg.connect(self.dsn_for(READS_DATABASE))
        try:
            value = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", DATABASE
            )
        finally:
            await connection.close()
        return int(value)

    async def stop(self) -> None:
        """Stop it ("fast" shutdown) and delete its directory."""
        process = self.process
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), _STOP_GRACE_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
