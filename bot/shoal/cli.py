"""The ``shoal`` command line: one entry point for the worker's tools and the simulators.

This module is the only place in ``shoal`` allowed to import ``shoal_sim`` (an
import-linter contract enforces it): the worker and the simulators never share code.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

_LOCAL_GUILDS = 20_000
_USAGE = """usage: shoal <command> [options]

commands:
  local up          run Shoal locally against the simulators (no Discord account needed)
  sim discord       run the Discord simulator (REST, gateway, /_sim control API)

Run 'shoal <command> --help' for a command's options.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``shoal`` command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["sim", "discord"]:
        from shoal_sim.discord import cli as sim_cli  # noqa: PLC0415 - simulator only on demand

        return sim_cli.main(args[2:])
    if args[:2] == ["local", "up"]:
        return _local_up(args[2:])
    if args and args[0] in ("-h", "--help", "help"):
        sys.stdout.write(_USAGE)
        return 0
    sys.stderr.write(_USAGE)
    return 2


def _local_up(argv: list[str]) -> int:
    """Run the local fleet. Until the worker lands, that is the Discord simulator alone."""
    parser = argparse.ArgumentParser(
        prog="shoal local up", description="Run Shoal locally against the simulators."
    )
    parser.add_argument(
        "--guilds", type=int, default=_LOCAL_GUILDS, help="guilds of the simulated bot"
    )
    parser.add_argument("--port", type=int, default=0, help="simulator port (0 picks one)")
    args, rest = parser.parse_known_args(argv)
    from shoal_sim.discord import cli as sim_cli  # noqa: PLC0415 - simulator only on demand

    return sim_cli.main(
        [
            "--guilds",
            str(args.guilds),
            "--port",
            str(args.port),
            "--members-per-guild",
            "30",
            *rest,
        ],
        prog="shoal local up",
    )
