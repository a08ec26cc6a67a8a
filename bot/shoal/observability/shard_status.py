"""Shard states as the health server and the metrics see them, and the readiness rule.

Owns the vocabulary (:class:`ShardStatus`), the narrow seam the gateway implements
(:class:`ShardStatusSource`) and the pure decision "is this worker ready?"
(:func:`readiness_of`). Does not own how a shard's state is tracked (the gateway does).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Readiness", "ShardStatus", "ShardStatusSource", "readiness_of"]


class ShardStatus(enum.StrEnum):
    """Where a local shard is in its life."""

    CONNECTING = "connecting"
    """Opening the websocket, waiting for the identify gate, or identifying."""
    RESUMING = "resuming"
    """Reconnected and replaying missed events."""
    READY = "ready"
    """READY (or RESUMED) received: dispatching events."""
    DISCONNECTED = "disconnected"
    """Connection lost; hikari reconnects by itself."""
    STOPPED = "stopped"
    """Closed for good (shutdown or a fatal close code)."""


class ShardStatusSource(Protocol):
    """Anything that knows the states of this worker's shards (the gateway implements it)."""

    def shard_states(self) -> Mapping[int, ShardStatus]:
        """Return the state of every local shard, by shard id."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Readiness:
    """Whether the worker may receive traffic, and which shards hold it back."""

    is_ready: bool
    """True when there is at least one local shard and every one is READY."""
    not_ready: Mapping[int, ShardStatus]
    """The shards that are not READY, by shard id."""


def readiness_of(states: Mapping[int, ShardStatus]) -> Readiness:
    """Decide readiness from the local shard states (none at all is not ready)."""
    not_ready = {
        shard_id: state
        for shard_id, state in sorted(states.items())
        if state is not ShardStatus.READY
    }
    return Readiness(is_ready=bool(states) and not not_ready, not_ready=not_ready)
