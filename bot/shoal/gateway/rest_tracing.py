"""Counting the worker's REST requests by route and status (``shoal_rest_requests_total``).

hikari has no public hook on its HTTP client, so this attaches an aiohttp ``TraceConfig``
to the client session hikari's REST client creates at start (two private seams, both
covered by ``tests/integration/gateway/test_rest_tracing.py``). Routes are labelled by
template (ids and tokens replaced) so the metric's cardinality stays bounded.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import aiohttp

if TYPE_CHECKING:
    import hikari

    from shoal.observability.metrics import Metrics

__all__ = ["instrument_rest", "route_template"]

_API_PREFIX: Final = re.compile(r"^.*?/api/v\d+")
_SNOWFLAKE: Final = re.compile(r"^\d{5,20}$")
#: Interaction and webhook tokens: long opaque segments after an id.
_TOKEN: Final = re.compile(r"^[A-Za-z0-9_\-.]{40,}$")


def route_template(path: str) -> str:
    """Return ``path`` with ids and tokens replaced: ``/channels/{id}/messages``."""
    path = _API_PREFIX.sub("", path) or "/"
    parts = []
    for segment in path.split("/"):
        if _SNOWFLAKE.match(segment):
            parts.append("{id}")
        elif _TOKEN.match(segment):
            parts.append("{token}")
        else:
            parts.append(segment)
    return "/".join(parts)


def instrument_rest(rest: hikari.api.RESTClient, metrics: Metrics) -> bool:
    """Count every request of ``rest`` from now on; False if its session is not started."""
    session: aiohttp.ClientSession | None = getattr(rest, "_client_session", None)
    if session is None:
        return False
    trace = aiohttp.TraceConfig()

    async def on_end(
        _session: aiohttp.ClientSession,
        _context: Any,  # noqa: ANN401 - aiohttp's per-request trace context
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        route = f"{params.method} {route_template(params.url.path)}"
        metrics.rest_requests.labels(route, str(params.response.status)).inc()

    trace.on_request_end.append(on_end)
    trace.freeze()
    session._trace_configs.append(trace)  # noqa: SLF001 - aiohttp reads this list per request
    return True
