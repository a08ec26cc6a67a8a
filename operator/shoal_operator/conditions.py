"""Status conditions the Kubernetes way: pure functions over the ``conditions`` list.

Each condition is ``{type, status, reason, message, lastTransitionTime,
observedGeneration}``; ``lastTransitionTime`` changes only when ``status`` flips, so
``kubectl describe`` tells how long a bot has been Ready or Degraded. Owns the shape, and
which conditions and phase a reconcile pass's outcome means; does not own the pass
(``reconciling``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from shoal.planning.resharding import ReshardPhase, ReshardState

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["Condition", "bot_conditions", "bot_phase", "iso_time", "merge_conditions"]


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


def bot_phase(*, is_degraded: bool, state: ReshardState, ready: int) -> str:
    """Return ``status.phase``: Degraded, Resharding, Running or Pending."""
    if is_degraded:
        return "Degraded"
    if state.phase is not ReshardPhase.STEADY:
        return "Resharding"
    if state.active_shards and ready >= state.active_shards:
        return "Running"
    return "Pending"


def bot_conditions(
    degraded: tuple[str, str] | None, state: ReshardState, *, ready: int, target_ready: int
) -> list[Condition]:
    """Return the Ready, Progressing and Degraded conditions of a pass.

    Args:
        degraded: The Degraded reason and message, or None when nothing needs attention.
        state: The reshard state after the pass.
        ready: Shards of the active generation READY.
        target_ready: Shards of the target generation READY (while resharding).
    """
    all_ready = bool(state.active_shards) and ready >= state.active_shards
    ready_condition = Condition(
        "Ready",
        all_ready,
        "AllShardsReady" if all_ready else "ShardsNotReady",
        f"{ready} of {state.active_shards} shards of generation {state.active_generation} READY",
    )
    if state.phase is not ReshardPhase.STEADY:
        progressing = Condition(
            "Progressing",
            True,  # noqa: FBT003 - the condition's status
            "Resharding",
            f"{state.phase.value}: generation {state.target_generation} has "
            f"{target_ready} of {state.target_shards} shards READY",
        )
    elif not all_ready:
        progressing = Condition("Progressing", True, "Deploying", ready_condition.message)  # noqa: FBT003
    else:
        progressing = Condition("Progressing", False, "Stable", "no change in progress")  # noqa: FBT003
    if degraded is not None:
        degraded_condition = Condition("Degraded", True, *degraded)  # noqa: FBT003
    else:
        degraded_condition = Condition("Degraded", False, "AsExpected", "nothing needs attention")  # noqa: FBT003
    return [ready_condition, progressing, degraded_condition]
