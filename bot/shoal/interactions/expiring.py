"""Dropping interactions that arrive after Discord's window, before hikari parses them.

:class:`ExpiredInteractionFilter` is the gateway's raw-event filter (``ShardWorkerBot``'s
``raw_event_filter``): hikari hands it every dispatch's name and raw payload before
building any entity. An INTERACTION_CREATE whose first-response window has passed
(:func:`shoal.interactions.deadlines.is_expired`) is dropped there: no handler runs, no
reply is tried (it could only fail with 10062), ``shoal_interactions_expired_total``
counts it, and the log says so at most once per 10 s, however large the backlog: a second
after the first drop one WARNING gives the count (a stall's whole backlog arrives within
it), then at most one line per 10 s while drops go on.

Does not own the deadline rule (:mod:`shoal.interactions.deadlines`).
"""

from __future__ import annotations

import asyncio
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
_GATHER_S: Final = 1.0  # a stalled worker's backlog arrives within this after it resumes


class ExpiredInteractionFilter:
    """Keeps every dispatch but an interaction past its first-response window."""

    __slots__ = (
        "_clock",
        "_deadline_s",
        "_last",
        "_last_logged_s",
        "_metrics",
        "_pending",
        "_schedule",
        "_unlogged",
    )

    def __init__(
        self,
        metrics: Metrics | None,
        *,
        clock: Callable[[], float] = time.time,
        deadline_s: float = RESPONSE_DEADLINE_S,
        schedule: Callable[[float, Callable[[], None]], object] | None = None,
    ) -> None:
        """Count drops in ``metrics``; ``clock`` is Unix seconds (tests pass their own).

        ``schedule(delay_s, write)`` runs ``write`` later (default: the running loop's
        ``call_later``); the summary line is written then.
        """
        self._metrics = metrics
        self._clock = clock
        self._deadline_s = deadline_s
        self._schedule = schedule
        self._last_logged_s: float | None = None
        self._unlogged = 0
        self._pending = False
        self._last: tuple[int, float, str, int | None] | None = None

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
        raw_type = payload.get("type")
        kind = kind_of(raw_type) if isinstance(raw_type, int) else "other"
        if self._metrics is not None:
            self._metrics.interactions_expired.labels(kind).inc()
        self._unlogged += 1
        self._last = (interaction_id, age_s(interaction_id, now_s), kind, _guild_of(payload))
        if not self._pending:
            self._pending = True
            last_s = self._last_logged_s
            wait_s = _GATHER_S if last_s is None else max(_GATHER_S, last_s + _LOG_EVERY_S - now_s)
            schedule = self._schedule or asyncio.get_running_loop().call_later
            schedule(wait_s, self._write)
        return False

    def _write(self) -> None:
        """Write the line for the drops since the last one."""
        self._pending = False
        if not self._unlogged or self._last is None:
            return
        count, self._unlogged = self._unlogged, 0
        self._last_logged_s = self._clock()
        interaction_id, age, kind, guild_id = self._last
        logger.warning(
            "dropped %d interaction%s that arrived after Discord's %g s window (the last "
            "one a %s, %.1f s old): the worker was stalled or a RESUME replayed them",
            count,
            "" if count == 1 else "s",
            self._deadline_s,
            kind,
            age,
            extra={"interaction_id": interaction_id, "guild_id": guild_id},
        )


def _guild_of(payload: dict[str, Any]) -> int | None:
    raw = payload.get("guild_id")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None
