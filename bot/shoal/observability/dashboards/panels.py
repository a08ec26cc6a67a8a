"""Grafana panels as small typed values, and their JSON (Grafana 10+, schemaVersion 39).

Owns what a panel is (a kind, a title, a description saying what it means, PromQL queries,
a unit, a size) and the panel JSON Grafana reads. Does not own where a panel goes on the
grid or the dashboard around it (:mod:`shoal.observability.dashboards.dashboard` lays them
out), nor any metric name (the dashboard modules write the PromQL).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Final, TypeAlias, TypedDict

from typing_extensions import Unpack

__all__ = [
    "DATASOURCE",
    "GOOD_BELOW_ONE",
    "GRID_WIDTH",
    "JSON",
    "Kind",
    "Panel",
    "PanelOptions",
    "Query",
    "bar_gauge",
    "panel_json",
    "stat",
    "table",
    "timeseries",
]

JSON: TypeAlias = dict[str, Any]

#: Every panel, target and query variable reads from the dashboard's ``datasource``
#: variable, so one dashboard works with whichever Prometheus a Grafana has.
DATASOURCE: Final = {"type": "prometheus", "uid": "${datasource}"}
#: Grafana's grid is 24 columns wide.
GRID_WIDTH: Final = 24
#: The colour of every value when a panel has no thresholds.
_GREEN: Final = "green"
#: Threshold steps: (from value, colour), the first from None (minus infinity).
GOOD_BELOW_ONE: Final = ((None, "green"), (1.0, "red"))
"""Green at 0, red from 1 (shards not ready, unanswered interactions, nodes down)."""


class Kind(enum.StrEnum):
    """The Grafana panel types the dashboards use."""

    TIMESERIES = "timeseries"
    """A graph over time."""
    STAT = "stat"
    """One big number (the last value), with a sparkline."""
    BAR_GAUGE = "bargauge"
    """One horizontal bar per series (the last value): per shard, per node, per route."""
    TABLE = "table"
    """Instant values as rows, one column per label."""


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    """One PromQL target of a panel."""

    expr: str
    """The PromQL expression; Grafana variables (``$bot``, ``$__rate_interval``) allowed."""
    legend: str = ""
    """Grafana's legendFormat (``{{shard}}``); empty: Grafana names the series itself."""


@dataclasses.dataclass(frozen=True, slots=True)
class Panel:
    """A panel before layout: what it shows and how big it is."""

    kind: Kind
    """The panel type."""
    title: str
    """The title, unique within a dashboard (the tests find panels by it)."""
    description: str
    """What the panel means, shown in the panel's info tooltip."""
    queries: tuple[Query, ...]
    """The targets, refIds A, B, ... in this order."""
    unit: str = "short"
    """Grafana's unit id: ``s``, ``reqps``, ``percentunit``, ``short``, ``bytes``, ..."""
    width: int = 12
    """Width in grid columns (of 24)."""
    height: int = 8
    """Height in grid rows (30 px each)."""
    is_stacked: bool = False
    """Time series only: stack the series (shards by state add up to all shards)."""
    thresholds: tuple[tuple[float | None, str], ...] = ()
    """Colour steps (from value, colour), the first from None; empty: all green."""
    min_value: float | None = 0
    """The axis or gauge minimum; None lets Grafana choose."""
    max_value: float | None = None
    """The axis or gauge maximum; None lets Grafana choose."""


class PanelOptions(TypedDict, total=False):
    """The optional :class:`Panel` fields, as keyword arguments of the panel factories."""

    unit: str
    width: int
    height: int
    is_stacked: bool
    thresholds: tuple[tuple[float | None, str], ...]
    min_value: float | None
    max_value: float | None


def timeseries(
    title: str, description: str, *queries: Query, **options: Unpack[PanelOptions]
) -> Panel:
    """Return a time series panel; ``options`` are :class:`Panel` fields."""
    return Panel(Kind.TIMESERIES, title, description, queries, **options)


def stat(title: str, description: str, *queries: Query, **options: Unpack[PanelOptions]) -> Panel:
    """Return a stat panel (4 columns by 4 rows unless ``options`` say otherwise)."""
    options.setdefault("width", 4)
    options.setdefault("height", 4)
    return Panel(Kind.STAT, title, description, queries, **options)


def bar_gauge(
    title: str, description: str, *queries: Query, **options: Unpack[PanelOptions]
) -> Panel:
    """Return a horizontal bar gauge panel; ``options`` are :class:`Panel` fields."""
    return Panel(Kind.BAR_GAUGE, title, description, queries, **options)


def table(title: str, description: str, *queries: Query, **options: Unpack[PanelOptions]) -> Panel:
    """Return a table of instant values; ``options`` are :class:`Panel` fields."""
    return Panel(Kind.TABLE, title, description, queries, **options)


def panel_json(panel: Panel, *, panel_id: int, grid_pos: JSON) -> JSON:
    """Return the Grafana JSON of ``panel`` placed at ``grid_pos`` with id ``panel_id``."""
    return {
        "id": panel_id,
        "type": panel.kind.value,
        "title": panel.title,
        "description": panel.description,
        "datasource": dict(DATASOURCE),
        "gridPos": grid_pos,
        "fieldConfig": {"defaults": _field_defaults(panel), "overrides": []},
        "options": _options(panel),
        "targets": [_target(panel, index, query) for index, query in enumerate(panel.queries)],
        "transformations": _transformations(panel),
    }


def _target(panel: Panel, index: int, query: Query) -> JSON:
    # Stats, bar gauges and tables show the last value only: an instant query is cheaper.
    is_instant = panel.kind is not Kind.TIMESERIES
    target: JSON = {
        "datasource": dict(DATASOURCE),
        "editorMode": "code",
        "expr": query.expr,
        "instant": is_instant,
        "legendFormat": query.legend or "__auto",
        "range": not is_instant,
        "refId": chr(ord("A") + index),
    }
    if panel.kind is Kind.TABLE:
        target["format"] = "table"
    return target


def _field_defaults(panel: Panel) -> JSON:
    thresholds = panel.thresholds or ((None, _GREEN),)
    steps = [{"color": color, "value": value} for value, color in thresholds]
    defaults: JSON = {
        "unit": panel.unit,
        "color": {"mode": "thresholds" if panel.thresholds else "palette-classic"},
        "thresholds": {"mode": "absolute", "steps": steps},
        "mappings": [],
    }
    if panel.min_value is not None:
        defaults["min"] = panel.min_value
    if panel.max_value is not None:
        defaults["max"] = panel.max_value
    if panel.kind is Kind.TIMESERIES:
        defaults["custom"] = {
            "drawStyle": "line",
            "fillOpacity": 30 if panel.is_stacked else 10,
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"group": "A", "mode": "normal" if panel.is_stacked else "none"},
        }
    return defaults


def _options(panel: Panel) -> JSON:
    last: JSON = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    match panel.kind:
        case Kind.TIMESERIES:
            return {
                "legend": {
                    "calcs": ["mean", "max", "lastNotNull"],
                    "displayMode": "table",
                    "placement": "bottom",
                    "showLegend": True,
                },
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
        case Kind.STAT:
            return {
                "colorMode": "value",
                "graphMode": "area",
                "justifyMode": "auto",
                "orientation": "auto",
                "reduceOptions": last,
                "textMode": "auto",
            }
        case Kind.BAR_GAUGE:
            return {
                "displayMode": "gradient",
                "orientation": "horizontal",
                "reduceOptions": last,
                "showUnfilled": True,
            }
        case Kind.TABLE:
            return {"cellHeight": "sm", "footer": {"show": False}, "showHeader": True}


def _transformations(panel: Panel) -> list[JSON]:
    if panel.kind is not Kind.TABLE:
        return []
    # Instant queries in table format carry a Time column that says nothing here.
    return [{"id": "organize", "options": {"excludeByName": {"Time": True}}}]
