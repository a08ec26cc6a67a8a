"""Benchmark: slash command latency of a Shoal fleet under a steady interaction rate.

Run: ``.venv/bin/python -m shoal_sim.benchmarks.interaction_latency`` (``--help`` for sizes).

Starts Redis, the Discord simulator (its own process, so this driver does not share its
event loop) and ``--workers`` ``shoal worker`` processes, then has the simulator's load
generator inject ``/ping`` (``--command``) at ``--rate`` interactions per second for ``--duration``
seconds (``POST /_sim/load``). The simulator times each interaction from its
INTERACTION_CREATE to the initial response; the figures are its p50/p90/p99/max
(aim: p99 under 20 ms) and how many were answered, late, unanswered or acknowledged
twice. Figures, not assertions; the exit status is non-zero only when an interaction was
left unanswered or answered twice.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import pathlib
import sys
from typing import Any, Final

from shoal_sim.benchmarks.processes import APPROVED_INTENTS, WorkerSpec, running_fleet

__all__ = ["main"]

#: After the run, interactions still in flight get this long (the simulator's deadline).
_DEADLINE_S: Final = 3.5


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    async with running_fleet(args.logs) as fleet:
        sim = await fleet.simulator(
            [
                *("--guilds", str(args.guilds), "--members-per-guild", "5"),
                *("--max-concurrency", "16", "--identify-window", "0.05"),
                *("--privileged-intents", str(APPROVED_INTENTS)),
            ]
        )
        spec = WorkerSpec(
            token=await sim.token(),
            rest_url=sim.rest_url,
            redis_url=fleet.redis.url,
            total_shards=args.workers * args.shards_per_worker,
            shards_per_pod=args.shards_per_worker,
            identify_window_s=0.05,
        )
        workers = [await fleet.worker(spec, ordinal) for ordinal in range(args.workers)]
        await asyncio.gather(*(worker.ready() for worker in workers))
        await asyncio.sleep(2.0)  # GUILD_CREATEs delivered, the workers idle
        await sim.post("/stats/reset", {})
        await sim.post(
            "/load",
            {
                "interactions_per_s": args.rate,
                "duration_s": args.duration,
                "commands": [args.command],
            },
        )
        await asyncio.sleep(args.duration + _DEADLINE_S)
        load: dict[str, Any] = await sim.get("/load")
        stats: dict[str, Any] = await sim.get("/stats")
        return {"load": load, "interactions": stats["interactions"]}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _report(result: dict[str, Any], args: argparse.Namespace) -> str:
    interactions = result["interactions"]
    latency = interactions["latency_ms"]
    expected = math.floor(args.rate * args.duration)
    lines = [
        f"Shoal interaction latency benchmark: /{args.command} through the fleet",
        (
            f"  {args.workers} workers x {args.shards_per_worker} shards, {args.guilds:,} guilds, "
            f"{args.rate:g} interactions/s for {args.duration:g} s, {os.cpu_count()} CPUs"
        ),
        f"  {'figure':<22}{'value':>10}   aim",
        f"  {'injected':<22}{interactions['injected']:>10}   {expected}",
        f"  {'answered':<22}{interactions['answered']:>10}   all",
        f"  {'late':<22}{interactions['late']:>10}   0",
        f"  {'unanswered':<22}{interactions['unanswered']:>10}   0",
        f"  {'double-acknowledged':<22}{interactions['double_acknowledged']:>10}   0",
        f"  {'p50 ms':<22}{_ms(latency['p50']):>10}",
        f"  {'p90 ms':<22}{_ms(latency['p90']):>10}",
        f"  {'p99 ms':<22}{_ms(latency['p99']):>10}   < 20",
        f"  {'max ms':<22}{_ms(latency['max']):>10}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; non-zero if an answer went missing or doubled."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shards-per-worker", type=int, default=4)
    parser.add_argument("--guilds", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=200.0, help="interactions per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds")
    parser.add_argument("--command", default="ping", help="slash command (ping, shard)")
    parser.add_argument("--logs", type=pathlib.Path, help="keep the processes' logs here")
    args = parser.parse_args(argv)
    result = asyncio.run(_run(args))
    sys.stdout.write(_report(result, args))
    interactions = result["interactions"]
    return 1 if interactions["unanswered"] or interactions["double_acknowledged"] else 0


if __name__ == "__main__":
    sys.exit(main())
