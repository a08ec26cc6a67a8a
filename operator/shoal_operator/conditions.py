"""Status conditions the Kubernetes way: pure functions over the ``conditions`` list.

Each condition is ``{type, status, reason, message, lastTransitionTime,
observedGeneration}``; ``lastTransitionTime`` changes only when ``status`` flips, so
``kubectl describe`` tells how long a bot has been Ready or Degraded. Owns the shape;
does not own which conditions hold (``reconciling``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Condition", "iso_time", "merge_conditions"]


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """What one condition says now."""

    type: str
    """``Ready``, ``Progressing`` or ``Degraded``."""
    is_true: bool
    """Whether it holds."""
    reason: str
    """CamelCase cause."""
    message: str
    """A sentence for a person."""


def iso_time(unix_s: float) -> str:
    """Return ``unix_s`` as the RFC 3339 UTC time Kubernetes uses (second precision)."""
    moment = dt.datetime.fromtimestamp(unix_s, tz=dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def merge_conditions(
    existing: Sequence[Mapping[str, Any]],
    current: Sequence[Condition],
    *,
    now: float,
    observed_generation: int,
) -> list[dict[str, Any]]:
    """Return the new ``conditions`` list: ``current`` in order, then untouched old types.

    A condition keeps its ``lastTransitionTime`` unless its status flipped.
    """
    by_type = {str(c.get("type")): c for c in existing if isinstance(c, dict)}
    merged: list[dict[str, Any]] = []
    for condition in current:
        status = "True" if condition.is_true else "False"
        previous = by_type.pop(condition.type, None)
        since = (
            previous.get("lastTransitionTime")
            if previous is not None and previous.get("status") == status
            else None
        )
        merged.append(
            {
                "type": condition.type,
                "status": status,
                "reason": condition.reason,
                "message": condition.message,
                "lastTransitionTime": since or iso_time(now),
                "observedGeneration": observed_generation,
            }
        )
    merged.extend(dict(old) for old in by_type.values())
    return merged
