"""Benchmark: CPU microseconds per MESSAGE_CREATE, the Shoal worker against plain hikari bots.

Run: ``.venv/bin/python -m shoal_sim.benchmarks.worker_cpu`` (``--help`` for sizes).

Each consumer runs as its own process on the same shard layout, against a fresh simulator
in this process. Two message streams:

- **one member per guild** (seed 1): the Shoal worker (``shoal worker`` with GUILDS |
  GUILD_MESSAGES, every feature on), a plain hikari ``GatewayBot`` with its default cache
  and a MessageCreateEvent listener, and the same bot with the cache off. The levels tap
  grants one message per guild and its cooldown cache drops the rest: the worker's cost
  of a message no feature acts on.
- **every member** (seed 2, ``--members-per-guild`` each, in turn): the worker with the
  levels feature granting XP for (nearly) every message (the tap batching, one Lua grant
  per message in Redis, the flush job writing to PostgreSQL every second), and the
  cache-off hikari bot on the same stream.

Each stream starts with a warm-up of one message per guild, not measured: a guild's first
message costs the worker its settings load and its board's rebuild from PostgreSQL (once
per guild while Redis keeps the board), printed apart as CPU per cold guild. Then
MESSAGE_CREATEs go through the simulator's real event path as fast as the consumer drains
them; the figure is the consumer's user plus system CPU time (``/proc/<pid>/stat``) over
the stream, once it is idle again, per message (Redis's CPU is printed apart). Aim: the
worker at most half of the cache-off plain bot on either stream. Figures, not assertions;
the exit status is non-zero when a worker's ``shoal_gateway_events_total`` did not count
every message (a lost dispatch), or when the XP in PostgreSQL after the granting run is
not one message's worth for each member who wrote (checked when both streams took under
the 60 s cooldown).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
from typing import TYPE_CHECKING, Final

from shoal_sim.benchmarks import message_streams
from shoal_sim.benchmarks.levels_records import forget_guilds, read_totals
from shoal_sim.benchmarks.processes import (
    CACHED_HIKARI,
    UNCACHED_HIKARI,
    WORKER,
    WorkerProcess,
    cpu_seconds,
    install_uvloop,
    running_fleet,
    start_consumer,
    wait_cpu_settled,
)
from shoal_sim.benchmarks.prometheus_text import sample_sum
from shoal_sim.discord.server import Simulator
from shoal_sim.discord.settings import SimSettings

if TYPE_CHECKING:
    from shoal_sim.benchmarks.levels_records import XpTotals
    from shoal_sim.benchmarks.processes import Fleet

__all__ = ["main"]

_COUNT_WAIT_S: Final = 3.0  # the worker's counters are reported once a second
_WORKER: Final = WORKER
_CACHED: Final = CACHED_HIKARI
_UNCACHED: Final = UNCACHED_HIKARI
_ONE: Final = "one member per guild"
_EVERY: Final = "every member"
#: Different seeds give the two streams different guild ids: both worker runs share one
#: PostgreSQL, and the granting run's XP check must not see the first run's rows.
_SEEDS: Final = {_ONE: 1, _EVERY: 2}


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """One consumer's figures on one stream."""

    consumer: str
    stream: str
    messages: int
    cpu_s: float
    counted: int | None
    """Messages the consumer reported receiving (the worker's metrics); None: not known."""
    redis_cpu_s: float
    """Redis's CPU time over the same stream (the worker's grants run there)."""
    elapsed_s: float
    warm_up_cpu_s: float
    """CPU of the warm-up (one message per cold guild)."""
    guilds: int
    totals: XpTotals | None = None
    """The granting run's XP in PostgreSQL, when checked."""
    dropped: float | None = None
    """The worker's ``shoal_levels_dropped_messages``, when it exports it."""

    @property
    def us_per_message(self) -> float:
        """CPU microseconds per MESSAGE_CREATE."""
        return self.cpu_s / self.messages * 1e6


def _world(args: argparse.Namespace, stream: str) -> SimSettings:
    return SimSettings(
        guilds=args.guilds,
        seed=_SEEDS[stream],
        max_concurrency=args.shards,
        identify_window_s=0.05,
        members_per_guild=args.members_per_guild,
        channels_per_guild=4,
        roles_per_guild=4,
    )


async def _measure(fleet: Fleet, consumer: str, stream: str, args: argparse.Namespace) -> Result:
    sim = Simulator(_world(args, stream))
    await sim.start()
    try:
        if consumer == _WORKER and stream == _EVERY:  # an earlier round's XP would add up
            await forget_guilds(fleet.postgres.dsn, [int(g) for g in sim.world.guilds])
        token = next(iter(sim.world.applications.values())).token
        process = await start_consumer(
            fleet,
            consumer,
            rest_url=sim.rest_url,
            token=token,
            shards=args.shards,
            bot_name=f"cpu-{len(fleet.children)}",
        )
        places = (
            message_streams.every_member(sim)
            if stream == _EVERY
            else message_streams.one_member_per_guild(sim)
        )
        guilds = len(sim.world.guilds)
        await message_streams.drain(list(sim.gateway.connections), 0)  # the GUILD_CREATEs
        started_s = await wait_cpu_settled(process.pid)
        warm_up = await message_streams.stream(sim, places, guilds)
        before_s = await wait_cpu_settled(process.pid)
        redis_before_s = cpu_seconds(fleet.redis.process.pid)
        sent = await message_streams.stream(sim, places, args.messages, start=guilds)
        after_s = await wait_cpu_settled(process.pid)
        redis_s = cpu_seconds(fleet.redis.process.pid) - redis_before_s
        counted = dropped = None
        if isinstance(process, WorkerProcess):
            # The worker reports its gateway counters once a second: read until the count
            # covers the stream (a short one ends between two reports), for at most 3 s.
            expected = guilds + args.messages
            deadline = asyncio.get_running_loop().time() + _COUNT_WAIT_S
            while True:
                text = await process.metrics_text()
                counted = int(
                    sample_sum(text, "shoal_gateway_events_total", type="MESSAGE_CREATE") or 0
                )
                if counted >= expected or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.1)
            dropped = sample_sum(text, "shoal_levels_dropped_messages")
        await process.stop()  # a worker drains its tap and flushes on SIGTERM
        totals = None
        is_in_cooldown = warm_up.elapsed_s + sent.elapsed_s < message_streams.COOLDOWN_S
        if consumer == _WORKER and stream == _EVERY and is_in_cooldown:
            earners = message_streams.expected_earners(places, guilds + args.messages)
            totals = await read_totals(fleet.postgres.dsn, earners)
        return Result(
            consumer=consumer,
            stream=stream,
            messages=args.messages,
            cpu_s=after_s - before_s,
            counted=counted,
            redis_cpu_s=redis_s,
            elapsed_s=sent.elapsed_s,
            warm_up_cpu_s=before_s - started_s,
            guilds=guilds,
            totals=totals,
            dropped=dropped,
        )
    finally:
        await sim.stop()


_RUNS: Final = (
    (_WORKER, _ONE),
    (_CACHED, _ONE),
    (_UNCACHED, _ONE),
    (_WORKER, _EVERY),
    (_UNCACHED, _EVERY),
)


async def _run(args: argparse.Namespace) -> list[list[Result]]:
    """Run the five consumers ``args.rounds`` times, each round in the same order."""
    async with running_fleet() as fleet:
        return [
            [await _measure(fleet, consumer, stream, args) for consumer, stream in _RUNS]
            for _ in range(args.rounds)
        ]


def _ratio(result: Result, round_results: list[Result]) -> float:
    """``result``'s CPU over the cache-off bot's on the same stream in the same round."""
    uncached = next(
        u for u in round_results if u.consumer == _UNCACHED and u.stream == result.stream
    )
    return result.cpu_s / uncached.cpu_s


def _report(rounds: list[list[Result]], args: argparse.Namespace) -> str:
    results = rounds[0]
    medians = "medians of " if len(rounds) > 1 else ""
    lines = [
        "Shoal worker CPU benchmark: CPU per MESSAGE_CREATE",
        (
            f"  {args.messages:,} MESSAGE_CREATE per run to 1 process of {args.shards} shards, "
            f"{args.guilds:,} guilds x {args.members_per_guild} members, {os.cpu_count()} CPUs; "
            f"{medians}{len(rounds)} round(s)"
        ),
        f"  {'consumer':<24}{'stream':<22}{'CPU s':>7}{'us/message':>12}{'x cache off':>13}   aim",
    ]
    for index, r in enumerate(results):
        cpu_s = statistics.median(each[index].cpu_s for each in rounds)
        ratio = statistics.median(_ratio(each[index], each) for each in rounds)
        aim = "<= 0.50x" if r.consumer == _WORKER else ""
        lines.append(
            f"  {r.consumer:<24}{r.stream:<22}{cpu_s:>7.2f}{cpu_s / r.messages * 1e6:>12.1f}"
            f"{ratio:>12.2f}x   {aim}".rstrip()
        )
    if len(rounds) > 1:  # the machine's noise, in the figure that matters
        for index, r in enumerate(results):
            if r.consumer == _WORKER:
                by_round = "  ".join(f"{_ratio(each[index], each):.2f}x" for each in rounds)
                lines.append(f"  worker / cache off, {r.stream}, by round: {by_round}")
    for r in results:
        if r.consumer != _WORKER:
            continue
        dropped = "" if r.dropped is None else f", {r.dropped:,.0f} dropped by the levels tap"
        lines.append(
            f"  worker, {r.stream}: shoal_gateway_events_total{{type=MESSAGE_CREATE}} "
            f"{r.counted:,} of {r.messages + r.guilds:,} (warm-up included){dropped}; Redis "
            f"{r.redis_cpu_s / r.messages * 1e6:.1f} us CPU per message; stream "
            f"{r.messages / r.elapsed_s:,.0f} messages/s; warm-up "
            f"{r.warm_up_cpu_s / r.guilds * 1e3:.2f} ms CPU per cold guild"
        )
        if r.stream == _EVERY:
            check = r.totals.describe() if r.totals else "not checked (the stream outlasted 60 s)"
            lines.append(f"  levels XP after the granting run: {check}")
    return "\n".join(lines) + "\n"


def _is_correct(rounds: list[list[Result]]) -> bool:
    workers = [r for results in rounds for r in results if r.consumer == _WORKER]
    counted_all = all(r.counted == r.messages + r.guilds for r in workers)
    return counted_all and all(r.totals is None or r.totals.is_exact for r in workers)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; non-zero on a lost message or wrong XP."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--guilds", type=int, default=2_000)
    parser.add_argument(
        "--members-per-guild",
        type=int,
        default=25,
        help="members writing in turn in the granting stream (guilds x members distinct)",
    )
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--messages", type=int, default=50_000, help="per run (5 runs a round)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the five runs; figures are medians (a shared machine's noise moves "
        "one run's ratio by +-0.1)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    install_uvloop()
    rounds = asyncio.run(_run(args))
    sys.stdout.write(_report(rounds, args))
    return 0 if _is_correct(rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
