"""``shoal operator``: run kopf with Shoal's handlers, metrics and liveness endpoint.

Owns the process: logging, the ``/metrics`` server, kopf's peering and namespace
options, and a clean stop on SIGTERM. Does not own the handlers (``handlers``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import kopf
from prometheus_client import start_http_server

from shoal_operator.handlers import OperatorMemo, build_registry
from shoal_operator.metrics import OperatorMetrics

if TYPE_CHECKING:
    from shoal_operator.settings import OperatorSettings

__all__ = ["run_operator"]

_LOG = logging.getLogger(__name__)


async def run_operator(settings: OperatorSettings, *, stop: asyncio.Event) -> int:
    """Run the operator until ``stop`` is set; returns the exit status."""
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    metrics = OperatorMetrics()
    server, thread = start_http_server(settings.metrics_port, registry=metrics.registry)
    memo = OperatorMemo(settings=settings, metrics=metrics)
    stop_flag: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def stop_on_signal() -> None:
        await stop.wait()
        if not stop_flag.done():
            stop_flag.set_result(None)

    watcher = asyncio.create_task(stop_on_signal())
    _LOG.info(
        "operator starting",
        extra={
            "namespaces": list(settings.namespaces) or "all",
            "peering": None if settings.is_standalone else settings.peering_name,
            "priority": settings.priority,
        },
    )
    try:
        await kopf.operator(
            registry=build_registry(settings),
            memo=memo,
            standalone=settings.is_standalone,
            priority=settings.priority,
            peering_name=None if settings.is_standalone else settings.peering_name,
            liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz",
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            stop_flag=stop_flag,
        )
    finally:
        watcher.cancel()
        server.shutdown()
        thread.join(timeout=5)
    return 0
