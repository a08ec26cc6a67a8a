"""Counters the control API reports: sessions, identifies, dispatches, REST, interactions.

Also owns interaction accounting: which :class:`~shoal_sim.discord.entities.InteractionOutcome`
each injected interaction is in, so that ``injected == answered + unanswered +
undelivered + pending`` holds at every read. The decisions take ``now`` as an argument;
the event emitter, the callback handler and the control API call them. Does not own the
deadline's verdict on a response (:mod:`shoal_sim.discord.rest.interaction_rules`).
"""

from __future__ import annotations

import collections
import dataclasses
import math
import time
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord.entities import InteractionOutcome

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Interaction

__all__ = ["SimStats", "percentile"]

_PENDING: Final = InteractionOutcome.PENDING
_ANSWERED: Final = InteractionOutcome.ANSWERED
_UNANSWERED: Final = InteractionOutcome.UNANSWERED
_UNDELIVERED: Final = InteractionOutcome.UNDELIVERED


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
    """Interactions created since the reset; each is in exactly one of the next four."""
    interactions_answered: int = 0
    """Interactions whose initial response was accepted."""
    interactions_unanswered: int = 0
    """Interactions dispatched whose deadline passed with no accepted initial response."""
    interactions_undelivered: int = 0
    """Interactions no session received: none covered the guild (shard 0 for a DM)."""
    interactions_pending: int = 0
    """Interactions dispatched, not answered, their deadline not yet passed."""
    interactions_late: int = 0
    """Unanswered interactions that got a (refused) response after the deadline."""
    interactions_double_acknowledged: int = 0
    """Initial responses refused because one was already accepted."""
    epoch: int = 0
    """Bumped by :meth:`reset`: interactions of an older epoch are in no count after it."""
    counting_since: float = dataclasses.field(default_factory=time.monotonic)
    """Monotonic time of the last reset."""
    interaction_latencies_ms: list[float] = dataclasses.field(default_factory=list)
    awaiting: collections.deque[Interaction] = dataclasses.field(default_factory=collections.deque)
    """Dispatched interactions in dispatch order (so in deadline order) whose deadline is
    not yet settled; those answered in time leave it when their deadline passes."""
    messages_injected: int = 0
    rest_requests: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    """REST requests by ``METHOD route-template``."""
    rest_statuses: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    """REST responses by ``METHOD route-template status``."""
    rest_429s: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    """429 responses by ``METHOD route-template``, with the scope appended."""
    invalid_requests: int = 0
    """401, 403 and 429 (other than scope ``shared``) responses: Cloudflare counts these."""
    rest_error_codes: collections.Counter[int] = dataclasses.field(
        default_factory=collections.Counter
    )
    """Discord JSON error codes in REST error bodies, by code (50013 Missing Permissions...)."""

    def reset(self) -> None:
        """Zero every counter and start a new epoch.

        Interactions still awaiting their deadline stay awaited, so that their outcome
        is still settled, but they are counted nowhere.
        """
        epoch, awaiting = self.epoch + 1, self.awaiting
        fresh = SimStats()
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(fresh, field.name))
        self.epoch, self.awaiting = epoch, awaiting

    # -- interaction accounting ---------------------------------------------------------

    def count_injected(self, interaction: Interaction, *, is_delivered: bool) -> None:
        """Count a new interaction: pending if some session received it, else undelivered.

        A delivered one must have ``dispatched_at`` set (its deadline counts from it).
        """
        interaction.counted_in = self.epoch
        self.interactions_injected += 1
        if not is_delivered:
            interaction.outcome = _UNDELIVERED
            self.interactions_undelivered += 1
            return
        interaction.outcome = _PENDING
        self.interactions_pending += 1
        self.awaiting.append(interaction)

    def count_answered(self, interaction: Interaction, *, latency_ms: float) -> None:
        """Count an accepted initial response (a pending interaction becomes answered)."""
        if self._settle(interaction, _ANSWERED):
            self.interactions_answered += 1
            self.interaction_latencies_ms.append(latency_ms)

    def count_late(self, interaction: Interaction) -> None:
        """Count a response refused as late: the interaction is unanswered (late once)."""
        if self._settle(interaction, _UNANSWERED):
            self.interactions_unanswered += 1
        if (
            self.is_counted(interaction)
            and interaction.outcome is _UNANSWERED
            and not interaction.is_late
        ):
            self.interactions_late += 1
        interaction.is_late = True

    def count_double_acknowledged(self, interaction: Interaction) -> None:
        """Count a second initial response (refused)."""
        if self.is_counted(interaction):
            self.interactions_double_acknowledged += 1

    def expire_due(self, *, now: float, deadline_s: float) -> None:
        """Settle as unanswered every awaited interaction whose deadline passed by ``now``.

        "Passed" is the callback verdict's own test (``now - dispatched_at > deadline_s``),
        so no response can be accepted for an interaction counted unanswered.
        """
        awaiting = self.awaiting
        while awaiting:
            head = awaiting[0]
            started_at = head.created_at if head.dispatched_at is None else head.dispatched_at
            if now - started_at <= deadline_s:
                return
            awaiting.popleft()
            if self._settle(head, _UNANSWERED):
                self.interactions_unanswered += 1

    def is_counted(self, interaction: Interaction) -> bool:
        """Return whether the interaction belongs to the current epoch's counts."""
        return interaction.counted_in == self.epoch

    def _settle(self, interaction: Interaction, outcome: InteractionOutcome) -> bool:
        """Move a pending interaction to ``outcome``; return whether that moved a count."""
        if interaction.outcome is not _PENDING:
            return False
        interaction.outcome = outcome
        if not self.is_counted(interaction):
            return False
        self.interactions_pending -= 1
        return True

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
                "unanswered": self.interactions_unanswered,
                "undelivered": self.interactions_undelivered,
                "pending": self.interactions_pending,
                "late": self.interactions_late,
                "double_acknowledged": self.interactions_double_acknowledged,
                "latency_ms": self.latency_summary(),
            },
            "messages_injected": self.messages_injected,
            "errors": {str(k): v for k, v in sorted(self.rest_error_codes.items())},
            "rest": {
                "requests": dict(self.rest_requests),
                "statuses": dict(self.rest_statuses),
                "rate_limited": dict(self.rest_429s),
                "invalid_requests": self.invalid_requests,
            },
        }
