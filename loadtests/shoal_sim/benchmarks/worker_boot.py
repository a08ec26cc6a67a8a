"""Benchmark: cold boot of a Shoal fleet against the identify bound, then a restart.

Run: ``.venv/bin/python -m shoal_sim.benchmarks.worker_boot`` (``--help`` for sizes).

Starts Redis, the Discord simulator (its own process) and ``--workers`` ``shoal worker``
processes sharing ``--shards`` shards, and measures from starting the processes until
every worker's ``/readyz`` answers 200. Discord lets a bot IDENTIFY ``max_concurrency``
shards per window, so no fleet can boot N shards faster than ceil(N / max_concurrency)
windows; the figure is the boot time against that bound (aim: at most 1.05x), with the
simulator's IDENTIFY and op 9 counts. Then every worker gets SIGTERM and is started
again: the figure is the time to ready and RESUMEs against IDENTIFYs (aim: every shard
resumes). Figures, not assertions; the exit status is non-zero only when a shard never
became ready.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import os
import pathlib
import sys
import time
from typing import TYPE_CHECKING, Any

from shoal_sim.benchmarks.processes import (
    APPROVED_INTENTS,
    Fleet,
    WorkerProcess,
    WorkerSpec,
    running_fleet,
)

if TYPE_CHECKING:
    from shoal_sim.benchmarks.processes import SimProcess

__all__ = ["main"]


@dataclasses.dataclass(frozen=True, slots=True)
class Phase:
    """One boot of the whole fleet."""

    name: str
    ready_s: float
    identifies: int
    resumes: int
    invalid_sessions: int


async def _boot(
    fleet: Fleet, sim: SimProcess, spec: WorkerSpec, workers: int, name: str
) -> tuple[Phase, list[WorkerProcess]]:
    await sim.post("/stats/reset", {})
    started_s = time.perf_counter()
    processes = [await fleet.worker(spec, ordinal) for ordinal in range(workers)]
    await asyncio.gather(*(worker.ready() for worker in processes))
    ready_s = time.perf_counter() - started_s
    stats: dict[str, Any] = await sim.get("/stats")
    phase = Phase(name, ready_s, stats["identifies"], stats["resumes"], stats["invalid_sessions"])
    return phase, processes


async def _run(args: argparse.Namespace) -> list[Phase]:
    async with running_fleet(args.logs) as fleet:
        sim = await fleet.simulator(
            [
                *("--guilds", str(args.guilds), "--members-per-guild", "2"),
                *("--channels-per-guild", "2", "--roles-per-guild", "1"),
                *("--max-concurrency", str(args.max_concurrency)),
                *("--identify-window", str(args.window)),
                *("--privileged-intents", str(APPROVED_INTENTS)),
            ]
        )
        spec = WorkerSpec(
            token=await sim.token(),
            rest_url=sim.rest_url,
            redis_url=fleet.redis.url,
            total_shards=args.shards,
            shards_per_pod=math.ceil(args.shards / args.workers),
            identify_window_s=args.window,
        )
        cold, processes = await _boot(fleet, sim, spec, args.workers, "cold boot")
        # SIGTERM: each worker saves its sessions and closes its shards resumably.
        await asyncio.gather(*(worker.stop() for worker in processes))
        restart, _ = await _boot(fleet, sim, spec, args.workers, "restart")
        return [cold, restart]


def _report(phases: list[Phase], args: argparse.Namespace) -> str:
    windows = math.ceil(args.shards / args.max_concurrency)
    bound_s = windows * args.window
    lines = [
        "Shoal worker boot benchmark",
        (
            f"  {args.shards} shards over {args.workers} worker processes, {args.guilds:,} guilds, "
            f"max_concurrency {args.max_concurrency}, identify window {args.window} s, "
            f"{os.cpu_count()} CPUs"
        ),
        f"  bound: ceil({args.shards}/{args.max_concurrency}) x {args.window} s = {bound_s:.2f} s",
        (
            f"  {'phase':<11}{'ready s':>9}{'x bound':>9}{'identifies':>12}{'resumes':>9}"
            f"{'op 9':>6}   aim"
        ),
    ]
    for phase in phases:
        aim = (
            f"<= 1.05x, {args.shards} identifies, 0 op 9"
            if phase.name == "cold boot"
            else f"{args.shards} resumes, 0 identifies, 0 op 9"
        )
        lines.append(
            f"  {phase.name:<11}{phase.ready_s:>9.2f}{phase.ready_s / bound_s:>8.2f}x"
            f"{phase.identifies:>12}{phase.resumes:>9}{phase.invalid_sessions:>6}   {aim}"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; non-zero if a worker never became ready."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--guilds", type=int, default=64_000)
    parser.add_argument("--max-concurrency", type=int, default=16, help="Discord's large bots")
    parser.add_argument("--window", type=float, default=5.0, help="identify window, seconds")
    parser.add_argument("--logs", type=pathlib.Path, help="keep the processes' logs here")
    args = parser.parse_args(argv)
    try:
        phases = asyncio.run(_run(args))
    except RuntimeError as error:
        sys.stdout.write(f"worker boot benchmark failed: {error}\n")
        return 1
    sys.stdout.write(_report(phases, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
