"""Benchmark: /rank card render time and PNG size, through the worker and its image pool.

Run: ``.venv/bin/python -m shoal_sim.benchmarks.rank_card`` (``--help`` for sizes).

Starts Redis, a migrated PostgreSQL and one ``shoal worker`` against a simulator in this
process holding one guild of ``--cards`` members (most with an avatar on the simulator's
CDN). Each member first earns XP with one message; then each asks ``/rank`` once, at
``--rate`` a second, so every card is a fresh render (the pool caches by member, rank
and XP). Figures:

- the time from the INTERACTION_CREATE to the message carrying the card (the initial
  response when the worker answered at once, else the edit that completed its deferral;
  the simulator records both), and to the initial response itself;
- the worker's own render time, from its ``shoal_image_render_seconds{kind="rank_card"}``
  histogram (estimated within buckets, as PromQL's ``histogram_quantile`` does), and its
  ``shoal_image_renders_total`` by outcome;
- the PNG sizes of the cards the simulator received.

Aim: p95 to the card under 300 ms. Figures, not assertions; the exit status is non-zero
when a /rank was not answered with a PNG attachment.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import os
import pathlib
import random
import sys
import time
from typing import TYPE_CHECKING, Final

from shoal_sim.benchmarks import interaction_runs, message_streams
from shoal_sim.benchmarks.processes import (
    MESSAGE_INTENTS,
    WorkerSpec,
    install_uvloop,
    running_fleet,
)
from shoal_sim.benchmarks.prometheus_text import bucket_quantile, histogram_buckets, sample_sum
from shoal_sim.discord.entities import InteractionOutcome
from shoal_sim.discord.server import Simulator
from shoal_sim.discord.settings import SimSettings

if TYPE_CHECKING:
    from shoal_sim.benchmarks.processes import Fleet
    from shoal_sim.discord.entities import Interaction

__all__ = ["main"]

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_CARD_NAME: Final = "rank.png"
_POLL_S: Final = 0.001
#: A card is drawn in well under a second; one missing after this long is not coming.
_CARD_TIMEOUT_S: Final = 15.0
_OUTCOMES: Final = ("rendered", "cached", "timeout", "failed")


@dataclasses.dataclass(frozen=True, slots=True)
class Card:
    """One /rank and what came of it."""

    interaction: Interaction
    to_card_ms: float | None
    """From dispatch to the message with the card; None when no card came."""
    png_bytes: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """Everything the report needs."""

    cards: list[Card]
    render_p50_s: float | None
    render_p95_s: float | None
    outcomes: dict[str, float]


def _card_of(sim: Simulator, interaction: Interaction) -> bytes | None:
    if interaction.original_message_id is None:
        return None
    message = sim.world.message(interaction.channel_id, interaction.original_message_id)
    if message is None:
        return None
    for attachment in message.attachments:
        if attachment.filename == _CARD_NAME:
            return attachment.data
    return None


async def _watch(sim: Simulator, interaction: Interaction) -> Card:
    """Wait for the card on the interaction's message (polled each millisecond)."""
    deadline = time.monotonic() + _CARD_TIMEOUT_S
    while (card := _card_of(sim, interaction)) is None:
        if time.monotonic() > deadline or interaction.outcome is InteractionOutcome.UNANSWERED:
            return Card(interaction, None, None)
        await asyncio.sleep(_POLL_S)
    seen = time.monotonic()
    start = interaction.dispatched_at or interaction.created_at
    # Answered at once: the card came with the response, whose time the simulator recorded.
    responded = interaction.responded_at
    at = responded if interaction.response_type == 4 and responded is not None else seen  # noqa: PLR2004 - CHANNEL_MESSAGE
    return Card(interaction, (at - start) * 1000, len(card))


def _is_png(sim: Simulator, card: Card) -> bool:
    data = _card_of(sim, card.interaction)
    return data is not None and data.startswith(_PNG_SIGNATURE)


async def _run(args: argparse.Namespace) -> tuple[Outcome, list[bool]]:
    sim = Simulator(
        SimSettings(
            guilds=1,
            members_per_guild=args.cards,
            max_concurrency=1,
            identify_window_s=0.05,
            channels_per_guild=4,
            roles_per_guild=4,
        )
    )
    await sim.start()
    try:
        async with running_fleet(args.logs) as fleet:
            outcome = await _measure(fleet, sim, args)
            return outcome, [_is_png(sim, card) for card in outcome.cards]
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
    await message_streams.drain(list(sim.gateway.connections), 0)
    await message_streams.stream(sim, places, len(places))
    await asyncio.sleep(1.0)  # the tap grants within 50 ms; /rank reads Redis, not PostgreSQL
    askers = list(places)
    random.Random(args.seed).shuffle(askers)  # noqa: S311 - load shape, not secrets
    makers = [
        functools.partial(interaction_runs.run_command, sim, place, "rank") for place in askers
    ]
    watchers: list[asyncio.Task[Card]] = []

    def send_and_watch(make: functools.partial[Interaction]) -> Interaction:
        interaction = make()
        watchers.append(asyncio.create_task(_watch(sim, interaction)))
        return interaction

    await interaction_runs.send_paced(
        [functools.partial(send_and_watch, make) for make in makers], args.rate
    )
    cards = list(await asyncio.gather(*watchers))
    text = await worker.metrics_text()
    buckets = histogram_buckets(text, "shoal_image_render_seconds", kind="rank_card")
    outcomes = {
        outcome: sample_sum(text, "shoal_image_renders_total", kind="rank_card", outcome=outcome)
        or 0.0
        for outcome in _OUTCOMES
    }
    return Outcome(cards, bucket_quantile(buckets, 0.5), bucket_quantile(buckets, 0.95), outcomes)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _report(outcome: Outcome, args: argparse.Namespace) -> str:
    cards = outcome.cards
    to_card = [c.to_card_ms for c in cards if c.to_card_ms is not None]
    responses = [
        ms for c in cards if (ms := interaction_runs.latency_ms(c.interaction)) is not None
    ]
    sizes = [c.png_bytes for c in cards if c.png_bytes is not None]
    deferred = sum(1 for c in cards if c.interaction.response_type == 5)  # noqa: PLR2004 - DEFERRED
    pct = interaction_runs.percentile
    render_p50 = None if outcome.render_p50_s is None else outcome.render_p50_s * 1000
    render_p95 = None if outcome.render_p95_s is None else outcome.render_p95_s * 1000
    counts = ", ".join(f"{name} {value:,.0f}" for name, value in outcome.outcomes.items())
    lines = [
        "Shoal rank card benchmark: /rank through the worker's image pool",
        (
            f"  {len(cards)} /rank at {args.rate:g}/s, each a different member (a fresh render), "
            f"{os.cpu_count()} CPUs; {deferred} deferred"
        ),
        f"  {'figure':<34}{'p50':>9}{'p95':>9}{'max':>9}   aim",
        (
            f"  {'ms to the message with the card':<34}{_ms(pct(to_card, 0.5)):>9}"
            f"{_ms(pct(to_card, 0.95)):>9}{_ms(max(to_card, default=None)):>9}   p95 < 300"
        ),
        (
            f"  {'ms to the initial response':<34}{_ms(pct(responses, 0.5)):>9}"
            f"{_ms(pct(responses, 0.95)):>9}{_ms(max(responses, default=None)):>9}"
        ),
        f"  {'ms rendering (worker histogram)':<34}{_ms(render_p50):>9}{_ms(render_p95):>9}",
        (
            f"  {'PNG bytes':<34}{pct([float(s) for s in sizes], 0.5) or 0:>9,.0f}"
            f"{pct([float(s) for s in sizes], 0.95) or 0:>9,.0f}{max(sizes, default=0):>9,}"
        ),
        f"  cards received: {len(sizes)} of {len(cards)}; worker renders: {counts}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; non-zero when a card is missing."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cards", type=int, default=200, help="members, one /rank each")
    parser.add_argument("--rate", type=float, default=5.0, help="/rank per second")
    parser.add_argument("--seed", type=int, default=1, help="the order members ask in")
    parser.add_argument("--logs", type=pathlib.Path, help="keep the processes' logs here")
    args = parser.parse_args(argv)
    install_uvloop()
    outcome, pngs = asyncio.run(_run(args))
    sys.stdout.write(_report(outcome, args))
    return 0 if pngs and all(pngs) else 1


if __name__ == "__main__":
    sys.exit(main())
