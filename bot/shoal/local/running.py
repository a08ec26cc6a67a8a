"""``shoal local up``: a whole Shoal fleet on this machine, until Ctrl-C.

The entry point of a local run: it parses the arguments, makes the working directory,
turns SIGINT and SIGTERM into a requested stop, runs :class:`~.launching.LocalRun` (which
starts the servers, the simulator, the workers and the reshard controller, and stops them
in the reverse order) and chooses the exit status. The working directory (servers' data,
every log) is deleted after a clean run and kept, with its path printed, otherwise.

Owns the process-level concerns and the exit status. Does not own the order of a run
(:mod:`.launching`), what happens while it runs (:mod:`.supervising`) nor any decision
(:mod:`shoal.local.plans`, :mod:`shoal.local.status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

from shoal.local.launching import LocalRun, Migrate
from shoal.local.options import build_local_parser, local_options
from shoal.local.watching import StatusBoard

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from shoal.local.options import LocalOptions

__all__ = ["Migrate", "local_up", "run_local_up"]

_WORKDIR_MODE: Final = 0o711  # as root, the postgres account must reach its subdirectory


async def local_up(
    options: LocalOptions,
    *,
    migrate: Migrate | None = None,
    stream: TextIO | None = None,
) -> int:
    """Run a local fleet until SIGINT or SIGTERM (or ``options.duration_s``).

    Run it on the main thread's event loop: it handles SIGINT and SIGTERM while it runs,
    and its children are tied to the thread that started them (PR_SET_PDEATHSIG).

    Args:
        options: What to run.
        migrate: Applies the schema to the fleet's PostgreSQL before the workers start.
        stream: Where the status goes (default stdout; a terminal gets a live table).

    Returns:
        0 after a requested stop, 1 when the run could not start or go on (the reason is
        written to the stream).
    """
    out = stream or sys.stdout
    board = StatusBoard(out, is_live=out.isatty())
    stop = asyncio.Event()
    if options.workdir is not None and _has_files(options.workdir):
        board.say(f"shoal local up: --workdir {options.workdir} is not empty: give a new one")
        return 1
    workdir = _make_workdir(options.workdir)
    run = LocalRun(options, board, stop, workdir)
    with _stop_on_signals(stop):
        await run.run(migrate)
    outcome = run.outcome
    if outcome.is_clean and not outcome.is_failed and options.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
        return 0
    board.say(f"Logs and data kept in {workdir}")
    return 0 if run.is_stop_requested and not outcome.is_failed else 1


def run_local_up(
    argv: Sequence[str],
    environ: Mapping[str, str],
    *,
    migrate: Migrate | None = None,
    prog: str = "shoal local up",
) -> int:
    """Parse ``shoal local up`` arguments and run it in a new event loop; return the status."""
    parser = build_local_parser(prog)
    args = parser.parse_args(argv)
    try:
        options = local_options(args, environ)
    except ValueError as exc:
        parser.error(str(exc))
    return asyncio.run(local_up(options, migrate=migrate))


def _has_files(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def _make_workdir(chosen: Path | None) -> Path:
    if chosen is None:
        workdir = Path(tempfile.mkdtemp(prefix="shoal-local-"))
    else:  # --workdir: made if missing; the run's files go in fresh subdirectories
        workdir = chosen.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(_WORKDIR_MODE)
    return workdir


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
