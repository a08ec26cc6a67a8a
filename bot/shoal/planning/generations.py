"""Which generation of shards is active: the rule that reads the operator's Redis key.

During a reshard generation N (K shards) and N + 1 (K' shards) run side by side and both
receive every event. Only the active generation's workers run the features' event
listeners. The operator names it in a Redis key; this module owns what the key's value
means, not how it is read (``shoal.interactions.generations``).

The rule, kept explicit so nobody has to guess:

- the key holds a non-negative integer: that generation is active, no other;
- the key is absent: generation 0 is active (:data:`DEFAULT_ACTIVE_GENERATION`). A bot
  that never resharded runs generation 0 and needs no key; the operator sets the key
  *before* it starts any generation other than 0 and never deletes it afterwards;
- the key holds anything else: :class:`ValueError` (the watcher keeps its last view).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFAULT_ACTIVE_GENERATION",
    "HANDOVER_REFRESHES",
    "active_generation_of",
    "answers_unclaimed",
    "is_generation_active",
]

DEFAULT_ACTIVE_GENERATION: Final = 0
"""Active when the key was never set: the generation a fresh bot runs (``SHOAL_GENERATION``
defaults to 0), so a new generation stays passive until the operator says otherwise."""


def active_generation_of(raw: str | bytes | None) -> int:
    """Return the active generation from the key's raw value (None: the key is absent).

    Raises:
        ValueError: when the value is not a non-negative integer.
    """
    if raw is None:
        return DEFAULT_ACTIVE_GENERATION
    text = raw.decode("ascii", errors="replace") if isinstance(raw, bytes) else raw
    text = text.strip()
    if not (text.isascii() and text.isdigit()):  # rejects "", "-1", "1.0", non-ASCII digits
        msg = f"the active generation must be a non-negative integer, got {text!r}"
        raise ValueError(msg)
    return int(text)


HANDOVER_REFRESHES: Final = 2
"""Refreshes a newly active generation waits before it answers interactions unclaimed."""


def is_generation_active(generation: int, active: int | None) -> bool:
    """Return whether workers of ``generation`` process events (``active`` None: unknown).

    An unknown view (the key could not be read yet) processes nothing: a passive worker
    that catches up a second later is better than a second generation doubling side effects.

    Who answers an interaction nobody could claim (Redis unreachable) is
    :func:`answers_unclaimed`'s, which starts from this rule.
    """
    return active is not None and generation == active


def answers_unclaimed(
    generation: int, active: int | None, *, active_for_s: float | None, refresh_s: float
) -> bool:
    """Return whether a worker answers an interaction it could not claim (Redis is down).

    Workers of the last active generation they read answer, no other, so each interaction
    still gets one answer: outside a reshard that is every worker, and during one the
    switch itself needs Redis, so none happens in an outage and every worker keeps its
    view. Except right after a switch: a worker of the old generation reads the key once a
    refresh, so for up to ``refresh_s`` it may still see itself active. A worker of the new
    generation therefore answers unclaimed interactions only once its reads had shown it
    active for :data:`HANDOVER_REFRESHES` refreshes before Redis went away (by then every
    old worker read the switch); in an outage that starts inside that handover, the old
    generation answers if it had not seen the switch, and nobody does if it had: an
    interaction left unanswered, never one answered twice.

    Args:
        generation: This worker's generation.
        active: The active generation as last read (None: never read).
        active_for_s: How long, up to its last successful read, this worker had seen its
            generation active after seeing another one active first (None: it saw its own
            generation active from its first read, or it is not active).
        refresh_s: How often every worker reads the key.
    """
    if not is_generation_active(generation, active):
        return False
    return active_for_s is None or active_for_s >= HANDOVER_REFRESHES * refresh_s
