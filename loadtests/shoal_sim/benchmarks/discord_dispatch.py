"""Benchmark: dispatches per second the Discord simulator sustains to real hikari shards.

Run: ``.venv/bin/python -m shoal_sim.benchmarks.discord_dispatch`` (``--help`` for sizes).

The simulator runs in this process; plain hikari shards (cache off, no listeners) run in
separate consumer processes. The benchmark emits MESSAGE_CREATEs through the simulator's
real event path (payload building, routing, replay buffer, framing, zlib-stream) as fast
as the consumers drain them, then checks every consumer received every dispatch. It
prints, for compressed and uncompressed transport: end-to-end dispatches/s (bounded by
the consumers on a 2-core machine), the simulator's own CPU per 100k dispatches, and the
single-core capacity that implies. Figures, not assertions: compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Final

import orjson

from shoal_sim.benchmarks.processes import die_with_parent, install_uvloop
from shoal_sim.discord import events
from shoal_sim.discord.server import Simulator
from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import generated_channel_id, generated_member_id

if TYPE_CHECKING:
    from shoal_sim.discord.gateway.connection import Connection

__all__ = ["main"]

#: Pause emitting while this many frames wait unsent across connections.
_MAX_BACKLOG: Final = 4_000
_EMIT_BATCH: Final = 200


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """One benchmark run's figures."""

    compress: bool
    dispatches: int
    delivered: int
    wall_s: float
    sim_cpu_s: float

    @property
    def per_s(self) -> float:
        """End-to-end dispatches per second."""
        return self.dispatches / self.wall_s

    @property
    def cpu_per_100k_s(self) -> float:
        """Simulator CPU seconds per 100,000 dispatches."""
        return self.sim_cpu_s / self.dispatches * 100_000

    @property
    def one_core_capacity_per_s(self) -> float:
        """Dispatches per second one core could emit at the measured CPU cost."""
        return self.dispatches / self.sim_cpu_s


async def _start_consumers(
    sim: Simulator, shards: int, consumers: int, *, compress: bool
) -> list[asyncio.subprocess.Process]:
    token = next(iter(sim.world.applications.values())).token
    per = max(1, shards // consumers)
    processes = []
    for index in range(consumers):
        ids = list(range(index * per, shards if index == consumers - 1 else (index + 1) * per))
        args = [
            sys.executable,
            "-m",
            "shoal_sim.benchmarks.hikari_consumer",
            "--rest-url",
            sim.rest_url,
            "--token",
            token,
            "--shards",
            ",".join(map(str, ids)),
            "--shard-count",
            str(shards),
        ]
        if not compress:
            args.append("--no-compress")
        processes.append(
            await asyncio.create_subprocess_exec(
                *args,
                preexec_fn=die_with_parent,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        )
    for process in processes:
        assert process.stdout is not None  # noqa: S101 - PIPE above
        line = await asyncio.wait_for(process.stdout.readline(), timeout=120)
        if line.strip() != b"READY":
            msg = f"consumer failed to start: {line!r}"
            raise RuntimeError(msg)
    return processes


async def _stop_consumers(processes: list[asyncio.subprocess.Process]) -> dict[str, int]:
    seqs: dict[str, int] = {}
    for process in processes:
        process.terminate()
    for process in processes:
        assert process.stdout is not None  # noqa: S101
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        seqs.update(orjson.loads(line))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=30)
    return seqs


async def _run_once(args: argparse.Namespace, *, compress: bool) -> Result:
    settings = SimSettings(
        guilds=args.guilds,
        max_concurrency=args.shards,
        identify_window_s=0.05,
        members_per_guild=20,
        channels_per_guild=4,
        roles_per_guild=4,
    )
    sim = Simulator(settings)
    await sim.start()
    try:
        processes = await _start_consumers(sim, args.shards, args.consumers, compress=compress)
        await _wait_ready(sim, args.shards)
        seq_before = sum(s.seq for s in sim.gateway.sessions.by_id.values())
        guilds = [sim.world.guild(g) for g in sorted(sim.world.guilds)]
        places = [
            (g.id, generated_channel_id(g, 1), generated_member_id(g, 0))
            for g in guilds
            if g is not None
        ]
        connections = list(sim.gateway.connections)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for index in range(args.dispatches):
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
        wall_s = time.perf_counter() - wall_start
        sim_cpu_s = time.process_time() - cpu_start
        seqs = await _stop_consumers(processes)
        delivered = sum(seqs.values()) - seq_before
        return Result(compress, args.dispatches, delivered, wall_s, sim_cpu_s)
    finally:
        await sim.stop()


async def _wait_ready(sim: Simulator, shards: int) -> None:
    deadline = time.monotonic() + 120
    while len(sim.gateway.sessions.by_id) < shards:
        if time.monotonic() > deadline:
            msg = "shards did not become ready"
            raise RuntimeError(msg)
        await asyncio.sleep(0.05)
    await _drain(list(sim.gateway.connections), 0)
    await asyncio.sleep(0.5)


async def _drain(connections: list[Connection], backlog: int) -> None:
    """Wait until at most ``backlog`` frames wait unsent (polling: a benchmark, not a server)."""
    while sum(c.backlog for c in connections) > backlog:  # noqa: ASYNC110 - polling is the point
        await asyncio.sleep(0.001)


def _report(results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        "Discord simulator dispatch benchmark",
        (
            f"  {args.guilds} guilds, {args.shards} hikari shards in {args.consumers} consumer "
            f"processes, {args.dispatches} MESSAGE_CREATE per run, {os.cpu_count()} CPUs"
        ),
        (
            f"  {'transport':<12}{'delivered':>12}{'end-to-end/s':>15}{'sim CPU s/100k':>17}"
            f"{'1-core capacity/s':>20}"
        ),
    ]
    for r in results:
        name = "zlib-stream" if r.compress else "json"
        lines.append(
            f"  {name:<12}{r.delivered:>12}{r.per_s:>15,.0f}{r.cpu_per_100k_s:>17.2f}"
            f"{r.one_core_capacity_per_s:>20,.0f}"
        )
    lines.append("  (aim: 1-core capacity >= 30,000/s; end-to-end is bounded by the consumers)")
    return "\n".join(lines) + "\n"


async def _main(args: argparse.Namespace) -> list[Result]:
    return [await _run_once(args, compress=compress) for compress in (True, False)]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; non-zero if a dispatch went missing."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--guilds", type=int, default=2_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--dispatches", type=int, default=200_000)
    args = parser.parse_args(argv)
    install_uvloop()
    results = asyncio.run(_main(args))
    sys.stdout.write(_report(results, args))
    missing = [r for r in results if r.delivered != r.dispatches]
    for r in missing:
        sys.stdout.write(
            f"  MISSING: {r.dispatches - r.delivered} dispatches not delivered "
            f"({'zlib' if r.compress else 'json'})\n"
        )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
