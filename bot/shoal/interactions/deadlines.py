"""Discord's deadlines for an interaction, read from its id: pure.

An interaction's id is a snowflake whose top bits are the millisecond Discord created it.
Discord refuses a first response more than 3 s later (404, code 10062), so an
interaction that reaches a worker after that (a worker stalled, a RESUME replaying what a
dead connection missed) can only fail: :func:`is_expired` says so before any handler runs.
:func:`defer_delay_s` counts the automatic deferral from the same moment, so an
interaction that arrived late is deferred sooner. Times are Unix seconds passed in; the
pod's clock is assumed synchronised (NTP), as Kubernetes nodes are.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DISCORD_EPOCH_MS",
    "RESPONSE_DEADLINE_S",
    "age_s",
    "created_at_s",
    "defer_delay_s",
    "is_expired",
    "kind_of",
]

DISCORD_EPOCH_MS: Final = 1_420_070_400_000
"""Milliseconds from the Unix epoch to Discord's (2015-01-01T00:00:00Z)."""
RESPONSE_DEADLINE_S: Final = 3.0
"""Discord's window for an interaction's first response."""
_TIMESTAMP_SHIFT: Final = 22  # a snowflake's low 22 bits are worker, process and increment
_KINDS: Final = {1: "ping", 2: "command", 3: "component", 4: "autocomplete", 5: "modal"}


def created_at_s(snowflake: int) -> float:
    """Return the Unix time in seconds at which Discord made ``snowflake``."""
    return ((snowflake >> _TIMESTAMP_SHIFT) + DISCORD_EPOCH_MS) / 1000


def age_s(snowflake: int, now_s: float) -> float:
    """Return how old ``snowflake`` is at Unix time ``now_s`` (negative for a fast clock)."""
    return now_s - created_at_s(snowflake)


def is_expired(snowflake: int, now_s: float, *, deadline_s: float = RESPONSE_DEADLINE_S) -> bool:
    """Return whether the first-response window of interaction ``snowflake`` has passed."""
    return age_s(snowflake, now_s) >= deadline_s


def defer_delay_s(snowflake: int, now_s: float, *, defer_after_s: float) -> float:
    """Return how long from ``now_s`` to wait before deferring interaction ``snowflake``.

    ``defer_after_s`` counts from the interaction's creation, not from its arrival: one
    that spent a second in transit is deferred a second sooner (at once if that is past).
    """
    return max(0.0, defer_after_s - max(0.0, age_s(snowflake, now_s)))


def kind_of(interaction_type: int) -> str:
    """Return the metric label of an interaction type (``command``, ``component``, ...)."""
    return _KINDS.get(interaction_type, "other")
