"""What ``shoal local up`` is asked to run: :class:`LocalOptions` and the command line for it.

Owns the options of a local run, their defaults (a realistic bot of 20,000 guilds against
the simulator, a light load) and their checks, and turning ``shoal local up`` arguments into
them. Does not read the environment itself: the caller passes it in (only a real token is
taken from it, as ``SHOAL_TOKEN``, so that it stays out of the process list).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from shoal.local.plans import DEFAULT_SHARDS_PER_WORKER, MAX_LOCAL_WORKERS

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DISCORD_REST_URL", "LocalOptions", "build_local_parser", "local_options"]

DISCORD_REST_URL: Final = "https://discord.com/api/v10"
"""Where the fleet connects with ``--no-simulator``."""
_PYTHON_M_SHOAL: Final = (sys.executable, "-m", "shoal")  # this interpreter, this checkout


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LocalOptions:
    """One local run: what to simulate, where to connect, how to shape the fleet and load."""

    guilds: int = 20_000
    """Guilds the simulator generates for the bot."""
    max_concurrency: int = 4
    """The simulator's identify buckets per window (Discord's large-bot sharding)."""
    identify_window_s: float = 1.0
    """Seconds each bucket waits between IDENTIFYs in the simulator (Discord: 5)."""
    members_per_guild: int = 30
    """Generated members per guild (fewer than the simulator's default: a lighter world)."""
    sim_port: int = 0
    """The simulator's port; 0 picks a free one."""
    token: str | None = dataclasses.field(default=None, repr=False)
    """The bot token: the simulator's built-in one when None; required without a simulator."""
    is_simulated: bool = True
    """Run against the Discord simulator (False: the real Discord at `rest_url`)."""
    rest_url: str = DISCORD_REST_URL
    """Discord's REST base URL, used when `is_simulated` is False."""
    redis_url: str | None = None
    """A Redis to use instead of starting a throwaway one."""
    postgres_dsn: str | None = dataclasses.field(default=None, repr=False)
    """A PostgreSQL to use instead of starting a throwaway one (may hold a password)."""
    shards: int | None = None
    """A shard count instead of the plan (`shoal.planning.sharding`)."""
    shards_per_worker: int | None = None
    """Shards per worker process instead of the default choice."""
    bot_name: str = "shoal"
    """The bot's name, the namespace of its Redis keys."""
    worker_command: tuple[str, ...] = (*_PYTHON_M_SHOAL, "worker")
    """The program each worker runs; it reads its shards from ``SHOAL_*`` variables."""
    simulator_command: tuple[str, ...] = (*_PYTHON_M_SHOAL, "sim", "discord")
    """The program that runs the simulator; takes ``shoal sim discord``'s options."""
    messages_per_s: float = 20.0
    """User messages per second from the simulator's load generator."""
    interactions_per_s: float = 5.0
    """Slash commands per second from the simulator's load generator."""
    commands: tuple[str, ...] = ("ping", "rank", "leaderboard")
    """The slash commands the load invokes, in turn (members check their rank card and the
    board while the load's messages earn them XP)."""
    joins_per_s: float = 0.1
    """New members per second in the showcase guild: each joins pending, completes
    screening and presses "I agree" on the rules message (0: none). Each costs the bot two
    member edits (Pre-Member, then Member), and Discord allows 10 per 10 s in a guild: the
    defaults use half of it, as clicks bunch up (at 0.8 edits/s the answers queued)."""
    role_picks_per_s: float = 0.3
    """Role menu choices per second in the showcase guild, one member edit each (0: none;
    both 0: no showcase)."""
    refresh_s: float = 1.0
    """Seconds between status refreshes."""
    duration_s: float | None = None
    """Stop by itself after this many seconds (None: run until SIGINT or SIGTERM)."""
    grow_guilds_per_s: float | None = None
    """``--grow``: once the fleet is ready, add this many guilds per second through the
    simulator until a reshard starts, and end the run once it completed (None: no growth)."""
    reshard_interval_s: float = 5.0
    """Seconds between steps of the reshard controller (the operator's timer)."""
    heartbeat_interval_ms: int = 41_250
    """The simulator's heartbeat interval (Discord's); a shorter one finds a frozen
    worker sooner (the simulator closes a session after 1.5 intervals without one)."""
    workdir: Path | None = None
    """Where logs and data go, kept after the run (None: a temporary directory, deleted
    after a clean run)."""

    def __post_init__(self) -> None:
        """Reject options that cannot make a run.

        Raises:
            ValueError: naming the command-line option at fault.
        """
        _check_at_least(
            ("--guilds", self.guilds, 0), ("--max-concurrency", self.max_concurrency, 1)
        )
        _check_at_least(
            ("--shards", self.shards, 1), ("--shards-per-worker", self.shards_per_worker, 1)
        )
        _check_positive(
            ("--identify-window", self.identify_window_s),
            ("--refresh", self.refresh_s),
            ("--duration", self.duration_s),
            ("--reshard-interval", self.reshard_interval_s),
        )
        _check_at_least(
            ("--members-per-guild", self.members_per_guild, 0),
            ("--sim-port", self.sim_port, 0),
            ("--heartbeat-interval", self.heartbeat_interval_ms, 1),
        )
        for name, rate in (
            ("--messages-per-s", self.messages_per_s),
            ("--interactions-per-s", self.interactions_per_s),
            ("--joins-per-s", self.joins_per_s),
            ("--role-picks-per-s", self.role_picks_per_s),
        ):
            if not math.isfinite(rate) or rate < 0:
                raise ValueError(f"{name} must be a finite number, not negative")
        if not self.is_simulated and not self.token:
            raise ValueError("--no-simulator needs the bot's token: --token or SHOAL_TOKEN")
        if not self.worker_command:
            raise ValueError("--worker-command must name a program")
        if not self.commands:
            raise ValueError("--commands must name at least one command")
        self._check_growth()

    def _check_growth(self) -> None:
        rate = self.grow_guilds_per_s
        if rate is None:
            return
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"--grow-rate must be a positive number of guilds, got {rate}")
        if not self.is_simulated:
            raise ValueError("--grow adds guilds through the simulator: not with --no-simulator")
        if self.shards is not None:
            raise ValueError("--grow needs the planned shard count: a fixed --shards never grows")


def _check_at_least(*checks: tuple[str, int | None, int]) -> None:
    for name, value, minimum in checks:
        if value is not None and value < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _check_positive(*checks: tuple[str, float | None]) -> None:
    for name, value in checks:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of seconds, got {value}")


def build_local_parser(prog: str = "shoal local up") -> argparse.ArgumentParser:
    """Return the parser of ``shoal local up`` (its help is the option reference)."""
    defaults = LocalOptions()
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Run Shoal on this machine: throwaway Redis and PostgreSQL, the Discord simulator, "
            "worker processes sharded as the operator would, a light load and a live status. "
            "Ctrl-C stops everything."
        ),
    )
    _add_discord_options(parser.add_argument_group("Discord (the simulator unless --no-simulator)"))
    fleet = parser.add_argument_group("fleet")
    add = fleet.add_argument
    add("--redis-url", metavar="URL", help="use this Redis instead of a throwaway one")
    add("--postgres-dsn", metavar="DSN", help="use this PostgreSQL instead of a throwaway one")
    add(
        "--shards",
        type=int,
        metavar="N",
        help="shard count (default: planned as the operator does)",
    )
    add(
        "--shards-per-worker",
        "--shards-per-pod",
        type=int,
        metavar="N",
        help=(
            f"shards per worker process (default: {DEFAULT_SHARDS_PER_WORKER}, rounded up to "
            f"whole identify buckets, more when that would need over {MAX_LOCAL_WORKERS} workers)"
        ),
    )
    add(
        "--bot-name",
        default=defaults.bot_name,
        help="namespace of the bot's Redis keys (%(default)s)",
    )
    add(
        "--worker-command",
        metavar="COMMAND",
        default=shlex.join(defaults.worker_command),
        help="what each worker runs, as shell words (default: %(default)s)",
    )
    load = parser.add_argument_group("load and status")
    add = load.add_argument
    add(
        "--messages-per-s",
        type=float,
        metavar="RATE",
        default=defaults.messages_per_s,
        help="user messages per second (%(default)s)",
    )
    add(
        "--interactions-per-s",
        type=float,
        metavar="RATE",
        default=defaults.interactions_per_s,
        help="slash commands per second (%(default)s)",
    )
    add(
        "--commands",
        default=",".join(defaults.commands),
        help="slash commands the load uses, comma-separated (%(default)s)",
    )
    add(
        "--joins-per-s",
        type=float,
        metavar="RATE",
        default=defaults.joins_per_s,
        help=(
            "new members per second in the showcase guild (the simulator's first), which the "
            "run sets up through the bot once the fleet is ready: onboarding with its rules "
            "message and a role menu; each member joins pending, completes screening and "
            'presses "I agree" (%(default)s; 0: none)'
        ),
    )
    add(
        "--role-picks-per-s",
        type=float,
        metavar="RATE",
        default=defaults.role_picks_per_s,
        help=(
            "role menu choices per second in the showcase guild (%(default)s; 0: none; "
            "with --joins-per-s 0 too, no showcase is set up)"
        ),
    )
    add(
        "--refresh",
        dest="refresh_s",
        type=float,
        metavar="S",
        default=defaults.refresh_s,
        help="seconds between status refreshes (%(default)s)",
    )
    add(
        "--duration",
        dest="duration_s",
        type=float,
        metavar="S",
        help="stop after this many seconds (default: at Ctrl-C)",
    )
    _add_reshard_options(parser.add_argument_group("resharding"))
    return parser


def _add_reshard_options(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add(
        "--grow",
        action="store_true",
        help=(
            "demonstrate a reshard: once the fleet is ready, add guilds through the simulator "
            "(--grow-rate per second) until the operator's planner asks for more shards. "
            "Nothing is lowered for it: the simulator, like Discord, recommends one shard per "
            "1,000 guilds, and the planner grows when that recommendation exceeds the shards "
            "running (20,000 guilds plan 24 shards; past 24,000 Discord recommends 25, so the "
            "fleet reshards to 28). Growth stops when the reshard starts (more guilds would "
            "move the plan mid-reshard); the load goes on throughout; the run ends a few "
            "seconds after the reshard completes and prints the interactions injected, "
            "answered, unanswered and answered twice. Not with --shards or --no-simulator"
        ),
    )
    add(
        "--grow-rate",
        type=float,
        metavar="GUILDS",
        default=200.0,
        help="guilds added per second with --grow (%(default)s)",
    )
    add(
        "--reshard-interval",
        dest="reshard_interval_s",
        type=float,
        metavar="S",
        default=LocalOptions().reshard_interval_s,
        help=(
            "seconds between steps of the reshard controller, which plans the shard count and "
            "reshards as the operator does (%(default)s)"
        ),
    )


def _add_discord_options(group: argparse._ArgumentGroup) -> None:
    defaults = LocalOptions()
    add = group.add_argument
    add(
        "--guilds",
        type=int,
        metavar="N",
        default=defaults.guilds,
        help="guilds of the simulated bot (%(default)s)",
    )
    add(
        "--max-concurrency",
        type=int,
        metavar="N",
        default=defaults.max_concurrency,
        help="identify buckets (%(default)s)",
    )
    add(
        "--identify-window",
        dest="identify_window_s",
        type=float,
        metavar="S",
        default=defaults.identify_window_s,
        help="seconds between IDENTIFYs of one bucket (%(default)s; Discord's is 5)",
    )
    add(
        "--members-per-guild",
        type=int,
        metavar="N",
        default=defaults.members_per_guild,
        help="generated members per guild (%(default)s)",
    )
    add(
        "--sim-port",
        type=int,
        metavar="PORT",
        default=defaults.sim_port,
        help="the simulator's port (default: a free one)",
    )
    add(
        "--heartbeat-interval",
        dest="heartbeat_interval_ms",
        type=int,
        metavar="MS",
        default=defaults.heartbeat_interval_ms,
        help="the simulator's heartbeat interval in ms (%(default)s, Discord's)",
    )
    add(
        "--workdir",
        type=Path,
        metavar="PATH",
        help="keep logs and data in PATH (made if missing, never deleted; default: a "
        "temporary directory deleted after a clean run); as root, the postgres account "
        "must be able to reach it",
    )
    add("--token", help="bot token (default: the simulator's; with --no-simulator: SHOAL_TOKEN)")
    add(
        "--no-simulator",
        dest="is_simulated",
        action="store_false",
        help="connect to the real Discord instead (needs a real token)",
    )
    add(
        "--rest-url",
        metavar="URL",
        default=defaults.rest_url,
        help="Discord's REST URL with --no-simulator (%(default)s)",
    )


def local_options(args: argparse.Namespace, environ: Mapping[str, str]) -> LocalOptions:
    """Build options from parsed arguments and the environment (for ``SHOAL_TOKEN``).

    Raises:
        ValueError: naming the option at fault.
    """
    token = args.token
    if token is None and not args.is_simulated:
        token = environ.get("SHOAL_TOKEN", "").strip() or None  # never the simulator's
    return LocalOptions(
        guilds=args.guilds,
        max_concurrency=args.max_concurrency,
        identify_window_s=args.identify_window_s,
        members_per_guild=args.members_per_guild,
        sim_port=args.sim_port,
        token=token,
        is_simulated=args.is_simulated,
        rest_url=args.rest_url.rstrip("/"),
        redis_url=args.redis_url,
        postgres_dsn=args.postgres_dsn,
        shards=args.shards,
        shards_per_worker=args.shards_per_worker,
        bot_name=args.bot_name,
        worker_command=tuple(shlex.split(args.worker_command)),
        messages_per_s=args.messages_per_s,
        interactions_per_s=args.interactions_per_s,
        commands=tuple(name.strip() for name in args.commands.split(",") if name.strip()),
        joins_per_s=args.joins_per_s,
        role_picks_per_s=args.role_picks_per_s,
        refresh_s=args.refresh_s,
        duration_s=args.duration_s,
        grow_guilds_per_s=args.grow_rate if args.grow else None,
        reshard_interval_s=args.reshard_interval_s,
        heartbeat_interval_ms=args.heartbeat_interval_ms,
        workdir=args.workdir,
    )
