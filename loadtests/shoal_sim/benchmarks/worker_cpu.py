"""Benchmark: CPU microseconds per MESSAGE_CREATE, the Shoal worker against plain hikari bots.

Run: ``.venv/bin/python -m shoal_sim.benchmarks.worker_cpu`` (``--help`` for sizes).

Three consumers, each its own process on the same shard layout and the same message
stream (a fresh simulator with the same seed for each, in this process): the Shoal
worker (``shoal worker`` with GUILDS | GUILD_MESSAGES and its listeners), a plain hikari
``GatewayBot`` with its default cache and a MessageCreateEvent listener, and the same bot
with the cache off. MESSAGE_CREATEs go through the simulator's real event path as fast
as the consumer drains them; the figure is the consumer's user plus system CPU time
(``/proc/<pid>/stat``) over the stream, once it is idle again, per message. Aim: the
worker at most half of the cache-off plain bot. Figures, not assertions; the exit status
is non-zero when the worker's ``shoal_gateway_events_total`` did not count every message
(a lost dispatch).
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
    WorkerProcess,
    install_uvloop,
    running_fleet,
    start_consumer,
    wait_cpu_settled,
)
from shoal_sim.discord import events
from shoal_sim.discord.server import Simulator
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import generated_channel_id, generated_member_id

if TYPE_CHECKING:
    from shoal_sim.benchmarks.processes import Fleet
    from shoal_sim.discord.gateway.connection import Connection

__all__ = ["main"]

#: Pause emitting while this many frames wait unsent (as in discord_dispatch).
_MAX_BACKLOG: Final = 4_000
_EMIT_BATCH: Final = 200
_WORKER: Final = WORKER
_CACHED: Final = CACHED_HIKARI
_UNCACHED: Final = UNCACHED_HIKARI


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """One consumer's figures."""

    consumer: str
    messages: int
    cpu_s: float
    counted: int | None
    """Messages the consumer reported receiving (the worker's metrics); None: not known."""

    @property
    def us_per_message(self) -> float:
        """CPU microseconds per MESSAGE_CREATE."""
        return self.cpu_s / self.messages * 1e6


def _world(args: argparse.Namespace) -> SimSettings:
    return SimSettings(
        guilds=args.guilds,
        max_concurrency=args.shards,
        identify_window_s=0.05,
        members_per_guild=20,
        channels_per_guild=4,
        roles_per_guild=4,
    )


async def _drain(connections: list[Connection], backlog: int) -> None:
    """Wait until at most ``backlog`` frames wait unsent (polling: a benchmark, not a server)."""
    while sum(c.backlog for c in connections) > backlog:  # noqa: ASYNC110 - polling is the point
        await asyncio.sleep(0.001)


async def _stream(sim: Simulator, messages: int) -> None:
    guilds = [sim.world.guild(g) for g in sorted(sim.world.guilds)]
    places = [(g.id, generated_channel_id(g, 1), generated_member_id(g, 0)) for g in guilds if g]
    connections = list(sim.gateway.connections)
    for index in range(messages):
        guild_id, channel_id, author_id = places[index % len(places)]
        events.emit_user_message(
            sim,
            channel_id=channel_id,
            author_id=author_id,
            guild_id=guild_id,
            content=f"benchmark message {index}",
        )
        if index % _EMIT_BATCH == 0:
            await _drain(connections, _MAX_BACKLOG)
    await _drain(connections, 0)


async def _measure(fleet: Fleet, consumer: str, args: argparse.Namespace) -> Result:
    sim = Simulator(_world(args))
    await sim.start()
    try:
        token = next(iter(sim.world.applications.values())).token
        process = await start_consumer(
            fleet,
            consumer,
            rest_url=sim.rest_url,
            token=token,
            shards=args.shards,
            bot_name=f"cpu-{len(fleet.children)}",
        )
        await _drain(list(sim.gateway.connections), 0)  # the GUILD_CREATEs
        before_s = await wait_cpu_settled(process.pid)
        await _stream(sim, args.messages)
        after_s = await wait_cpu_settled(process.pid)
        counted = None
        if isinstance(process, WorkerProcess):
            events = await process.metric("shoal_gateway_events_total", type="MESSAGE_CREATE")
            counted = int(events)
        await process.stop()
        return Result(consumer, args.messages, after_s - before_s, counted)
    finally:
        await sim.stop()


async def _run(args: argparse.Namespace) -> list[Result]:
    async with running_fleet() as fleet:
        return [await _measure(fleet, c, args) for c in (_WORKER, _CACHED, _UNCACHED)]


def _report(results: list[Result], args: argparse.Namespace) -> str:
    uncached = next(r for r in results if r.consumer == _UNCACHED)
    lines = [
        "Shoal worker CPU benchmark: CPU per MESSAGE_CREATE",
        (
            f"  {args.messages:,} MESSAGE_CREATE to 1 process of {args.shards} shards, "
            f"{args.guilds:,} guilds, {os.cpu_count()} CPUs"
        ),
        f"  {'consumer':<24}{'CPU s':>8}{'us/message':>12}{'x cache off':>13}   aim",
    ]
    for r in results:
        aim = "<= 0.50x (about 30 us)" if r.consumer == _WORKER else ""
        lines.append(
            f"  {r.consumer:<24}{r.cpu_s:>8.2f}{r.us_per_message:>12.1f}"
            f"{r.cpu_s / uncached.cpu_s:>12.2f}x   {aim}".rstrip()
        )
    worker = next(r for r in results if r.consumer == _WORKER)
    lines.append(
        f"  worker's shoal_gateway_events_total{{type=MESSAGE_CREATE}}: {worker.counted:,} "
        f"of {worker.messages:,} received"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; non-zero if the worker counted too few."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--guilds", type=int, default=2_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args(argv)
    install_uvloop()
    results = asyncio.run(_run(args))
    sys.stdout.write(_report(results, args))
    worker = next(r for r in results if r.consumer == _WORKER)
    return 1 if worker.counted != worker.messages else 0


if __name__ == "__main__":
    sys.exit(main())
