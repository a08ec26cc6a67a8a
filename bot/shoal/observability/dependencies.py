"""A dependency's health (Redis, PostgreSQL) as every part of a worker sees it, and its log lines.

One :class:`DependencyHealth` per dependency per process. Everything that talks to the
dependency reports to it: its probe (:mod:`shoal.storage.probing`) every second or few,
and each request that failed (:meth:`DependencyHealth.report_failure`) or was served
without it (:meth:`DependencyHealth.count_degraded`). Callers read
:attr:`DependencyHealth.is_up` to skip a dependency that is known to be down instead of
waiting on it, so a request in an outage costs an attribute read, not a timeout.

What is logged follows :mod:`shoal.planning.outages`: one WARNING when the dependency
becomes unreachable (the reason; a traceback only for an error that is not a known
connection failure), a WARNING summary every 30 s while it lasts (how many requests were
served without it, by operation), one INFO when it is back. ``shoal_dependency_up`` and
``shoal_dependency_degraded_total`` say the same to Prometheus.

Does not own how a dependency is reached or probed (``shoal.storage``), nor what a request
does without it (each caller).
"""

from __future__ import annotations

import collections
import logging
import time
from typing import TYPE_CHECKING, Final

from shoal.planning.outages import (
    DEFAULT_SUMMARY_EVERY_S,
    UP,
    Transition,
    after_failure,
    after_success,
    is_summary_due,
    summarised,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from shoal.observability.metrics import Metrics

__all__ = ["DependencyHealth"]

logger = logging.getLogger(__name__)

_REASON_MAX_CHARS: Final = 300  # a driver's message is one line; cut anything longer


class DependencyHealth:
    """Whether one dependency is up, what was served without it, and the lines that say so."""

    __slots__ = (
        "_clock",
        "_degraded",
        "_is_expected",
        "_metrics",
        "_state",
        "_summary_every_s",
        "consequence",
        "label",
        "name",
    )

    def __init__(
        self,
        name: str,
        *,
        label: str | None = None,
        consequence: str = "",
        metrics: Metrics | None = None,
        is_expected: Callable[[BaseException], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        summary_every_s: float = DEFAULT_SUMMARY_EVERY_S,
    ) -> None:
        """Watch the dependency ``name`` (the metric label: ``redis``, ``postgres``).

        Args:
            name: The ``dependency`` label of the metrics and log lines.
            label: How people call it in log lines (default: ``name``).
            consequence: What the worker does without it, appended to the WARNING that
                says it is down (e.g. "interactions are answered without claims").
            metrics: Where ``shoal_dependency_*`` are recorded (None: nowhere).
            is_expected: Whether an error is a known connection failure, logged without
                a traceback (default: ``OSError`` and ``TimeoutError``).
            clock: Monotonic seconds (tests pass their own).
            summary_every_s: How often an outage in progress is summarised.
        """
        self.name = name
        self.label = label or name
        self.consequence = consequence
        self._metrics = metrics
        self._is_expected = is_expected or _is_os_error
        self._clock = clock
        self._summary_every_s = summary_every_s
        self._state = UP
        self._degraded: collections.Counter[str] = collections.Counter()
        if metrics is not None:
            metrics.dependency_up.labels(name).set(1)

    @property
    def is_up(self) -> bool:
        """False from the first failure until the next success (read on hot paths)."""
        return self._state.is_up

    @property
    def down_for_s(self) -> float | None:
        """Seconds since the outage started, or None while up."""
        since_s = self._state.down_since_s
        return None if since_s is None else self._clock() - since_s

    def report_failure(self, error: BaseException, *, operation: str) -> None:
        """Record that ``operation`` failed on the dependency with ``error``."""
        self._state, transition = after_failure(self._state, self._clock())
        if transition is not Transition.WENT_DOWN:
            return
        self._degraded.clear()
        if self._metrics is not None:
            self._metrics.dependency_up.labels(self.name).set(0)
        is_expected = self._is_expected(error)
        consequence = f"; {self.consequence}" if self.consequence else ""
        logger.warning(
            "%s is unreachable (%s: %s)%s",
            self.label,
            operation,
            _reason(error),
            consequence,
            exc_info=None if is_expected else error,
            extra={"dependency": self.name, "operation": operation},
        )

    def report_success(self) -> None:
        """Record that the dependency answered (a probe or a request)."""
        if self._state.is_up:  # the hot path: nothing to do
            return
        outage_s = self.down_for_s or 0.0
        self._state, _ = after_success(self._state)
        if self._metrics is not None:
            self._metrics.dependency_up.labels(self.name).set(1)
        logger.info(
            "%s is reachable again after %.0f s; %s",
            self.label,
            outage_s,
            self._served_without(),
            extra={
                "dependency": self.name,
                "outage_s": round(outage_s, 3),
                "degraded": dict(self._degraded),
            },
        )
        self._degraded.clear()

    def count_degraded(self, operation: str) -> None:
        """Count one request served without the dependency (``operation`` names what)."""
        self._degraded[operation] += 1
        if self._metrics is not None:
            self._metrics.dependency_degraded.labels(self.name, operation).inc()

    def summarise_if_due(self) -> None:
        """Write the periodic summary of an outage in progress when it is due."""
        now_s = self._clock()
        if not is_summary_due(self._state, now_s, every_s=self._summary_every_s):
            return
        self._state = summarised(self._state, now_s)
        logger.warning(
            "%s still unreachable after %.0f s; %s",
            self.label,
            self.down_for_s or 0.0,
            self._served_without(),
            extra={"dependency": self.name, "degraded": dict(self._degraded)},
        )

    def _served_without(self) -> str:
        total = sum(self._degraded.values())
        if not total:
            return "no request needed it meanwhile"
        parts = ", ".join(f"{op} {count:,}" for op, count in sorted(self._degraded.items()))
        noun = "request was" if total == 1 else "requests were"
        return f"{total:,} {noun} served without it ({parts})"


def _is_os_error(error: BaseException) -> bool:
    return isinstance(error, (OSError, TimeoutError))


def _reason(error: BaseException) -> str:
    detail = " ".join(str(error).split())
    name = type(error).__name__
    text = f"{name}: {detail}" if detail else name
    return text if len(text) <= _REASON_MAX_CHARS else f"{text[: _REASON_MAX_CHARS - 1]}…"
