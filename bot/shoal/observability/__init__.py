"""Observability: JSON logging, Prometheus metrics, and the health and metrics HTTP server.

Owns how the worker is seen from outside (logs, ``/metrics``, ``/livez``, ``/readyz``). Does
not own what is measured: the gateway and the command middleware record into
:class:`shoal.observability.metrics.Metrics` and report shard states through
:class:`shoal.observability.shard_status.ShardStatusSource`.
"""

from __future__ import annotations

__all__: list[str] = []
