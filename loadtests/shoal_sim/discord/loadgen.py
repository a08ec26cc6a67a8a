"""The built-in load generator: user messages and interactions at a steady rate.

Guilds are picked with a Zipf spread (a few hot guilds, a long tail), as real bots see,
so load tests need no second client. Pure picking (:class:`ZipfPicker`) is apart from
the pacing loop (:class:`LoadGenerator`).
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import itertools
import logging
import math
import random
import time
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import events
from shoal_sim.discord.world import generated_channel_id, generated_member_id

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Application, Guild
    from shoal_sim.discord.server import Simulator

__all__ = ["LoadGenerator", "LoadSpec", "ZipfPicker"]

_LOG = logging.getLogger(__name__)
#: Pacing tick. Events due in a tick are sent together; shorter ticks cost more wakeups.
_TICK_S: Final = 0.005
#: Never send more than this many ticks' worth at once after a stall (no catch-up storms).
_MAX_CATCH_UP_TICKS: Final = 20


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoadSpec:
    """What to generate and how fast."""

    messages_per_s: float = 0.0
    """User MESSAGE_CREATEs per second."""
    interactions_per_s: float = 0.0
    """Slash-command INTERACTION_CREATEs per second."""
    duration_s: float = 60.0
    """Stop after this long."""
    zipf_s: float = 1.1
    """Zipf exponent of the guild spread (0 is uniform)."""
    commands: tuple[str, ...] = ("ping",)
    """Slash command names to use, round-robin."""
    seed: int = 1
    """Seed of the guild ranking and picks."""
    application_id: int | None = None
    """Whose guilds to load (default: the first application)."""

    def __post_init__(self) -> None:
        """Reject negative rates and empty durations.

        Raises:
            ValueError: naming the bad field.
        """
        for name in ("messages_per_s", "interactions_per_s", "zipf_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:  # NaN sends nothing; inf never ends a tick
                msg = f"{name} must be a finite number, not negative"
                raise ValueError(msg)
        if not math.isfinite(self.duration_s) or self.duration_s <= 0:
            msg = "duration_s must be positive and finite"
            raise ValueError(msg)
        if not self.commands:
            msg = "commands must name at least one command"
            raise ValueError(msg)


class ZipfPicker:
    """Picks indexes ``0..n-1`` with probability proportional to ``1 / (rank + 1) ** s``."""

    __slots__ = ("_cumulative", "_rng", "_total")

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        """Precompute cumulative weights for ``n`` items."""
        if n < 1:
            msg = "ZipfPicker needs at least one item"
            raise ValueError(msg)
        self._cumulative = list(itertools.accumulate(1.0 / (rank + 1) ** s for rank in range(n)))
        self._total = self._cumulative[-1]
        self._rng = rng

    def pick(self) -> int:
        """Return one index."""
        index = bisect.bisect_left(self._cumulative, self._rng.random() * self._total)
        return min(index, len(self._cumulative) - 1)


@dataclasses.dataclass(slots=True)
class LoadStatus:
    """What a generator run has done so far."""

    messages_sent: int = 0
    interactions_sent: int = 0
    started_at: float = 0.0
    finished_at: float | None = None
    skipped: int = 0
    """Events not sent at all: the picked guild has no text channel or no members."""
    messages_undelivered: int = 0
    """Messages sent that no session received (none covered the guild)."""
    interactions_undelivered: int = 0
    """Interactions sent that no session received: ``undelivered`` in the statistics.

    ``interactions_sent`` counts every interaction the run injected, delivered or not,
    as the statistics' ``injected`` does.
    """


class LoadGenerator:
    """Emits the events of one :class:`LoadSpec` until its duration ends or it is stopped."""

    def __init__(self, sim: Simulator, spec: LoadSpec) -> None:
        """Rank the application's guilds (seeded) for Zipf picks."""
        self._sim = sim
        self.spec = spec
        app: Application = (
            sim.world.applications[spec.application_id]
            if spec.application_id is not None
            else next(iter(sim.world.applications.values()))
        )
        self._app = app
        self._rng = random.Random(spec.seed)  # noqa: S311 - load shape, not secrets
        self._guild_ids = sorted(app.guild_ids)
        self._rng.shuffle(self._guild_ids)
        self._picker = (
            ZipfPicker(len(self._guild_ids), spec.zipf_s, self._rng) if (self._guild_ids) else None
        )
        self._commands = itertools.cycle(spec.commands)
        self.status = LoadStatus()

    async def run(self) -> LoadStatus:
        """Generate until the duration ends; returns the final status."""
        spec = self.spec
        loop = asyncio.get_running_loop()
        start = loop.time()
        self.status.started_at = time.monotonic()
        messages_due = interactions_due = 0.0
        last = start
        try:
            while (now := loop.time()) - start < spec.duration_s:
                elapsed = min(now - last, _TICK_S * _MAX_CATCH_UP_TICKS)
                last = now
                messages_due += spec.messages_per_s * elapsed
                interactions_due += spec.interactions_per_s * elapsed
                while messages_due >= 1:
                    messages_due -= 1
                    self._send_message()
                while interactions_due >= 1:
                    interactions_due -= 1
                    self._send_interaction()
                await asyncio.sleep(_TICK_S)
        finally:
            self.status.finished_at = time.monotonic()
        return self.status

    def _pick_guild(self) -> Guild | None:
        if self._picker is None:
            return None
        return self._sim.world.guild(self._guild_ids[self._picker.pick()])

    def _pick_place(self) -> tuple[Guild, int, int] | None:
        guild = self._pick_guild()
        settings = self._sim.settings
        if guild is None or settings.channels_per_guild < 2 or guild.generated_members < 1:  # noqa: PLR2004
            self.status.skipped += 1
            return None
        channel_id = generated_channel_id(guild, 1)
        user_id = generated_member_id(guild, self._rng.randrange(guild.generated_members))
        return guild, channel_id, user_id

    def _send_message(self) -> None:
        place = self._pick_place()
        if place is None:
            return
        guild, channel_id, user_id = place
        _, reached = events.emit_user_message(
            self._sim,
            channel_id=channel_id,
            author_id=user_id,
            guild_id=guild.id,
            content=f"load message {self.status.messages_sent}",
        )
        self.status.messages_sent += 1
        if not reached:
            self.status.messages_undelivered += 1

    def _send_interaction(self) -> None:
        place = self._pick_place()
        if place is None:
            return
        guild, channel_id, user_id = place
        name = next(self._commands)
        data: dict[str, Any] = {
            "id": str(self._command_id(name)),
            "name": name,
            "type": 1,
            "options": [],
        }
        _, reached = events.emit_interaction(
            self._sim,
            guild_id=guild.id,
            channel_id=channel_id,
            user_id=user_id,
            interaction_type=2,
            data=data,
        )
        self.status.interactions_sent += 1
        if not reached:
            self.status.interactions_undelivered += 1

    def _command_id(self, name: str) -> int:
        for command_id, command in self._app.commands.items():
            if command.get("name") == name:
                return command_id
        return self._app.id + 1

    def as_json(self) -> dict[str, Any]:
        """Return the status as the control API reports it."""
        status = self.status
        end = status.finished_at or time.monotonic()
        elapsed = max(end - status.started_at, 1e-9) if status.started_at else 0.0
        return {
            "spec": dataclasses.asdict(self.spec),
            "running": status.started_at > 0 and status.finished_at is None,
            "messages_sent": status.messages_sent,
            "interactions_sent": status.interactions_sent,
            "skipped": status.skipped,
            "messages_undelivered": status.messages_undelivered,
            "interactions_undelivered": status.interactions_undelivered,
            "elapsed_s": round(elapsed, 3),
            "messages_per_s": round(status.messages_sent / elapsed, 1) if elapsed else 0.0,
            "interactions_per_s": round(status.interactions_sent / elapsed, 1) if elapsed else 0.0,
        }
