"""A Grafana dashboard as a typed value: variables, rows of panels, and its JSON.

Owns the dashboard around the panels: the template variables (always a ``datasource``
variable first, then label filters from ``label_values``), the grid layout (rows, panels
left to right, wrapping at 24 columns, ids in order) and the dashboard JSON with its stable
uid. Does not own panel JSON (:mod:`shoal.observability.dashboards.panels`) nor what any
dashboard shows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from shoal.observability.dashboards.panels import DATASOURCE, GRID_WIDTH, panel_json

if TYPE_CHECKING:
    from shoal.observability.dashboards.panels import JSON, Panel

__all__ = [
    "BOT_MATCHERS",
    "SCHEMA_VERSION",
    "Dashboard",
    "Row",
    "Variable",
    "bot_variable",
    "dashboard_json",
    "namespace_variable",
    "selector",
]

#: Grafana 10.4's dashboard schema; newer Grafanas migrate it on load.
SCHEMA_VERSION: Final = 39
#: The label matchers of the ``namespace`` and ``bot`` variables, for every selector.
#: Worker series get ``bot`` from the PodMonitor's relabelling of the pod's
#: app.kubernetes.io/instance label; the operator's series carry it themselves.
BOT_MATCHERS: Final = 'namespace=~"$namespace", bot=~"$bot"'
#: Grafana's variable sort orders.
_SORT_ALPHABETICAL: Final = 1
_SORT_NUMERICAL: Final = 3
#: Refresh a variable's values when the time range changes (new shards, new generations).
_REFRESH_ON_TIME_RANGE: Final = 2


@dataclasses.dataclass(frozen=True, slots=True)
class Variable:
    """A query variable: the values of one label of one metric."""

    name: str
    """The variable's name, used as ``$name`` in PromQL."""
    label: str
    """The name shown above the drop-down."""
    metric: str
    """The selector whose label values are offered (may use earlier variables)."""
    label_name: str
    """The label whose values are offered."""
    is_numeric: bool = False
    """Sort the values as numbers (shard ids, generations) instead of as text."""

    @property
    def query(self) -> str:
        """The variable's ``label_values(...)`` query."""
        return f"label_values({self.metric}, {self.label_name})"


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    """A titled row of panels, laid out left to right."""

    title: str
    """The row's title."""
    panels: tuple[Panel, ...]
    """The panels, in reading order."""


@dataclasses.dataclass(frozen=True, slots=True)
class Dashboard:
    """One dashboard: a stable uid, a title, variables and rows."""

    uid: str
    """Stable forever (links and bookmarks use it), e.g. ``shoal-fleet``."""
    title: str
    """Shown in Grafana, e.g. ``Shoal / Fleet overview``."""
    description: str
    """What the dashboard is for."""
    variables: tuple[Variable, ...]
    """Label filters, after the ``datasource`` variable every dashboard has."""
    rows: tuple[Row, ...]
    """The panels, by row."""


def namespace_variable(metric: str) -> Variable:
    """Return the ``namespace`` variable, from ``metric``'s namespaces."""
    return Variable("namespace", "Namespace", metric, "namespace")


def bot_variable(metric: str) -> Variable:
    """Return the ``bot`` variable, from ``metric``'s bots in the chosen namespaces."""
    return Variable("bot", "Bot", f'{metric}{{namespace=~"$namespace"}}', "bot")


def selector(*matchers: str) -> str:
    """Return ``{namespace=~"$namespace", bot=~"$bot", <matchers>}``."""
    return "{" + ", ".join((BOT_MATCHERS, *matchers)) + "}"


def dashboard_json(dashboard: Dashboard) -> JSON:
    """Return the Grafana JSON model of ``dashboard`` (no ``id``: Grafana assigns it)."""
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["shoal"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,  # a shared crosshair: one moment across every panel
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "annotations": {"list": [_RESHARD_ANNOTATION]},
        "links": [
            {
                "asDropdown": True,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": ["shoal"],
                "targetBlank": False,
                "title": "Shoal dashboards",
                "type": "dashboards",
            }
        ],
        "templating": {"list": [_DATASOURCE_VARIABLE, *map(_variable_json, dashboard.variables)]},
        "panels": _layout(dashboard.rows),
    }


#: Every dashboard marks reshards (started, completed, aborted) of the chosen bots on its
#: time axis, so a latency bump or an identify burst can be read against them.
_RESHARD_ANNOTATION: Final = {
    "name": "Reshards",
    "datasource": DATASOURCE,
    "enable": True,
    "hide": False,
    "iconColor": "purple",
    "expr": (
        "sum by (namespace, bot, outcome) "
        f"(changes(shoal_operator_reshards_total{{{BOT_MATCHERS}}}[$__rate_interval])) > 0"
    ),
    "titleFormat": "Reshard {{outcome}}",
    "textFormat": "{{namespace}}/{{bot}}",
}

_DATASOURCE_VARIABLE: Final = {
    "name": "datasource",
    "label": "Data source",
    "type": "datasource",
    "query": "prometheus",
    "current": {},
    "hide": 0,
    "includeAll": False,
    "multi": False,
    "options": [],
    "refresh": 1,
    "regex": "",
}


def _variable_json(variable: Variable) -> JSON:
    return {
        "name": variable.name,
        "label": variable.label,
        "type": "query",
        "datasource": dict(DATASOURCE),
        "definition": variable.query,
        "query": {"query": variable.query, "refId": "StandardVariableQuery"},
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0,
        "includeAll": True,
        # With All chosen, match every value (also series of bots that appear later).
        "allValue": ".*",
        "multi": True,
        "options": [],
        "refresh": _REFRESH_ON_TIME_RANGE,
        "regex": "",
        "sort": _SORT_NUMERICAL if variable.is_numeric else _SORT_ALPHABETICAL,
    }


def _layout(rows: tuple[Row, ...]) -> list[JSON]:
    """Place every row and panel on the grid; ids count up from 1 in reading order."""
    panels: list[JSON] = []
    y = 0
    for row in rows:
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                "panels": [],
            }
        )
        y += 1
        x, line_height = 0, 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:
                x, y, line_height = 0, y + line_height, 0
            grid_pos = {"h": panel.height, "w": panel.width, "x": x, "y": y}
            panels.append(panel_json(panel, panel_id=len(panels) + 1, grid_pos=grid_pos))
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return panels
