"""Control route that explains the interaction counts: each interaction with its outcome.

Owns ``GET /_sim/interactions?outcome=...&limit=...``: the interactions of the current
statistics epoch (those ``GET /_sim/stats`` counts), oldest first, with where they went
and when. Which outcome each one is in is decided by :class:`shoal_sim.discord.stats.SimStats`;
injecting and reading one interaction back is :mod:`.interactions`'.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Final

from shoal_sim.discord import events
from shoal_sim.discord.control import inputs
from shoal_sim.discord.entities import InteractionOutcome

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiohttp import web

    from shoal_sim.discord.entities import Interaction
    from shoal_sim.discord.server import Simulator

__all__ = ["OutcomeHandlers"]

#: ``late`` is not an outcome but a subset of ``unanswered`` (a response came too late).
_LATE: Final = "late"
_FILTERS: Final = frozenset({*(o.value for o in InteractionOutcome), _LATE})
_DEFAULT_LIMIT: Final = 1000
#: A cap on one answer, so that a listing stays a fast read of a long load test.
_MAX_LIMIT: Final = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class OutcomeHandlers:
    """The interaction listing bound to one simulator."""

    sim: Simulator

    async def list_interactions(self, request: web.Request) -> web.Response:
        """Answer the counted interactions of one outcome (every one without ``outcome``)."""
        query = dict(request.query)
        wanted = query.get("outcome")
        if wanted is not None and wanted not in _FILTERS:
            return inputs.error_response(f"outcome must be one of {sorted(_FILTERS)}")
        limit = inputs.int_field(query, "limit", _DEFAULT_LIMIT)
        if not 1 <= limit <= _MAX_LIMIT:
            return inputs.error_response(f"limit must be between 1 and {_MAX_LIMIT}")
        sim = self.sim
        sim.stats.expire_due(now=time.monotonic(), deadline_s=sim.settings.interaction_deadline_s)
        matches = _matcher(wanted)
        listed: list[inputs.JSON] = []
        total = 0
        shard_counts: dict[int, list[int]] = {}
        for interaction in sim.world.interactions.values():
            if not sim.stats.is_counted(interaction) or not matches(interaction):
                continue
            total += 1
            if len(listed) < limit:
                counts = shard_counts.get(interaction.application_id)
                if counts is None:
                    counts = self._shard_counts(interaction.application_id)
                    shard_counts[interaction.application_id] = counts
                listed.append(_listed_json(interaction, counts))
        return inputs.json_response({"outcome": wanted, "total": total, "interactions": listed})

    def _shard_counts(self, app_id: int) -> list[int]:
        """Return the shard counts of the application's live sessions, ascending."""
        return sorted({s.shard_count for s in self.sim.gateway.sessions.of_app(app_id)})


def _matcher(wanted: str | None) -> Callable[[Interaction], bool]:
    if wanted is None:
        return lambda _: True
    if wanted == _LATE:
        return lambda i: i.is_late and i.outcome is InteractionOutcome.UNANSWERED
    outcome = InteractionOutcome(wanted)
    return lambda i: i.outcome is outcome


def _listed_json(interaction: Interaction, shard_counts: list[int]) -> inputs.JSON:
    """Return one interaction as listed: what it was, where it went, when, its outcome."""
    guild_id = interaction.guild_id
    started_at = interaction.dispatched_at
    responded_at = interaction.responded_at
    latency_ms = None
    if responded_at is not None:
        start = interaction.created_at if started_at is None else started_at
        latency_ms = round((responded_at - start) * 1000, 3)
    data = interaction.data
    return {
        "id": str(interaction.id),
        "guild_id": None if guild_id is None else str(guild_id),
        "channel_id": str(interaction.channel_id),
        "user_id": str(interaction.user_id),
        "type": interaction.type,
        "name": data.get("name"),
        "custom_id": data.get("custom_id"),
        "shards": [
            f"{0 if guild_id is None else events.shard_of(guild_id, count)}/{count}"
            for count in shard_counts
        ],
        "sessions_reached": interaction.sessions_reached,
        "created_at_unix": interaction.created_at_unix,
        "dispatched_at_unix": None if started_at is None else interaction.unix_time_of(started_at),
        "responded_at_unix": (
            None if responded_at is None else interaction.unix_time_of(responded_at)
        ),
        "latency_ms": latency_ms,
        "outcome": interaction.outcome.value,
        "is_late": interaction.is_late,
        "acknowledge_attempts": interaction.acknowledge_attempts,
    }
