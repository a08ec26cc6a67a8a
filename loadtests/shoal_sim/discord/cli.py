"""``shoal sim discord``: run the Discord simulator as a process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
from typing import TYPE_CHECKING

from shoal_sim.discord.server import Simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from shoal_sim.discord.snowflakes import bot_id_from_token

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["build_parser", "main", "run", "serve", "settings_from_args"]


def build_parser(prog: str = "shoal sim discord") -> argparse.ArgumentParser:
    """Return the argument parser (its help is the option reference)."""
    defaults = SimSettings()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a protocol-level Discord simulator (REST, gateway, /_sim control).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default=defaults.host, help="address to listen on")
    add("--port", type=int, default=defaults.port, help="port (0 picks a free one)")
    add(
        "--token",
        dest="tokens",
        action="append",
        metavar="TOKEN",
        help=f"bot token, repeatable, one application each (when none: {DEFAULT_TOKEN})",
    )
    add("--guilds", type=int, default=defaults.guilds, help="guilds generated at start")
    add("--seed", type=int, default=defaults.seed, help="seed for reproducible ids")
    add(
        "--members-per-guild",
        type=int,
        default=defaults.members_per_guild,
        help="generated members per guild, besides the bot",
    )
    add(
        "--channels-per-guild",
        type=int,
        default=defaults.channels_per_guild,
        help="generated channels per guild (one category, text and voice)",
    )
    add(
        "--roles-per-guild",
        type=int,
        default=defaults.roles_per_guild,
        help="generated roles per guild, besides @everyone",
    )
    add(
        "--avatar-fraction",
        type=float,
        default=defaults.avatar_fraction,
        help="share of generated users with an avatar (0 to 1)",
    )
    add(
        "--max-concurrency",
        type=int,
        default=defaults.max_concurrency,
        help="identify buckets per window (session_start_limit.max_concurrency)",
    )
    add(
        "--identify-window",
        dest="identify_window_s",
        type=float,
        default=defaults.identify_window_s,
        help="seconds each bucket waits between IDENTIFYs",
    )
    add(
        "--max-guilds-per-shard",
        type=int,
        default=defaults.max_guilds_per_shard,
        help="above this a shard is closed with 4011",
    )
    add(
        "--shard-count-multiple",
        type=int,
        default=defaults.shard_count_multiple,
        help="shard counts must be a multiple of this (large bots); else 4010",
    )
    add(
        "--session-start-limit",
        dest="session_start_total",
        type=int,
        default=defaults.session_start_total,
        help="session starts per period (session_start_limit.total)",
    )
    add(
        "--session-start-reset",
        dest="session_start_reset_s",
        type=float,
        default=defaults.session_start_reset_s,
        help="seconds until spent session starts are refilled",
    )
    add(
        "--heartbeat-interval",
        dest="heartbeat_interval_ms",
        type=int,
        default=defaults.heartbeat_interval_ms,
        help="milliseconds, sent in HELLO",
    )
    add(
        "--heartbeat-grace",
        type=float,
        default=defaults.heartbeat_grace,
        help="a connection silent for interval x grace is closed with 4009",
    )
    add(
        "--resume-timeout",
        dest="resume_timeout_s",
        type=float,
        default=defaults.resume_timeout_s,
        help="seconds a dropped session stays resumable",
    )
    add(
        "--replay-buffer",
        type=int,
        default=defaults.replay_buffer,
        help="dispatches kept per session for RESUME (older seq gets op 9)",
    )
    add(
        "--privileged-intents",
        type=int,
        default=defaults.privileged_intents,
        help="bit mask of approved privileged intents (2 members, 256 presences, 32768 content)",
    )
    add(
        "--interaction-deadline",
        dest="interaction_deadline_s",
        type=float,
        default=defaults.interaction_deadline_s,
        help="seconds to answer an interaction",
    )
    add(
        "--global-rate",
        dest="global_rate_per_s",
        type=int,
        default=defaults.global_rate_per_s,
        help="REST requests per second per bot token",
    )
    add("--url-file", default=None, help="write the REST base URL to this file")
    add("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def settings_from_args(args: argparse.Namespace) -> SimSettings:
    """Build settings from parsed arguments.

    Raises:
        ValueError: when a value cannot describe a Discord (the message names it).
    """
    fields = set(SimSettings.__dataclass_fields__)
    values = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    if args.tokens:
        values["tokens"] = tuple(args.tokens)
        _check_tokens(values["tokens"])
    return SimSettings(**values)


def _check_tokens(tokens: tuple[str, ...]) -> None:
    """Refuse tokens the world cannot use here, not later as a traceback at start-up."""
    seen: set[int] = set()
    for token in tokens:
        try:
            bot_id = bot_id_from_token(token)
        except ValueError as exc:
            msg = f"--token: {exc}"
            raise ValueError(msg) from exc
        if bot_id in seen:
            msg = f"--token: two tokens name the same bot id {bot_id}"
            raise ValueError(msg)
        seen.add(bot_id)


def _with_option_names(message: str, parser: argparse.ArgumentParser) -> str:
    """Replace settings field names in ``message`` with the options a person typed."""
    options = {
        action.dest: action.option_strings[-1]
        for action in parser._actions  # noqa: SLF001 - argparse lists options only here
        if action.option_strings and action.dest != "help"
    }

    def named(match: re.Match[str]) -> str:
        dest = match.group(1)
        # Plain words ("guilds", "port") are field names only where a message starts.
        is_field_name = "_" in dest or match.start() == 0
        return options[dest] if is_field_name else dest

    pattern = r"\b(" + "|".join(re.escape(dest) for dest in options) + r")\b"
    return re.sub(pattern, named, message)


async def run(settings: SimSettings, *, banner: bool = True) -> None:
    """Run a simulator until SIGINT or SIGTERM."""
    await serve(Simulator(settings), banner=banner)


async def serve(simulator: Simulator, *, banner: bool = True) -> None:
    """Start ``simulator`` and run it until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Before start(): a signal sent as soon as the URL file appears must stop cleanly too.
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await simulator.start()
    if banner:
        app = next(iter(simulator.world.applications.values()))
        sys.stdout.write(connection_help(simulator.rest_url, app.token, len(app.guild_ids)))
        sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await simulator.stop()


def connection_help(rest_url: str, token: str, guilds: int) -> str:
    """Return the text telling a person how to connect a bot to the simulator."""
    base = rest_url.removesuffix("/api/v10")
    return (
        f"Discord simulator ready with {guilds} guilds.\n"
        f"  REST base URL : {rest_url}\n"
        f"  Bot token     : {token}\n"
        f"  Control API   : {base}/_sim/info  (stats: {base}/_sim/stats)\n"
        "Connect hikari with:\n"
        f"  bot = hikari.GatewayBot({token!r}, rest_url={rest_url!r})\n"
        "  bot.run(check_for_updates=False)\n"
        "Press Ctrl-C to stop.\n"
    )


def main(argv: Sequence[str] | None = None, prog: str = "shoal sim discord") -> int:
    """Parse arguments and run the simulator; returns the exit status."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = settings_from_args(args)
        simulator = Simulator(settings)  # the world refuses what its generated ids cannot hold
    except ValueError as exc:
        parser.error(_with_option_names(str(exc), parser))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(simulator))
    return 0
