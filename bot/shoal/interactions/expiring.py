"""Dropping interactions that arrive after Discord's window, before hikari parses them.

:class:`ExpiredInteractionFilter` is the gateway's raw-event filter (``ShardWorkerBot``'s
``raw_event_filter``): hikari hands it every dispatch's name and raw payload before
building any entity. An INTERACTION_CREATE whose first-response window has passed
(:func:`shoal.interactions.deadlines.is_expired`) is dropped there: no handler runs, no
reply is tried (it could only fail with 10062), ``shoal_interactions_expired_total``
counts it, and the log says so at most once per 10 s, however large the backlog.

Does not own the deadline rule (:mod:`shoal.interactions.deadlines`).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Final

from shoal.interactions.deadlines import RESPONSE_DEADLINE_S, age_s, is_expired, kind_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from shoal.observability.metrics import Metrics

__all__ = ["ExpiredInteractionFilter"]

logger = logging.getLogger(__name__)

_INTERACTION_CREATE: Final = "INTERACTION_CREATE"
_LOG_EVERY_S: Final = 10.0  # a backlog of thousands is one line, then one per 10 s


class ExpiredInteractionFilter:
    """Keeps every dispatch but an interaction past its first-response window."""

    __slots__ = ("_clock", "_deadline_s", "_last_logged_s", "_metrics", "_unlogged")

    def __init__(
        self,
        metrics: Metrics | None,
        *,
        clock: Callable[[], float] = time.time,
        deadline_s: float = RESPONSE_DEADLINE_S,
    ) -> None:
        """Count drops in ``metrics``; ``clock`` is Unix seconds (tests pass their own)."""
        self._metrics = metrics
        self._clock = clock
        self._deadline_s = deadline_s
        self._last_logged_s: float | None = None
        self._unlogged = 0

    def __call__(self, event_name: str, payload: dict[str, Any]) -> bool:
        """Return whether the dispatch goes on to hikari (False: an expired interaction)."""
        if event_name != _INTERACTION_CREATE:
            return True
        try:
            interaction_id = int(payload["id"])
        except (KeyError, TypeError, ValueError):
            return True  # not ours to judge: hikari reports a malformed payload
        now_s = self._clock()
        if not is_expired(interaction_id, now_s, deadline_s=self._deadline_s):
            return True
        kind = kind_of(payload.get("type", 0) if isinstance(payload.get("type"), int) else 0)
        if self._metrics is not None:
            self._metrics.interactions_expired.labels(kind).inc()
        self._note(interaction_id, now_s, kind, payload)
        return False

    def _note(self, interaction_id: int, now_s: float, kind: str, payload: dict[str, Any]) -> None:
        self._unlogged += 1
        last_s = self._last_logged_s
        if last_s is not None and now_s - last_s < _LOG_EVERY_S:
            return
        count, self._unlogged, self._last_logged_s = self._unlogged, 0, now_s
        logger.warning(
            "dropped %d interaction%s that arrived after Discord's %g s window (the last "
            "one %s, %.1f s old): the worker was stalled or a RESUME replayed them",
            count,
            "" if count == 1 else "s",
            self._deadline_s,
            kind,
            age_s(interaction_id, now_s),
            extra={"interaction_id": interaction_id, "guild_id": _guild_of(payload)},
        )


def _guild_of(payload: dict[str, Any]) -> int | None:
    raw = payload.get("guild_id")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None
