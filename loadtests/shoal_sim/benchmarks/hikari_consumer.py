"""A plain hikari shard process that consumes dispatches for the dispatch benchmark.

Cache off, no member chunking, no listeners: hikari skips parsing events nobody listens
to, so this is the cheapest real consumer. ``--listen`` adds a MessageCreateEvent listener
and ``--cache`` hikari's default cache: the plain bots the worker benchmarks compare with.
On SIGTERM it prints one JSON line with each shard's last sequence number, then exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

import hikari
import orjson

from shoal_sim.benchmarks.processes import install_uvloop

__all__ = ["main"]


async def _run(
    rest_url: str,
    token: str,
    shard_ids: list[int],
    shard_count: int,
    *,
    compress: bool,
    is_cached: bool = False,
    is_listening: bool = False,
) -> None:
    cache = hikari.impl.CacheSettings(
        components=hikari.api.CacheComponents.ALL if is_cached else hikari.api.CacheComponents.NONE
    )
    bot = hikari.GatewayBot(
        token,
        rest_url=rest_url,
        banner=None,
        logs="WARNING",
        suppress_optimization_warning=True,
        intents=hikari.Intents.GUILDS | hikari.Intents.GUILD_MESSAGES,
        cache_settings=cache,
        auto_chunk_members=False,
    )
    if is_listening:
        received = 0

        async def on_message(_: hikari.MessageCreateEvent) -> None:
            nonlocal received
            received += 1

        bot.subscribe(hikari.MessageCreateEvent, on_message)
    if not compress:
        # GatewayBot never passes compression to its shards (hikari.md): change the default.
        init = hikari.impl.GatewayShardImpl.__init__
        init.__kwdefaults__ = {**(init.__kwdefaults__ or {}), "compression": None}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await bot.start(shard_ids=shard_ids, shard_count=shard_count, check_for_updates=False)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    await stop.wait()
    # Dispatches may still sit in socket buffers: report once the sequences stop moving.
    seqs: dict[str, int | None] = {}
    while True:
        current = {str(s.id): s._seq for s in bot.shards.values()}  # type: ignore[attr-defined] # noqa: SLF001
        if current == seqs:
            break
        seqs = current
        await asyncio.sleep(0.5)
    seqs = {str(s.id): s._seq for s in bot.shards.values()}  # type: ignore[attr-defined] # noqa: SLF001
    sys.stdout.write(orjson.dumps(seqs).decode() + "\n")
    sys.stdout.flush()
    with contextlib.suppress(Exception):
        await bot.close()


def main() -> None:
    """Parse arguments and consume until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rest-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--shards", required=True, help="comma-separated shard ids")
    parser.add_argument("--shard-count", type=int, required=True)
    parser.add_argument("--no-compress", action="store_true")
    parser.add_argument("--cache", action="store_true", help="hikari's default cache (else none)")
    parser.add_argument("--listen", action="store_true", help="a MessageCreateEvent listener")
    args = parser.parse_args()
    install_uvloop()
    asyncio.run(
        _run(
            args.rest_url,
            args.token,
            [int(s) for s in args.shards.split(",")],
            args.shard_count,
            compress=not args.no_compress,
            is_cached=args.cache,
            is_listening=args.listen,
        )
    )


if __name__ == "__main__":
    main()
