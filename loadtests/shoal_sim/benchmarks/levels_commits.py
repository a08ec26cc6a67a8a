"""Benchmark: PostgreSQL commits per message while the levels feature grants XP.

Run: ``.venv/bin/python -m shoal_sim.benchmarks.levels_commits`` (``--help`` for sizes;
the defaults are the acceptance size: 5,000 messages/s for 20 s from 100,000 members).

Starts Redis, a migrated PostgreSQL and one ``shoal worker`` against a simulator in this
process with ``--guilds`` guilds of ``--members-per-guild`` members. A warm-up of one
message per guild comes first (a guild's first message loads its settings and rebuilds its
board from PostgreSQL: a per-guild cost, printed apart). Then ``--rate`` MESSAGE_CREATEs a
second for ``--duration`` seconds, every member in turn, so nearly every message earns
XP; the worker's flush job moves the XP to PostgreSQL once a second.

The figure is ``xact_commit`` of the workers' database in ``pg_stat_database`` over the
stream, per message (aim: at most 0.01). The benchmark reads it from a database of its own,
so its reads are not counted; PostgreSQL publishes an idle session's counts within 10 s,
so the reading after the warm-up waits until the count stood still for ``--settle``
seconds, and the last one is taken once the worker stopped (SIGTERM: its tap drains, its
last flush commits, and its sessions' counts are published as they close). Figures, not
assertions; the exit status is non-zero when the worker did not receive every message or
when PostgreSQL does not hold exactly one message's XP (10) per member who wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import pathlib
import sys
import time
from typing import TYPE_CHECKING, Final

import asyncpg

from shoal_sim.benchmarks import message_streams
from shoal_sim.benchmarks.levels_records import read_totals
from shoal_sim.benchmarks.processes import (
    MESSAGE_INTENTS,
    WorkerSpec,
    install_uvloop,
    running_fleet,
)
from shoal_sim.discord.server import Simulator
from shoal_sim.discord.settings import SimSettings

if TYPE_CHECKING:
    from shoal_sim.benchmarks.levels_records import XpTotals
    from shoal_sim.benchmarks.postgres_process import PostgresProcess
    from shoal_sim.benchmarks.processes import Fleet, WorkerProcess

__all__ = ["main"]

_POLL_S: Final = 1.0
#: A worker that took no message for this long has taken all it will.
_QUIET_S: Final = 2.0
_STOP_TIMEOUT_S: Final = 30.0
_COUNT_BATCHES: Final = "SELECT count(*) FROM levels_flush_batches"


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """Everything the report needs."""

    guilds: int
    warm_up_commits: int
    stream: message_streams.StreamResult
    stream_commits: int
    flush_batches: int
    """Flush transactions over the whole run (one row each in ``levels_flush_batches``)."""
    received: int
    expected_received: int
    totals: XpTotals | None
    """None when the run outlasted the 60 s cooldown (then XP is not exactly predictable)."""

    @property
    def commits_per_message(self) -> float:
        """Commits over the stream, per message."""
        return self.stream_commits / self.stream.messages


async def _settled_commits(postgres: PostgresProcess, settle_s: float) -> int:
    """Return ``xact_commit`` once it stood still for ``settle_s`` seconds (or 3x that)."""
    value = await postgres.xact_commit()
    still_since = give_up = time.monotonic()
    give_up += 3 * settle_s
    while time.monotonic() - still_since < settle_s and time.monotonic() < give_up:
        await asyncio.sleep(_POLL_S)
        now = await postgres.xact_commit()
        if now != value:
            value, still_since = now, time.monotonic()
    return value


async def _commits_after_sessions_closed(postgres: PostgresProcess) -> int:
    """Return ``xact_commit`` once no session is open on the workers' database."""
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while await postgres.backends() > 0 and time.monotonic() < deadline:  # noqa: ASYNC110 - polling a server
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.2)  # a closing session publishes its counts as it exits
    return await postgres.xact_commit()


async def _received(worker: WorkerProcess, expected: int) -> int:
    """Return the worker's MESSAGE_CREATE count once it reached ``expected`` or stood still."""
    count, still_since = -1, time.monotonic()
    while time.monotonic() - still_since < _QUIET_S:
        now = await worker.metric("shoal_gateway_events_total", type="MESSAGE_CREATE")
        if int(now) >= expected:
            return int(now)
        if int(now) != count:
            count, still_since = int(now), time.monotonic()
        await asyncio.sleep(0.1)
    return count


async def _flush_batches(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(_COUNT_BATCHES))
    finally:
        await connection.close()


async def _run(args: argparse.Namespace) -> Outcome:
    sim = Simulator(
        SimSettings(
            guilds=args.guilds,
            members_per_guild=args.members_per_guild,
            max_concurrency=args.shards,
            identify_window_s=0.05,
            channels_per_guild=4,
            roles_per_guild=4,
        )
    )
    await sim.start()
    try:
        async with running_fleet(args.logs) as fleet:
            return await _measure(fleet, sim, args)
    finally:
        await sim.stop()


async def _measure(fleet: Fleet, sim: Simulator, args: argparse.Namespace) -> Outcome:
    spec = WorkerSpec(
        token=next(iter(sim.world.applications.values())).token,
        rest_url=sim.rest_url,
        redis_url=fleet.redis.url,
        total_shards=args.shards,
        shards_per_pod=args.shards,
        identify_window_s=0.05,
        intents=MESSAGE_INTENTS,
    )
    worker = await fleet.worker(spec, 0)
    await worker.ready()
    places = message_streams.every_member(sim)
    guilds = len(sim.world.guilds)
    await message_streams.drain(list(sim.gateway.connections), 0)
    postgres = fleet.postgres
    before_warm_up = await _settled_commits(postgres, args.settle)
    started = time.monotonic()
    await message_streams.stream(sim, places, guilds)
    before = await _settled_commits(postgres, args.settle)
    messages = round(args.rate * args.duration)
    sent = await message_streams.stream(sim, places, messages, start=guilds, per_s=args.rate)
    elapsed_s = time.monotonic() - started
    received = await _received(worker, guilds + messages)
    await worker.stop()  # drains the tap, flushes, closes its sessions
    after = await _commits_after_sessions_closed(postgres)
    totals = None
    if elapsed_s < message_streams.COOLDOWN_S:
        earners = message_streams.expected_earners(places, guilds + messages)
        totals = await read_totals(postgres.dsn, earners)
    return Outcome(
        guilds=guilds,
        warm_up_commits=before - before_warm_up,
        stream=sent,
        stream_commits=after - before,
        flush_batches=await _flush_batches(postgres.dsn),
        received=received,
        expected_received=guilds + messages,
        totals=totals,
    )


def _report(outcome: Outcome, args: argparse.Namespace) -> str:
    stream = outcome.stream
    check = outcome.totals.describe() if outcome.totals else "not checked (run outlasted 60 s)"
    lines = [
        "Shoal levels benchmark: PostgreSQL commits per message",
        (
            f"  {stream.messages:,} MESSAGE_CREATEs at {args.rate:,.0f}/s asked, "
            f"{stream.per_s:,.0f}/s sent over {stream.elapsed_s:.1f} s, {outcome.guilds:,} "
            f"guilds x {args.members_per_guild:,} members, 1 worker of {args.shards} shards, "
            f"{os.cpu_count()} CPUs"
        ),
        f"  {'figure':<38}{'value':>12}   aim",
        f"  {'commits over the stream':<38}{outcome.stream_commits:>12,}",
        f"  {'commits per message':<38}{outcome.commits_per_message:>12.5f}   <= 0.01",
        f"  {'flush transactions (whole run)':<38}{outcome.flush_batches:>12,}",
        (
            f"  {'warm-up commits per cold guild':<38}"
            f"{outcome.warm_up_commits / outcome.guilds:>12.2f}   (settings, board rebuild)"
        ),
        f"  messages received by the worker: {outcome.received:,} of {outcome.expected_received:,}",
        f"  levels XP: {check}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; non-zero on a lost message or wrong XP."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=5_000.0, help="messages per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds (under 40)")
    parser.add_argument("--guilds", type=int, default=100)
    parser.add_argument("--members-per-guild", type=int, default=1_000)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument(
        "--settle",
        type=float,
        default=11.0,
        help="seconds xact_commit must stand still before a reading (PostgreSQL: 10)",
    )
    parser.add_argument("--logs", type=pathlib.Path, help="keep the processes' logs here")
    args = parser.parse_args(argv)
    install_uvloop()
    outcome = asyncio.run(_run(args))
    sys.stdout.write(_report(outcome, args))
    is_exact = outcome.totals is None or outcome.totals.is_exact
    return 0 if is_exact and outcome.received == outcome.expected_received else 1


if __name__ == "__main__":
    sys.exit(main())
