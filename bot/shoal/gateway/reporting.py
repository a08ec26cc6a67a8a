"""Feeding the shards' cumulative counts into the Prometheus metrics.

Shards count what they see (dispatches by type, identifies, resumes, closes) cheaply as
plain integers on the hot path; once a second :class:`MetricsReporter` turns the growth
since its last look into counter increments and sets the per-shard gauges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shoal.gateway.shard import ShardSnapshot
    from shoal.observability.metrics import Metrics

__all__ = ["MetricsReporter"]


class MetricsReporter:
    """Remembers the last snapshot per shard and reports only the growth since then."""

    def __init__(self, metrics: Metrics) -> None:
        """Report into ``metrics``."""
        self._metrics = metrics
        self._last: dict[int, ShardSnapshot] = {}

    def report(self, snapshots: Iterable[ShardSnapshot]) -> None:
        """Record the growth of every counter since the previous call, and the gauges."""
        metrics = self._metrics
        for snapshot in snapshots:
            shard = str(snapshot.shard_id)
            before = self._last.get(snapshot.shard_id)
            metrics.record_shard(
                snapshot.shard_id,
                status=snapshot.status,
                latency_s=snapshot.latency_s,
                guilds=snapshot.guild_count,
            )
            _grow(
                metrics.identifies.labels(shard),
                snapshot.identifies,
                0 if before is None else before.identifies,
            )
            _grow(
                metrics.resumes.labels(shard),
                snapshot.resumes,
                0 if before is None else before.resumes,
            )
            for code, count in snapshot.closes.items():
                was = 0 if before is None else before.closes.get(code, 0)
                _grow(metrics.closes.labels(shard, str(code)), count, was)
            for event, count in snapshot.dispatches.items():
                was = 0 if before is None else before.dispatches.get(event, 0)
                _grow(metrics.gateway_events.labels(event), count, was)
            self._last[snapshot.shard_id] = snapshot


def _grow(counter: _Incrementable, now: int, before: int) -> None:
    # A shard restarted in-process starts its counts again: count from zero then.
    growth = now - before if now >= before else now
    if growth:
        counter.inc(growth)


class _Incrementable(Protocol):
    def inc(self, amount: float = 1) -> None: ...
