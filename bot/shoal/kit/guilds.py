"""The facts of a GUILD_CREATE or GUILD_UPDATE that features need, read from the raw payload.

A shard's connect brings one GUILD_CREATE per guild: thousands within a second. Parsing
each into hikari entities, and asking each guild's settings whether a module is on, held
a worker's event loop for seconds (a chaos run saw heartbeats missed and commands past
their 3 s window). Features that only need a guild's id, name and feature flags get them
from :func:`guild_facts` on the raw dispatch instead (``Module.guild_taps``), and hikari
builds no entity when nobody listens for the event. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

__all__ = ["GUILD_EVENTS", "GuildSeen", "guild_facts"]

GUILD_EVENTS: Final = frozenset({"GUILD_CREATE", "GUILD_UPDATE"})
"""The dispatches that describe a whole guild."""


@dataclasses.dataclass(frozen=True, slots=True)
class GuildSeen:
    """A guild as a GUILD_CREATE or GUILD_UPDATE describes it."""

    guild_id: int
    name: str
    features: frozenset[str]
    """Discord's guild feature flags (``MEMBER_VERIFICATION_GATE_ENABLED``, ...)."""


def guild_facts(payload: dict[str, Any]) -> GuildSeen | None:
    """Return the guild a payload describes; None when unavailable (an outage) or malformed."""
    if payload.get("unavailable"):
        return None
    try:
        features = payload.get("features") or ()
        return GuildSeen(
            guild_id=int(payload["id"]),
            name=str(payload["name"]),
            features=frozenset(str(feature) for feature in features),
        )
    except (KeyError, TypeError, ValueError):
        return None
