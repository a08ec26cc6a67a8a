"""Benchmark: /leaderboard latency on a board of ``--members`` members in one guild.

Run: ``.venv/bin/python -m shoal_sim.benchmarks.leaderboard_latency`` (``--help`` for
sizes; the acceptance size is ``--members 1000000``, about 4 minutes to fill on 2 cores).

Starts Redis, a migrated PostgreSQL and one ``shoal worker`` against a simulator in this
process holding one guild of ``--members`` generated members. The board is filled end to
end: one MESSAGE_CREATE from each member through the simulator into the worker, at
``--fill-rate`` a second, whose levels tap grants each one 10 XP in Redis and whose flush
job writes them to PostgreSQL; the fill waits until ``levels_members`` holds one row per
member. (The tap never holds up the gateway: above what one worker can grant its queue
fills and it drops messages; an unpaced fill at 11,000 a second on 2 cores lost 8 % of
1,000,000, which the XP check reported.) Then ``--commands`` ``/leaderboard`` commands
(page 1, and every other one a deep ``page`` option) and ``--clicks`` page-button clicks
(``lvlpage:1:<page>`` on a bot message carrying it, pages from the deeper half of the
board) go in at ``--rate`` a second from random members (the worker allows a guild 60
clicks per 10 s: what it refuses is counted apart, untimed). The simulator times each
from its INTERACTION_CREATE to the accepted initial response
(the reply with the board, or the edited message for a click); the figures are p50/p99/max
per kind (aim: p99 under 300 ms). Figures, not assertions; the exit status is non-zero
when an interaction went unanswered, a reply's footer does not count every member or shows
another page than asked, or PostgreSQL does not hold one message's XP per member.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import math
import os
import pathlib
import random
import sys
import time
from typing import TYPE_CHECKING, Any, Final

import asyncpg

from shoal_sim.benchmarks import interaction_runs, message_streams
from shoal_sim.benchmarks.levels_records import read_totals
from shoal_sim.benchmarks.processes import (
    MESSAGE_INTENTS,
    WorkerSpec,
    install_uvloop,
    running_fleet,
)
from shoal_sim.benchmarks.prometheus_text import sample_sum
from shoal_sim.discord.server import Simulator
from shoal_sim.discord.settings import SimSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from shoal_sim.benchmarks.levels_records import XpTotals
    from shoal_sim.benchmarks.message_streams import Place
    from shoal_sim.benchmarks.processes import Fleet, WorkerProcess
    from shoal_sim.discord.entities import Interaction

__all__ = ["main"]

#: The worker's leaderboard shows this many members a page (its PAGE_SIZE).
_PAGE_SIZE: Final = 10
#: /leaderboard's ``page`` option goes up to this (the command's IntParams max).
_MAX_PAGE_OPTION: Final = 100_000
_FILL_TIMEOUT_S: Final = 300.0
_COUNT_ROWS: Final = "SELECT count(*) FROM levels_members WHERE guild_id = $1"
_COMMAND: Final = "/leaderboard"
_CLICK: Final = "page button"
#: The worker's reply to a user or guild over its rate limit (clicks: 60 per 10 s a guild).
_LIMITED: Final = "a little too quickly"


@dataclasses.dataclass(frozen=True, slots=True)
class Asked:
    """One interaction sent, and the page its answer must show."""

    kind: str
    page: int
    interaction: Interaction


@dataclasses.dataclass(frozen=True, slots=True)
class Fill:
    """How the board was filled."""

    stream: message_streams.StreamResult
    flushed_s: float
    """From the first message until PostgreSQL held every row."""
    rows: int
    dropped: float | None
    """The worker's ``shoal_levels_dropped_messages``, when it exports it."""


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """Everything the report needs."""

    fill: Fill
    asked: list[Asked]
    wrong: list[str]
    """Why answers were wrong (empty when all were right)."""
    totals: XpTotals


async def _rows(dsn: str, guild_id: int) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval(_COUNT_ROWS, guild_id))
    finally:
        await connection.close()


async def _fill(
    sim: Simulator,
    worker: WorkerProcess,
    places: list[Place],
    dsn: str,
    guild_id: int,
    per_s: float,
) -> Fill:
    started = time.monotonic()
    sent = await message_streams.stream(sim, places, len(places), per_s=per_s)
    deadline = time.monotonic() + _FILL_TIMEOUT_S
    rows = await _rows(dsn, guild_id)
    while rows < len(places) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        rows = await _rows(dsn, guild_id)
    dropped = sample_sum(await worker.metrics_text(), "shoal_levels_dropped_messages")
    return Fill(sent, time.monotonic() - started, rows, dropped)


def _page_option(page: int) -> list[dict[str, Any]]:
    return [{"name": "page", "type": 4, "value": page}]


def _plan(
    sim: Simulator, places: list[Place], args: argparse.Namespace
) -> list[tuple[str, int, Callable[[], Interaction]]]:
    """Return (kind, expected page, sender) for each interaction, commands and clicks mixed."""
    rng = random.Random(args.seed)  # noqa: S311 - load shape, not secrets
    pages = max(1, math.ceil(len(places) / _PAGE_SIZE))
    deep = (max(1, pages // 2), pages)
    plan: list[tuple[str, int, Callable[[], Interaction]]] = []
    for index in range(args.commands):
        place = rng.choice(places)
        if index % 2 == 0:
            send = functools.partial(interaction_runs.run_command, sim, place, "leaderboard")
            plan.append((_COMMAND, 1, send))
        else:
            page = min(rng.randint(*deep), _MAX_PAGE_OPTION)
            send = functools.partial(
                interaction_runs.run_command, sim, place, "leaderboard", _page_option(page)
            )
            plan.append((_COMMAND, page, send))
    for _ in range(args.clicks):
        place = rng.choice(places)
        page = rng.randint(*deep)
        send = functools.partial(interaction_runs.click_button, sim, place, f"lvlpage:1:{page}")
        plan.append((_CLICK, page, send))
    rng.shuffle(plan)
    return plan


def _footer(interaction: Interaction) -> str:
    data = (interaction.response or {}).get("data") or {}
    embeds = data.get("embeds") or [{}]
    footer = embeds[0].get("footer") or {}
    return str(footer.get("text", ""))


def _content(interaction: Interaction) -> str:
    data = (interaction.response or {}).get("data") or {}
    return str(data.get("content") or "")


def _is_limited(asked: Asked) -> bool:
    """Whether the worker refused it for going too fast (its own rule, not a failure)."""
    return _LIMITED in _content(asked.interaction)


def _check(asked: list[Asked], members: int) -> list[str]:
    pages = max(1, math.ceil(members / _PAGE_SIZE))
    wrong: list[str] = []
    for a in asked:
        if _is_limited(a):
            continue
        if interaction_runs.latency_ms(a.interaction) is None:
            wrong.append(f"{a.kind} page {a.page}: not answered ({a.interaction.outcome.value})")
            continue
        footer = _footer(a.interaction)
        wanted = f"Page {a.page} of {pages:,} · {members:,} members with XP"
        if footer.replace(",", "") != wanted.replace(",", ""):
            said = footer or _content(a.interaction)[:80]
            wrong.append(
                f"{a.kind} page {a.page}: response type {a.interaction.response_type}, "
                f"{said!r}; expected {wanted!r}"
            )
    return wrong


async def _run(args: argparse.Namespace) -> Outcome:
    sim = Simulator(
        SimSettings(
            guilds=1,
            members_per_guild=args.members,
            max_concurrency=1,
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
        total_shards=1,
        shards_per_pod=1,
        identify_window_s=0.05,
        intents=MESSAGE_INTENTS,
    )
    worker = await fleet.worker(spec, 0)
    await worker.ready()
    places = message_streams.every_member(sim)
    guild_id = places[0].guild_id
    await message_streams.drain(list(sim.gateway.connections), 0)
    fill = await _fill(sim, worker, places, fleet.postgres.dsn, guild_id, args.fill_rate)
    plan = _plan(sim, places, args)
    sent = await interaction_runs.send_paced([send for _, _, send in plan], args.rate)
    asked = [Asked(kind, page, i) for (kind, page, _), i in zip(plan, sent, strict=True)]
    await interaction_runs.wait_settled(sim, sent)
    wrong = _check(asked, len(places))
    await worker.stop()
    earners = message_streams.expected_earners(places, len(places))
    totals = await read_totals(fleet.postgres.dsn, earners)
    return Outcome(fill, asked, wrong, totals)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _latency_line(label: str, asked: list[Asked]) -> str:
    latencies = [
        ms
        for a in asked
        if not _is_limited(a) and (ms := interaction_runs.latency_ms(a.interaction)) is not None
    ]
    p50 = interaction_runs.percentile(latencies, 0.5)
    p99 = interaction_runs.percentile(latencies, 0.99)
    top = max(latencies, default=None)
    return (
        f"  {label:<26}{len(asked):>6}{len(latencies):>9}{_ms(p50):>9}{_ms(p99):>9}"
        f"{_ms(top):>9}   < 300"
    )


def _report(outcome: Outcome, args: argparse.Namespace) -> str:
    fill = outcome.fill
    dropped = "" if fill.dropped is None else f"; {fill.dropped:,.0f} dropped by the levels tap"
    lines = [
        f"Shoal leaderboard benchmark: /leaderboard on {args.members:,} members of one guild",
        (
            f"  fill: {fill.stream.messages:,} MESSAGE_CREATEs from distinct members in "
            f"{fill.stream.elapsed_s:.1f} s ({fill.stream.per_s:,.0f}/s) through the simulator "
            f"into 1 worker; PostgreSQL held {fill.rows:,} rows after {fill.flushed_s:.1f} s"
            f"{dropped}"
        ),
        f"  levels XP after the run: {outcome.totals.describe()}",
        (
            f"  {len(outcome.asked)} interactions at {args.rate:g}/s from random members, "
            f"{os.cpu_count()} CPUs"
        ),
        f"  {'kind':<26}{'sent':>6}{'answered':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}   aim",
        _latency_line("all", outcome.asked),
        _latency_line(
            f"{_COMMAND} (page 1, deep)", [a for a in outcome.asked if a.kind == _COMMAND]
        ),
        _latency_line(f"{_CLICK} (deep half)", [a for a in outcome.asked if a.kind == _CLICK]),
        (
            f"  rate limited by the worker (not timed): "
            f"{sum(1 for a in outcome.asked if _is_limited(a))}"
        ),
        f"  wrong or missing answers: {len(outcome.wrong)}",
        *(f"    {why}" for why in outcome.wrong[:10]),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; non-zero on a wrong or missing answer or XP."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--members", type=int, default=20_000, help="members on the board (acceptance: 1000000)"
    )
    parser.add_argument("--fill-rate", type=float, default=4_000.0, help="fill messages per second")
    parser.add_argument("--commands", type=int, default=100, help="/leaderboard commands")
    parser.add_argument("--clicks", type=int, default=100, help="page-button clicks")
    parser.add_argument(
        "--rate",
        type=float,
        default=10.0,
        help="interactions per second (half are clicks: the worker allows 6 a second a guild)",
    )
    parser.add_argument("--seed", type=int, default=1, help="who asks, which pages")
    parser.add_argument("--logs", type=pathlib.Path, help="keep the processes' logs here")
    args = parser.parse_args(argv)
    install_uvloop()
    outcome = asyncio.run(_run(args))
    sys.stdout.write(_report(outcome, args))
    is_filled = outcome.fill.rows == args.members
    return 0 if is_filled and not outcome.wrong and outcome.totals.is_exact else 1


if __name__ == "__main__":
    sys.exit(main())
