"""Outages of a dependency (Redis, PostgreSQL): when it counts as down, when to say so again.

Pure: the watcher of each dependency (:mod:`shoal.observability.dependencies`) feeds it
each probe's and each request's outcome with the time, and logs what these rules return.
The discipline the rules keep, so that an outage of any length costs a handful of log
lines instead of one per request:

- the first failure while the dependency is up makes it **down** (one notice);
- further failures while it is down say nothing; a **summary** is due every
  ``summary_every_s`` while it lasts;
- the first success while it is down makes it **up** again (one notice).

Does not own how a dependency is probed, what a request does without it, nor the wording.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Final

__all__ = [
    "DEFAULT_SUMMARY_EVERY_S",
    "UP",
    "DependencyState",
    "Transition",
    "after_failure",
    "after_success",
    "is_summary_due",
    "summarised",
]

DEFAULT_SUMMARY_EVERY_S: Final = 30.0
"""An outage is summarised this often while it lasts: often enough to show it is still
going on and how much was served without the dependency, rarely enough to stay quiet."""


class Transition(enum.Enum):
    """What an outcome changed."""

    WENT_DOWN = "went down"
    """The dependency was up and failed: say so once."""
    CAME_BACK = "came back"
    """The dependency was down and answered: say so once."""


@dataclasses.dataclass(frozen=True, slots=True)
class DependencyState:
    """Whether a dependency is up, and since when it has been down."""

    is_up: bool = True
    """True until a failure (a dependency counts as up until shown otherwise)."""
    down_since_s: float | None = None
    """Monotonic time of the failure that started the outage (None while up)."""
    summarised_at_s: float | None = None
    """Monotonic time of the outage's last summary (None before the first)."""


UP: Final = DependencyState()
"""The state a dependency starts in."""


def after_failure(
    state: DependencyState, now_s: float
) -> tuple[DependencyState, Transition | None]:
    """Return the state after a failure at ``now_s``, and the transition it made (if any)."""
    if not state.is_up:
        return state, None
    return DependencyState(is_up=False, down_since_s=now_s), Transition.WENT_DOWN


def after_success(state: DependencyState) -> tuple[DependencyState, Transition | None]:
    """Return the state after a success, and the transition it made (if any)."""
    if state.is_up:
        return state, None
    return UP, Transition.CAME_BACK


def is_summary_due(state: DependencyState, now_s: float, *, every_s: float) -> bool:
    """Return whether an outage in progress should be summarised at ``now_s``."""
    if state.is_up or state.down_since_s is None:
        return False
    last_s = state.down_since_s if state.summarised_at_s is None else state.summarised_at_s
    return now_s - last_s >= every_s


def summarised(state: DependencyState, now_s: float) -> DependencyState:
    """Return the state after a summary was written at ``now_s``."""
    return dataclasses.replace(state, summarised_at_s=now_s)
