"""The ``shoal`` command line: one entry point for the worker's tools and the simulators.

This module is the only place in ``shoal`` allowed to import ``shoal_sim`` (an
import-linter contract enforces it): the worker and the simulators never share code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Final

from shoal.config import (
    SettingsError,
    discord_settings,
    log_settings,
    postgres_settings,
    redis_settings,
    worker_settings,
)
from shoal.config_variables import COMMAND_ENVIRONMENTS, variables_help
from shoal.planning.registry_staleness import STALE_AFTER_S

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence

    from shoal.config import RedisSettings

__all__ = ["main"]

_USAGE = """usage: shoal <command> [options]

commands:
  local up          run Shoal locally against the simulators (no Discord account needed)
  worker            run this pod's shards (settings from SHOAL_* variables)
  migrate           apply pending database migrations (SHOAL_POSTGRES_DSN)
  sync-commands     register every feature's commands with Discord (SHOAL_TOKEN)
  status            show the shard registry: shards, states, guilds per generation
  operator          run the Kubernetes operator (settings from SHOAL_OPERATOR_* variables)
  sim discord       run the Discord simulator (REST, gateway, /_sim control API)

Run 'shoal <command> --help' for a command's options.
"""
#: What ``shoal <command> --help`` says each settings-only command does.
_COMMANDS: Final = {
    "worker": (
        "Run this pod's shards: connect them to Discord (each IDENTIFY waits at the\n"
        "cluster-wide gate in Redis), keep their sessions and the shard registry in Redis,\n"
        "answer commands, and serve /livez, /readyz and /metrics. SIGTERM stops it with\n"
        "resumable sessions; a fatal close code (4004, 4010-4014) exits with status 3."
    ),
    "migrate": (
        "Apply the pending PostgreSQL migrations, then exit (safe when several run at once)."
    ),
    "sync-commands": (
        "Register every feature's application commands with Discord once, then exit\n"
        "(workers never sync)."
    ),
    "status": (
        "Print the shard registry: for each generation, its shards ready, guilds and pods,\n"
        "then each shard's state, guilds, latency, pod and age. An entry its worker has not\n"
        f"rewritten for {STALE_AFTER_S:g} s shows as 'stale (ready N s ago)' and is not "
        "counted as ready."
    ),
}
#: Longest user input echoed back in an error message.
_SHOWN_MAX: Final = 40


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one return per command
    """Run the ``shoal`` command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["sim", "discord"]:
        from shoal_sim.discord import cli as sim_cli  # noqa: PLC0415 - simulator only on demand

        return sim_cli.main(args[2:])
    if args[:2] == ["local", "up"]:
        return _local_up(args[2:])
    if args[:1] == ["operator"]:
        return _operator(args[1:])
    if args and args[0] in _COMMANDS:
        command = args[0]
        if args[1:] in (["-h"], ["--help"]):
            sys.stdout.write(_command_help(command))
            return 0
        if len(args) > 1:
            sys.stderr.write(
                f"shoal {command}: takes no arguments; it reads SHOAL_* variables "
                f"(see 'shoal {command} --help')\n"
            )
            return 2
        return _run_command(command)
    if args and args[0] in ("-h", "--help", "help"):
        sys.stdout.write(_USAGE)
        return 0
    if args:
        # "local" and "sim" name a group: the unknown part is the word after it.
        words = args[:2] if args[0] in ("local", "sim") else args[:1]
        sys.stderr.write(f"shoal: unknown command {_shown(' '.join(words))!r}\n")
    sys.stderr.write(_USAGE)
    return 2


def _shown(text: str) -> str:
    """Return user input fit to print: printable, and cut to a sane length."""
    printable = "".join(c if c.isprintable() else "?" for c in text)
    if len(printable) <= _SHOWN_MAX:
        return printable
    return printable[: _SHOWN_MAX - 3] + "..."


def _command_help(command: str) -> str:
    return (
        f"usage: shoal {command} [-h]\n\n{_COMMANDS[command]}\n\n"
        "It takes no arguments. It reads these variables (a bad or missing one stops it\n"
        "with a message naming the variable):\n"
        f"{variables_help(command)}"
    )


def _operator(argv: list[str]) -> int:
    """Run the kopf operator with settings from ``SHOAL_OPERATOR_*`` variables."""
    if argv:
        sys.stderr.write(
            "shoal operator: takes no arguments; it reads SHOAL_OPERATOR_* variables\n"
        )
        return 2
    from shoal_operator.running import run_operator  # noqa: PLC0415 - kopf only on demand
    from shoal_operator.settings import operator_settings  # noqa: PLC0415

    try:
        settings = operator_settings(dict(os.environ))
    except SettingsError as error:
        sys.stderr.write(f"shoal operator: bad setting {error}\n")
        return 2
    return _run_until_signalled(lambda stop: run_operator(settings, stop=stop))


def _local_up(argv: list[str]) -> int:
    """Run the local fleet: servers, simulator, workers, load and a live status table."""
    from shoal.local.running import run_local_up  # noqa: PLC0415 - only this command needs it

    return run_local_up(argv, dict(os.environ), migrate=_migrate_local)


async def _migrate_local(dsn: str) -> None:
    from shoal import app  # noqa: PLC0415 - keeps `shoal sim` and `--help` light

    if await app.run_migrate(postgres_settings({"SHOAL_POSTGRES_DSN": dsn})) != 0:
        msg = "migrations failed (see the log above)"
        raise RuntimeError(msg)


def _run_command(command: str) -> int:
    """Run a settings-only command (``worker``, ``status``...) with the environment's settings."""
    from shoal import app  # noqa: PLC0415 - keeps `shoal sim` and `--help` light

    env = dict(os.environ)  # the one place the environment is read
    try:
        if command == "worker":
            settings = worker_settings(env)
            return _run_until_signalled(lambda stop: app.run_worker_process(settings, stop=stop))
        _configure_plain_logging(env, default_level=COMMAND_ENVIRONMENTS[command].log_level)
        if command == "status":
            return _print_status(redis_settings(env))
        if command == "migrate":
            postgres = postgres_settings(env)
            return _run_until_signalled(lambda _: app.run_migrate(postgres))
        discord = discord_settings(env)
        return _run_until_signalled(lambda _: app.run_sync_commands(discord))
    except SettingsError as error:
        sys.stderr.write(f"shoal {command}: bad setting {error}\n")
        return 2


def _print_status(settings: RedisSettings) -> int:
    from shoal import app  # noqa: PLC0415

    async def status(_: asyncio.Event) -> int:
        code, text = await app.run_status(settings, now=time.time())
        (sys.stdout if code == 0 else sys.stderr).write(text)
        return code

    return _run_until_signalled(status)


def _configure_plain_logging(env: dict[str, str], *, default_level: str) -> None:
    import logging  # noqa: PLC0415

    logging.basicConfig(
        level=log_settings(env, default_level=default_level).level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _run_until_signalled(
    body: Callable[[asyncio.Event], Coroutine[object, object, int]],
) -> int:
    """Run ``body`` on uvloop; SIGTERM or SIGINT set the event it gets (a clean stop)."""

    async def runner() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        return await body(stop)

    try:
        import uvloop  # noqa: PLC0415
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(runner())
    return uvloop.run(runner())
