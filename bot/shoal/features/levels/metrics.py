"""The levels feature's metrics: what a Grafana panel or ``shoal local up`` shows of it.

Owns the ``shoal_levels_*`` series, registered once per process on the kit's registry:
XP grants, level-ups, rows flushed to PostgreSQL, flushes that failed, and the hot path's
queue (waiting and dropped messages). Counted by :mod:`shoal.features.levels.service`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from prometheus_client import Counter, Gauge

if TYPE_CHECKING:
    from collections.abc import Callable

    from prometheus_client import CollectorRegistry

__all__ = ["LevelsMetrics"]


class LevelsMetrics:
    """The ``shoal_levels_*`` series of one process."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Register the series on ``registry``."""
        self.grants: Final = Counter(
            "shoal_levels_grants",
            "Messages that earned XP (one per member per cooldown, fleet-wide).",
            registry=registry,
        )
        self.level_ups: Final = Counter(
            "shoal_levels_level_ups",
            "Grants that crossed one or more levels (each announced once).",
            registry=registry,
        )
        self.flushed_rows: Final = Counter(
            "shoal_levels_flushed_rows",
            "Member XP rows written to PostgreSQL by the write-behind flush.",
            registry=registry,
        )
        self.flush_failures: Final = Counter(
            "shoal_levels_flush_failures",
            "Flushes that could not reach Redis or PostgreSQL (the XP waits in Redis).",
            registry=registry,
        )
        self._queued: Final = Gauge(
            "shoal_levels_queued_messages",
            "Messages offered to the hot path and not yet granted.",
            registry=registry,
        )
        self._dropped: Final = Gauge(
            "shoal_levels_dropped_messages",
            "Messages dropped because the hot path's queue was full (Redis down for long).",
            registry=registry,
        )

    def watch_queue(self, queued: Callable[[], float], dropped: Callable[[], float]) -> None:
        """Read the hot path's queue length and drops at each scrape."""
        self._queued.set_function(queued)
        self._dropped.set_function(dropped)
