"""Streams of user MESSAGE_CREATEs through an in-process simulator, for the fleet benchmarks.

Owns who sends each message (a cycle of :class:`Place`: one member per guild, or every
generated member of every guild), sending them through the simulator's real event path
either as fast as the consumers drain them or at a steady rate (both with flow control on
the gateway connections' unsent backlog, so a slow consumer is never buried), and the XP
such a stream should earn under the levels seed rules (README, "What the bot does"):
10 XP per message, at most once per 60 s per member of a guild. ``shoal_sim`` never
imports ``shoal``, so those two numbers are repeated here; the benchmarks that check XP
totals fail if the worker's rules ever differ.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import events
from shoal_sim.discord.world import generated_channel_id, generated_member_id

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shoal_sim.discord.entities import Guild
    from shoal_sim.discord.gateway.connection import Connection
    from shoal_sim.discord.server import Simulator

__all__ = [
    "COOLDOWN_S",
    "XP_PER_MESSAGE",
    "Place",
    "StreamResult",
    "drain",
    "every_member",
    "expected_earners",
    "one_member_per_guild",
    "stream",
]

#: XP a message earns (levels seed rule).
XP_PER_MESSAGE: Final = 10
#: A member of a guild earns from one message per this many seconds (levels seed rule).
COOLDOWN_S: Final = 60.0
#: Pause sending while this many frames wait unsent (as in discord_dispatch).
_MAX_BACKLOG: Final = 4_000
_BATCH: Final = 200
_TICK_S: Final = 0.005


@dataclasses.dataclass(frozen=True, slots=True)
class Place:
    """Where a message is sent and by whom."""

    guild_id: int
    channel_id: int
    author_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class StreamResult:
    """What one :func:`stream` sent."""

    messages: int
    elapsed_s: float

    @property
    def per_s(self) -> float:
        """Messages sent per second."""
        return self.messages / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _guilds(sim: Simulator) -> list[Guild]:
    found = (sim.world.guild(g) for g in sorted(sim.world.guilds))
    return [g for g in found if g is not None]


def one_member_per_guild(sim: Simulator) -> list[Place]:
    """Return each guild's first member in its first text channel.

    The levels tap's cooldown then drops all but one message per guild a minute.
    """
    return [
        Place(g.id, generated_channel_id(g, 1), generated_member_id(g, 0)) for g in _guilds(sim)
    ]


def every_member(sim: Simulator) -> list[Place]:
    """Return every generated member of every guild, interleaved across guilds."""
    guilds = _guilds(sim)
    most = max((g.generated_members for g in guilds), default=0)
    return [
        Place(g.id, generated_channel_id(g, 1), generated_member_id(g, index))
        for index in range(most)
        for g in guilds
        if index < g.generated_members
    ]


def expected_earners(places: Sequence[Place], messages: int) -> set[tuple[int, int]]:
    """Return the (guild, member) pairs the first ``messages`` over ``places`` reach.

    Each earns exactly :data:`XP_PER_MESSAGE` when the stream lasted under
    :data:`COOLDOWN_S` (every later message of a member is cooling).
    """
    reached = places[: min(messages, len(places))]
    return {(p.guild_id, p.author_id) for p in reached}


async def drain(connections: Sequence[Connection], backlog: int) -> None:
    """Wait until at most ``backlog`` frames wait unsent (polling: a benchmark, not a server)."""
    while sum(c.backlog for c in connections) > backlog:  # noqa: ASYNC110 - polling is the point
        await asyncio.sleep(0.001)


def _send(sim: Simulator, place: Place, index: int) -> None:
    events.emit_user_message(
        sim,
        channel_id=place.channel_id,
        author_id=place.author_id,
        guild_id=place.guild_id,
        content=f"benchmark message {index}",
    )


async def stream(
    sim: Simulator,
    places: Sequence[Place],
    messages: int,
    *,
    start: int = 0,
    per_s: float | None = None,
) -> StreamResult:
    """Send ``messages`` MESSAGE_CREATEs, message ``i`` from ``places[(start + i) % len]``.

    Args:
        sim: The simulator (in this process) the consumers are connected to.
        places: Who sends, in turn.
        messages: How many to send.
        start: Where in ``places`` to begin (after a warm-up that sent ``start``).
        per_s: A steady rate (paced every 5 ms); None sends as fast as they are drained.

    Returns:
        How many were sent and how long it took, until every frame left the simulator.
    """
    connections = list(sim.gateway.connections)
    count = len(places)
    started = time.monotonic()
    if per_s is None:
        for index in range(messages):
            _send(sim, places[(start + index) % count], index)
            if index % _BATCH == 0:
                await drain(connections, _MAX_BACKLOG)
    else:
        sent = 0
        while sent < messages:
            due = min(messages, int((time.monotonic() - started) * per_s) + 1)
            while sent < due:
                _send(sim, places[(start + sent) % count], sent)
                sent += 1
            await drain(connections, _MAX_BACKLOG)
            await asyncio.sleep(_TICK_S)
    await drain(connections, 0)
    return StreamResult(messages, time.monotonic() - started)
