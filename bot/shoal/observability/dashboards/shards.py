"""The shard detail: state, latency, guilds and reconnects of each shard, and its pods.

Owns the "Shoal / Shard detail" dashboard. Shard ids repeat across generations, so every
per-shard series is grouped by (bot, generation, shard) and the ``generation`` variable
narrows the view. Gateway events are counted per worker, not per shard, so the event panel
is per pod.
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
from shoal.observability.dashboards.panels import (
    GOOD_BELOW_ONE,
    Query,
    bar_gauge,
    stat,
    table,
    timeseries,
)

__all__ = ["SHARDS"]

_GENERATION: Final = 'generation=~"$generation"'
_SHARD: Final = 'shard=~"$shard"'
_S: Final = selector(_GENERATION, _SHARD)
_NOT_READY: Final = selector(_GENERATION, _SHARD, 'shoal_shard_state!="ready"')
_POD: Final = selector(_GENERATION)
_RATE: Final = "[$__rate_interval]"
_BY_SHARD: Final = "by (namespace, bot, generation, shard)"
_LEGEND: Final = "{{bot}} g{{generation}} shard {{shard}}"

_STATE: Final = Row(
    "State",
    (
        stat(
            "Shards selected",
            "Shards of the chosen bots, generations and shard ids.",
            Query(f"count(max {_BY_SHARD} (shoal_shard_state{_S}))"),
        ),
        stat(
            "Not ready",
            "Chosen shards whose state is not READY.",
            Query(f"sum(shoal_shard_state{_NOT_READY})"),
            thresholds=GOOD_BELOW_ONE,
        ),
        stat(
            "Max heartbeat latency",
            "The slowest heartbeat round trip among the chosen shards.",
            Query(f"max(shoal_shard_heartbeat_latency_seconds{_S})"),
            unit="s",
            thresholds=((None, "green"), (0.5, "orange"), (2.0, "red")),
        ),
        table(
            "Shard states",
            "The current state of each chosen shard, one row per shard.",
            Query(
                f"max by (namespace, bot, generation, shard, shoal_shard_state) "
                f"(shoal_shard_state{_S}) == 1"
            ),
            width=12,
        ),
        timeseries(
            "Shards by state",
            "The chosen shards in each state, stacked.",
            Query(
                f"sum by (shoal_shard_state) (shoal_shard_state{_S})",
                "{{shoal_shard_state}}",
            ),
            is_stacked=True,
        ),
        bar_gauge(
            "Guilds per shard",
            "Guilds on each chosen shard: an uneven spread means hot shards.",
            Query(f"max {_BY_SHARD} (shoal_shard_guilds{_S})", _LEGEND),
        ),
    ),
)

_GATEWAY: Final = Row(
    "Gateway",
    (
        timeseries(
            "Heartbeat latency per shard",
            "Gateway heartbeat round trip of each shard (no value before the first ACK).",
            Query(f"max {_BY_SHARD} (shoal_shard_heartbeat_latency_seconds{_S})", _LEGEND),
            unit="s",
        ),
        timeseries(
            "Events/s per pod",
            "Gateway dispatches received per second by each worker pod (events are counted "
            "per worker, not per shard; the shard filter does not apply).",
            Query(
                f"sum by (namespace, bot, generation, pod) "
                f"(rate(shoal_gateway_events_total{_POD}{_RATE}))",
                "{{pod}}",
            ),
            unit="ops",
        ),
        timeseries(
            "Identifies per shard",
            "IDENTIFYs sent per second by each shard: each one spends the session budget.",
            Query(f"sum {_BY_SHARD} (rate(shoal_gateway_identifies_total{_S}{_RATE}))", _LEGEND),
            unit="ops",
        ),
        timeseries(
            "Resumes per shard",
            "RESUMEs sent per second by each shard: reconnects that kept their session.",
            Query(f"sum {_BY_SHARD} (rate(shoal_gateway_resumes_total{_S}{_RATE}))", _LEGEND),
            unit="ops",
        ),
        timeseries(
            "Reconnects per shard",
            "Gateway connections closed per second, by shard and close code.",
            Query(
                f"sum by (namespace, bot, generation, shard, code) "
                f"(rate(shoal_gateway_closes_total{_S}{_RATE}))",
                _LEGEND + " code {{code}}",
            ),
            unit="ops",
            width=24,
        ),
    ),
)

_PODS: Final = Row(
    "Worker pods",
    (
        timeseries(
            "Memory per pod",
            "Resident memory of each worker process.",
            Query(f"max by (pod) (shoal_process_resident_memory_bytes{_POD})", "{{pod}}"),
            unit="bytes",
            width=8,
        ),
        timeseries(
            "CPU per pod",
            "CPU time each worker process used per second (1 = one core).",
            Query(f"sum by (pod) (rate(shoal_process_cpu_seconds_total{_POD}{_RATE}))", "{{pod}}"),
            unit="short",
            width=8,
        ),
        timeseries(
            "Open file descriptors per pod",
            "Open file descriptors (sockets included) of each worker process.",
            Query(f"max by (pod) (shoal_process_open_fds{_POD})", "{{pod}}"),
            width=8,
        ),
    ),
)

_WORKER: Final = "shoal_shard_state"

SHARDS: Final = Dashboard(
    uid="shoal-shards",
    title="Shoal / Shard detail",
    description="Each shard of the chosen bots and generations: state, latency, reconnects.",
    variables=(
        namespace_variable(_WORKER),
        bot_variable(_WORKER),
        Variable(
            "generation",
            "Generation",
            f'{_WORKER}{{namespace=~"$namespace", bot=~"$bot"}}',
            "generation",
            is_numeric=True,
        ),
        Variable("shard", "Shard", f"{_WORKER}{selector(_GENERATION)}", "shard", is_numeric=True),
    ),
    rows=(_STATE, _GATEWAY, _PODS),
)
"""The shard detail dashboard."""
