"""One hikari bot process running a range of shards, reporting what it sees as JSON lines.

Run by the fleet tests as ``python -m tests.integration.sim.gateway.shard_runner``. It
waits for a ``start`` line on stdin (so the test decides when each process identifies),
starts its shards, writes one JSON object per line to stdout, and closes the bot on a
``stop`` line or at the end of stdin:

- ``{"event": "ready", "shard": 0, "guilds": ["..."]}`` for each READY,
- ``{"event": "guild", "shard": 0, "guild": "..."}`` for each GuildAvailableEvent,
- ``{"event": "started"}`` once ``bot.start()`` returned,
- ``{"event": "loop_error", "message": "..."}`` for each call of the loop's exception
  handler (hikari reports unparsable payloads there),
- ``{"event": "stopped"}`` once the bot is closed.

Imports only hikari and the standard library: the simulator is another process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import hikari

__all__ = ["main"]


def _emit(**fields: Any) -> None:  # noqa: ANN401 - JSON values
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rest-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--shard-ids", required=True, help="comma-separated, e.g. 0,1")
    parser.add_argument("--shard-count", type=int, required=True)
    parser.add_argument("--intents", type=int, default=int(hikari.Intents.GUILDS))
    parser.add_argument(
        "--uncompressed",
        action="store_true",
        help="plain JSON text frames instead of hikari's default zlib-stream",
    )
    return parser.parse_args(argv)


async def _read_line(reader: asyncio.StreamReader) -> str:
    return (await reader.readline()).decode().strip()


async def _run(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(
        lambda _, context: _emit(event="loop_error", message=str(context.get("message")))
    )
    if args.uncompressed:
        # GatewayBot never passes `compression` to its shards: change the shard default.
        defaults = hikari.impl.GatewayShardImpl.__init__.__kwdefaults__
        assert defaults is not None
        defaults["compression"] = None
    bot = hikari.GatewayBot(
        args.token,
        rest_url=args.rest_url,
        banner=None,
        logs="WARNING",
        suppress_optimization_warning=True,
        intents=hikari.Intents(args.intents),
        cache_settings=hikari.impl.CacheSettings(components=hikari.api.CacheComponents.NONE),
        auto_chunk_members=False,
    )

    async def on_ready(event: hikari.ShardReadyEvent) -> None:
        guilds = [str(g) for g in event.unavailable_guilds]
        _emit(event="ready", shard=event.shard.id, guilds=guilds)

    async def on_guild(event: hikari.GuildAvailableEvent) -> None:
        _emit(event="guild", shard=event.shard.id, guild=str(event.guild_id))

    bot.subscribe(hikari.ShardReadyEvent, on_ready)
    bot.subscribe(hikari.GuildAvailableEvent, on_guild)
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    if await _read_line(stdin) != "start":
        return
    shard_ids = [int(s) for s in args.shard_ids.split(",")]
    await bot.start(shard_ids=shard_ids, shard_count=args.shard_count, check_for_updates=False)
    _emit(event="started")
    try:
        await _read_line(stdin)  # "stop", or "" at the end of stdin
    finally:
        await bot.close()
        _emit(event="stopped")


def main(argv: list[str] | None = None) -> None:
    """Run one bot process as described in the module docstring."""
    asyncio.run(_run(_parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
