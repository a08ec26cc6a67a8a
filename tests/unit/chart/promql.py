"""What the chart's PromQL refers to: metric names in an expression, and the names that exist.

Owns parsing PromQL (promql-parser, the Rust parser Prometheus-compatible databases use)
after substituting Grafana's variables, and listing every series name the worker's and the
operator's registries can expose (a counter ``x`` is exposed as ``x_total`` and
``x_created``, a histogram as ``x_bucket``, ``x_sum``, ``x_count``, ``x_created``).
Does not own the dashboards or the alerts.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import promql_parser

from shoal.observability.metrics import Metrics
from shoal_operator.metrics import OperatorMetrics

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client import CollectorRegistry

__all__ = ["PROMETHEUS_SERIES", "exposed_metric_names", "metric_names_in"]

#: Series Prometheus itself writes for every scrape target (not in any registry).
PROMETHEUS_SERIES: Final = frozenset({"up", "scrape_duration_seconds"})

#: Grafana's range variables, replaced by a duration so the expression parses.
_RANGE_VARIABLES: Final = re.compile(
    r"\$__(rate_interval|interval|range)|\$\{__(rate_interval|interval|range)\}"
)
#: Any other dashboard variable ($bot, ${namespace}, [[shard]]), replaced by a plain word.
_VARIABLES: Final = re.compile(r"\$\{?(\w+)(?::\w+)?\}?|\[\[(\w+)\]\]")

_SUFFIXES: Final = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "gauge": ("",),
    "stateset": ("",),
    "info": ("_info",),
    "unknown": ("",),
}


def exposed_metric_names() -> frozenset[str]:
    """Return every series name a worker or the operator can expose on ``/metrics``.

    Prometheus's own per-target series (:data:`PROMETHEUS_SERIES`) are included.
    """
    names: set[str] = set(PROMETHEUS_SERIES)
    for registry in (Metrics().registry, OperatorMetrics().registry):
        names.update(_names(registry))
    return frozenset(names)


def _names(registry: CollectorRegistry) -> Iterator[str]:
    for family in registry.collect():
        for suffix in _SUFFIXES[family.type]:
            yield family.name + suffix
        for sample in family.samples:  # the process collector's series, already named
            yield sample.name


def metric_names_in(expression: str) -> frozenset[str]:
    """Return the metric names ``expression`` selects (raises ValueError if it does not parse).

    Grafana variables are substituted first: ``$__rate_interval`` by a duration, any other
    ``$name`` by a word, so ``{bot=~"$bot"}`` parses as a label matcher.
    """
    text = _RANGE_VARIABLES.sub("5m", expression)
    text = _VARIABLES.sub("grafana_variable", text)
    try:
        tree = promql_parser.parse(text)
    except Exception as error:
        msg = f"PromQL does not parse: {expression!r}: {error}"
        raise ValueError(msg) from error
    return frozenset(_selected(tree))


def _selected(node: object) -> Iterator[str]:
    if isinstance(node, promql_parser.VectorSelector):
        if node.name:
            yield node.name
        for matcher in node.matchers.matchers:
            if matcher.name == "__name__":
                yield matcher.value
        return
    for attribute in ("expr", "lhs", "rhs", "vector_selector", "param"):
        child = getattr(node, attribute, None)
        if child is not None:
            yield from _selected(child)
    for child in getattr(node, "args", None) or ():
        yield from _selected(child)
