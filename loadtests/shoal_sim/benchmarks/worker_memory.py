"""Benchmark: marginal resident memory per 1,000 guilds, the Shoal worker against hikari.

Run: ``.venv/bin/python -m shoal_sim.benchmarks.worker_memory`` (``--help`` for sizes).

Each consumer (``shoal worker``; a plain hikari ``GatewayBot`` with its default cache;
the same with the cache off) runs as its own process with the same shards and intents
(GUILDS | GUILD_MESSAGES), twice: against a simulator (in this process) with a small and
with a large guild count. Once ready, every GUILD_CREATE delivered and a settle time
passed, its RSS (``/proc/<pid>/statm``) is read. The figure is the difference per 1,000
guilds, which leaves out what the interpreter and imports cost. Aim: the worker at most
5 MB per 1,000 guilds. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from typing import TYPE_CHECKING, Final

from shoal_sim.benchmarks.processes import (
    CACHED_HIKARI,
    UNCACHED_HIKARI,
    WORKER,
    install_uvloop,
    rss_bytes,
    running_fleet,
    start_consumer,
    wait_cpu_settled,
)
from shoal_sim.discord.server import Simulator
from shoal_sim.discord.settings import SimSettings

if TYPE_CHECKING:
    from shoal_sim.benchmarks.processes import Fleet

__all__ = ["main"]

_WORKER: Final = WORKER
_CACHED: Final = CACHED_HIKARI
_UNCACHED: Final = UNCACHED_HIKARI
_MB: Final = 1_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """One consumer's resident memory at the small and the large guild count."""

    consumer: str
    small_rss: int
    large_rss: int
    per_1000_guilds: float
    """Bytes of RSS each further 1,000 guilds cost."""


async def _rss_after_ready(
    fleet: Fleet, consumer: str, guilds: int, args: argparse.Namespace
) -> int:
    sim = Simulator(
        SimSettings(
            guilds=guilds,
            members_per_guild=args.members_per_guild,
            max_concurrency=args.shards,
            identify_window_s=0.05,
            # Discord's 2,500 per shard would need more shards (closes with 4011): the
            # figure is per guild, so a few dense shards measure the same thing faster.
            max_guilds_per_shard=max(guilds, 2_500),
        )
    )
    await sim.start()
    try:
        token = next(iter(sim.world.applications.values())).token
        process = await start_consumer(
            fleet,
            consumer,
            rest_url=sim.rest_url,
            token=token,
            shards=args.shards,
            bot_name=f"memory-{len(fleet.children)}",
        )
        # Every GUILD_CREATE sent (polling: a benchmark, not a server).
        while sum(c.backlog for c in sim.gateway.connections):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await wait_cpu_settled(process.pid)
        await asyncio.sleep(args.settle)
        rss = rss_bytes(process.pid)
        await process.stop()
        return rss
    finally:
        await sim.stop()


async def _run(args: argparse.Namespace) -> list[Result]:
    results = []
    async with running_fleet() as fleet:
        for consumer in (_WORKER, _CACHED, _UNCACHED):
            small = await _rss_after_ready(fleet, consumer, args.small, args)
            large = await _rss_after_ready(fleet, consumer, args.large, args)
            per_1000 = (large - small) / ((args.large - args.small) / 1_000)
            results.append(Result(consumer, small, large, per_1000))
    return results


def _report(results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        "Shoal worker memory benchmark: marginal RSS per 1,000 guilds",
        (
            f"  1 process of {args.shards} shards, {args.small:,} then {args.large:,} guilds of "
            f"{args.members_per_guild} members, settle {args.settle} s, {os.cpu_count()} CPUs"
        ),
        (
            f"  {'consumer':<24}{f'RSS MB @{args.small:,}':>16}{f'RSS MB @{args.large:,}':>17}"
            f"{'MB/1,000 guilds':>17}   aim"
        ),
    ]
    for r in results:
        aim = "<= 5 MB" if r.consumer == _WORKER else ""
        lines.append(
            f"  {r.consumer:<24}{r.small_rss / _MB:>16.1f}{r.large_rss / _MB:>17.1f}"
            f"{r.per_1000_guilds / _MB:>17.2f}   {aim}".rstrip()
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--small", type=int, default=4_000, help="guilds, first run")
    parser.add_argument("--large", type=int, default=20_000, help="guilds, second run")
    parser.add_argument("--members-per-guild", type=int, default=30)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before reading RSS")
    args = parser.parse_args(argv)
    install_uvloop()
    sys.stdout.write(_report(asyncio.run(_run(args)), args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
