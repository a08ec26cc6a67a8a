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
    "active_generation_of",
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


def is_generation_active(generation: int, active: int | None) -> bool:
    """Return whether workers of ``generation`` process events (``active`` None: unknown).

    An unknown view (the key could not be read yet) processes nothing: a passive worker
    that catches up a second later is better than a second generation doubling side effects.

    The same rule decides who answers an interaction nobody could claim because Redis
    was unreachable: workers of the last active generation they read, so each interaction
    still gets one answer. Outside a reshard that is every worker; during one, the switch
    itself needs Redis, so no switch happens in an outage and every worker keeps its view.
    The one gap: a switch less than one refresh (a second) before the outage, seen by some
    workers and not yet by others, can leave both generations or neither answering.
    """
    return active is not None and generation == active
