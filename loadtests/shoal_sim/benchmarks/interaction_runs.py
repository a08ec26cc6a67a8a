"""Interactions injected into an in-process simulator at a steady rate, and timed.

Owns building the INTERACTION_CREATEs a user would cause (a slash command with options; a
button click on a bot message carrying that button, as the control API's
``POST /_sim/interactions`` makes them), sending them paced, waiting until every one is
answered or past its deadline, and the figures: latency from the first dispatch to the
accepted initial response (what the simulator's statistics time) and nearest-rank
percentiles. The simulator records every answer (:class:`Interaction`), so the
benchmarks read the responses back from it to check them.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import events
from shoal_sim.discord.entities import InteractionOutcome, Message

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from shoal_sim.benchmarks.message_streams import Place
    from shoal_sim.discord.entities import Interaction
    from shoal_sim.discord.server import Simulator

__all__ = [
    "click_button",
    "latency_ms",
    "percentile",
    "run_command",
    "send_paced",
    "wait_settled",
]

_COMMAND: Final = 2
_COMPONENT: Final = 3
_BUTTON: Final = 2
_POLL_S: Final = 0.01
#: After its deadline an interaction is settled by the simulator's timer: allow for it.
_SETTLE_MARGIN_S: Final = 1.0


def _command_id(sim: Simulator, name: str) -> int:
    app = next(iter(sim.world.applications.values()))
    for command_id, command in app.commands.items():
        if command.get("name") == name:
            return command_id
    return app.id + 1  # unregistered: the worker routes by name, as for the load generator


def run_command(
    sim: Simulator, place: Place, name: str, options: Sequence[dict[str, Any]] = ()
) -> Interaction:
    """Send ``/name`` with ``options`` (Discord's option objects) from ``place``'s member."""
    data = {"id": str(_command_id(sim, name)), "name": name, "type": 1, "options": list(options)}
    interaction, _ = events.emit_interaction(
        sim,
        guild_id=place.guild_id,
        channel_id=place.channel_id,
        user_id=place.author_id,
        interaction_type=_COMMAND,
        data=data,
    )
    return interaction


def click_button(sim: Simulator, place: Place, custom_id: str) -> Interaction:
    """Click a button ``custom_id`` on a fresh bot message that carries it."""
    world = sim.world
    app = next(iter(world.applications.values()))
    button = {"type": _BUTTON, "style": 2, "label": "Next", "custom_id": custom_id}
    source = Message(
        id=world.ids.next_id(),
        channel_id=place.channel_id,
        guild_id=place.guild_id,
        author_id=app.bot_user_id,
        content="",
        components=[{"type": 1, "components": [button]}],
    )
    world.add_message(source)
    interaction, _ = events.emit_interaction(
        sim,
        guild_id=place.guild_id,
        channel_id=place.channel_id,
        user_id=place.author_id,
        interaction_type=_COMPONENT,
        data={"custom_id": custom_id, "component_type": _BUTTON},
        source_message_id=source.id,
    )
    return interaction


async def send_paced(
    makers: Sequence[Callable[[], Interaction]], per_s: float
) -> list[Interaction]:
    """Call each maker (which sends one interaction) at ``per_s`` a second; return them."""
    sent: list[Interaction] = []
    started = time.monotonic()
    for index, make in enumerate(makers):
        delay_s = started + index / per_s - time.monotonic()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        sent.append(make())
    return sent


async def wait_settled(sim: Simulator, interactions: Sequence[Interaction]) -> None:
    """Wait until none is pending (answered, or its deadline passed)."""
    deadline = time.monotonic() + sim.settings.interaction_deadline_s + _SETTLE_MARGIN_S
    while any(i.outcome is InteractionOutcome.PENDING for i in interactions):
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(_POLL_S)


def latency_ms(interaction: Interaction) -> float | None:
    """Return the time from its first dispatch to its accepted initial response, or None."""
    if interaction.responded_at is None or interaction.outcome is not InteractionOutcome.ANSWERED:
        return None
    start = interaction.dispatched_at or interaction.created_at
    return (interaction.responded_at - start) * 1000


def percentile(values: Sequence[float], quantile: float) -> float | None:
    """Return the nearest-rank ``quantile`` (0 to 1) of ``values``, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]
