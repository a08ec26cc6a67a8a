"""The REST dashboard: requests to Discord's HTTP API, their statuses and 429s by route.

Owns "Shoal / REST". A 429 means a bucket (or the global limit) was exhausted; many of
them risk Cloudflare's ban on invalid requests, so they are shown per route.
"""

from __future__ import annotations

from typing import Final

from shoal.observability.dashboards.dashboard import (
    Dashboard,
    Row,
    Variable,
    bot_variable,
    namespace_variable,
    selector,
)
from shoal.observability.dashboards.panels import Query, stat, table, timeseries

__all__ = ["REST"]

_ROUTE: Final = 'route=~"$route"'
_S: Final = selector(_ROUTE)
_TOO_MANY: Final = selector(_ROUTE, 'status="429"')
_SERVER_ERRORS: Final = selector(_ROUTE, 'status=~"5.."')
_RATE: Final = "[$__rate_interval]"
_REQUESTS: Final = f"rate(shoal_rest_requests_total{_S}{_RATE})"
_RATIO_STEPS: Final = ((None, "green"), (0.01, "orange"), (0.05, "red"))

_NOW: Final = Row(
    "Now",
    (
        stat(
            "Requests/s",
            "REST requests to Discord per second, every route and status.",
            Query(f"sum({_REQUESTS})"),
            unit="reqps",
            width=6,
        ),
        stat(
            "429s/s",
            "Responses per second that were 429 Too Many Requests.",
            Query(f"sum(rate(shoal_rest_requests_total{_TOO_MANY}{_RATE}))"),
            unit="reqps",
            thresholds=((None, "green"), (0.1, "orange"), (1.0, "red")),
            width=6,
        ),
        stat(
            "429 ratio",
            "Share of requests answered 429.",
            Query(f"sum(rate(shoal_rest_requests_total{_TOO_MANY}{_RATE})) / sum({_REQUESTS})"),
            unit="percentunit",
            max_value=1,
            thresholds=_RATIO_STEPS,
            width=6,
        ),
        stat(
            "5xx ratio",
            "Share of requests Discord answered with a server error.",
            Query(
                f"sum(rate(shoal_rest_requests_total{_SERVER_ERRORS}{_RATE})) / sum({_REQUESTS})"
            ),
            unit="percentunit",
            max_value=1,
            thresholds=_RATIO_STEPS,
            width=6,
        ),
    ),
)

_ROUTES: Final = Row(
    "Routes",
    (
        timeseries(
            "Requests/s by route",
            "REST requests per second by route template (the 10 busiest).",
            Query(f"topk(10, sum by (route) ({_REQUESTS}))", "{{route}}"),
            unit="reqps",
        ),
        timeseries(
            "Requests/s by status",
            "REST requests per second by HTTP status.",
            Query(f"sum by (status) ({_REQUESTS})", "{{status}}"),
            unit="reqps",
            is_stacked=True,
        ),
        timeseries(
            "429s/s by route",
            "429 Too Many Requests per second, by route template.",
            Query(
                f"sum by (route) (rate(shoal_rest_requests_total{_TOO_MANY}{_RATE})) > 0",
                "{{route}}",
            ),
            unit="reqps",
        ),
        timeseries(
            "5xx/s by route",
            "Server errors per second, by route template.",
            Query(
                f"sum by (route) (rate(shoal_rest_requests_total{_SERVER_ERRORS}{_RATE})) > 0",
                "{{route}}",
            ),
            unit="reqps",
        ),
        table(
            "Requests by route and status in range",
            "Requests in the time range per route and status: where the 4xx come from.",
            Query(
                f"sum by (route, status) (increase(shoal_rest_requests_total{_S}[$__range])) > 0"
            ),
            width=24,
        ),
    ),
)

_METRIC: Final = "shoal_rest_requests_total"

REST: Final = Dashboard(
    uid="shoal-rest",
    title="Shoal / REST",
    description="Requests to Discord's REST API by route and status, and rate limiting.",
    variables=(
        namespace_variable(_METRIC),
        bot_variable(_METRIC),
        Variable("route", "Route", f"{_METRIC}{selector()}", "route"),
    ),
    rows=(_NOW, _ROUTES),
)
"""The REST dashboard."""
