"""Reading the Prometheus text a worker serves on ``/metrics``: samples and histograms.

Owns the pure parsing the benchmarks need (no HTTP): the sum of a metric's samples that
carry some labels, a histogram's cumulative buckets, and a quantile estimated from them
the way PromQL's ``histogram_quantile`` does (linear within the bucket). Does not own
fetching the text (:class:`shoal_sim.benchmarks.processes.WorkerProcess`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

__all__ = ["bucket_quantile", "histogram_buckets", "sample_sum"]


def _samples(text: str, name: str, labels: Mapping[str, str]) -> Iterator[tuple[str, float]]:
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        if sample.split("{", 1)[0] == name and all(w in sample for w in wanted):
            yield sample, float(value)


def sample_sum(text: str, name: str, **labels: str) -> float | None:
    """Return the sum of ``name``'s samples carrying ``labels``; None when there is none."""
    values = [value for _, value in _samples(text, name, labels)]
    return sum(values) if values else None


def histogram_buckets(text: str, name: str, **labels: str) -> list[tuple[float, float]]:
    """Return ``name``'s cumulative buckets as ``(upper bound, count)``, lowest bound first."""
    buckets: list[tuple[float, float]] = []
    for sample, value in _samples(text, f"{name}_bucket", labels):
        bound = sample.split('le="', 1)[1].split('"', 1)[0]
        buckets.append((math.inf if bound == "+Inf" else float(bound), value))
    return sorted(buckets)


def bucket_quantile(buckets: Sequence[tuple[float, float]], quantile: float) -> float | None:
    """Return the ``quantile`` (0 to 1) of cumulative ``buckets``, or None when empty.

    Linear within the bucket holding the rank, as ``histogram_quantile`` does; a rank in
    the ``+Inf`` bucket answers the highest finite bound.
    """
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = quantile * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound
