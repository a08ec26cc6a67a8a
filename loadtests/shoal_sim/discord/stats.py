"""Counters the control API reports: sessions, identifies, dispatches, REST, interactions."""

from __future__ import annotations

import collections
import dataclasses
import math
import time
from typing import Any

__all__ = ["SimStats", "percentile"]


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Return the nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclasses.dataclass(slots=True)
class SimStats:
    """Everything the simulator counts. Reset with :meth:`reset`."""

    identifies: int = 0
    identifies_by_shard: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter
    )
    resumes: int = 0
    resumes_by_shard: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter
    )
    invalid_sessions: int = 0
    invalid_sessions_by_reason: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter
    )
    close_codes: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    """Close codes the simulator sent, by code."""
    client_close_codes: collections.Counter[int] = dataclasses.field(
        default_factory=collections.Counter
    )
    """Close codes clients sent, by code."""
    connections: int = 0
    zombies: int = 0
    """Connections closed for not heartbeating."""
    session_start_exhaustions: int = 0
    """IDENTIFYs refused because no session start was left (the token was reset)."""
    dispatches: int = 0
    dispatches_by_type: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter
    )
    gateway_commands_by_op: collections.Counter[int] = dataclasses.field(
        default_factory=collections.Counter
    )
    interactions_injected: int = 0
    interactions_answered: int = 0
    interactions_late: int = 0
    interactions_double_acknowledged: int = 0
    interactions_unanswered: int = 0
    """Interactions dispatched whose deadline passed with no initial response."""
    counting_since: float = dataclasses.field(default_factory=time.monotonic)
    """Monotonic time of the last reset: deadlines of older interactions are not counted."""
    interaction_latencies_ms: list[float] = dataclasses.field(default_factory=list)
    messages_injected: int = 0
    rest_requests: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    """REST requests by ``METHOD route-template``."""
    rest_statuses: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    """REST responses by ``METHOD route-template status``."""
    rest_429s: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    """429 responses by ``METHOD route-template``, with the scope appended."""
    invalid_requests: int = 0
    """401, 403 and 429 (other than scope ``shared``) responses: Cloudflare counts these."""

    def reset(self) -> None:
        """Zero every counter."""
        fresh = SimStats()
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(fresh, field.name))

    def latency_summary(self) -> dict[str, float | None]:
        """Return interaction response latency percentiles in milliseconds."""
        ordered = sorted(self.interaction_latencies_ms)
        return {
            "count": float(len(ordered)),
            "p50": percentile(ordered, 0.50),
            "p90": percentile(ordered, 0.90),
            "p99": percentile(ordered, 0.99),
            "max": ordered[-1] if ordered else None,
        }

    def as_json(self, *, sessions_by_shard: dict[str, int]) -> dict[str, Any]:
        """Return a JSON-ready snapshot (sessions come from live gateway state)."""
        return {
            "sessions_by_shard": sessions_by_shard,
            "connections": self.connections,
            "zombies": self.zombies,
            "session_start_exhaustions": self.session_start_exhaustions,
            "identifies": self.identifies,
            "identifies_by_shard": dict(self.identifies_by_shard),
            "resumes": self.resumes,
            "resumes_by_shard": dict(self.resumes_by_shard),
            "invalid_sessions": self.invalid_sessions,
            "invalid_sessions_by_reason": dict(self.invalid_sessions_by_reason),
            "close_codes": {str(k): v for k, v in self.close_codes.items()},
            "client_close_codes": {str(k): v for k, v in self.client_close_codes.items()},
            "dispatches": self.dispatches,
            "dispatches_by_type": dict(self.dispatches_by_type),
            "gateway_commands_by_op": {str(k): v for k, v in self.gateway_commands_by_op.items()},
            "interactions": {
                "injected": self.interactions_injected,
                "answered": self.interactions_answered,
                "late": self.interactions_late,
                "double_acknowledged": self.interactions_double_acknowledged,
                "unanswered": self.interactions_unanswered,
                "latency_ms": self.latency_summary(),
            },
            "messages_injected": self.messages_injected,
            "rest": {
                "requests": dict(self.rest_requests),
                "statuses": dict(self.rest_statuses),
                "rate_limited": dict(self.rest_429s),
                "invalid_requests": self.invalid_requests,
            },
        }
