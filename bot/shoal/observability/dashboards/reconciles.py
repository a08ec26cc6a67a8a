"""The operator dashboard: reconcile passes, the shard plan, reshards and degradation.

Owns "Shoal / Operator". Up to two operator replicas may be scraped (the active one and a
paused standby), so gauges are the max over them by (namespace, bot); counters only move on
the active replica, so they are summed.
"""

from __future__ import annotations

from typing import Final

from shoal.observability.dashboards.dashboard import (
    Dashboard,
    Row,
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

__all__ = ["OPERATOR"]

_S: Final = selector()
_RATE: Final = "[$__rate_interval]"
_MAX: Final = "max by (namespace, bot)"
_LEGEND: Final = "{{namespace}}/{{bot}}"

_RECONCILES: Final = Row(
    "Reconciles",
    (
        timeseries(
            "Reconciles/s",
            "Reconcile passes per second of each DiscordBot.",
            Query(
                f"sum by (namespace, bot) "
                f"(rate(shoal_operator_reconcile_seconds_count{_S}{_RATE}))",
                _LEGEND,
            ),
            unit="ops",
            width=8,
        ),
        timeseries(
            "Reconcile errors/s",
            "Reconcile passes per second that failed and will be retried, by exception type.",
            Query(
                f"sum by (namespace, bot, error) "
                f"(rate(shoal_operator_reconcile_errors_total{_S}{_RATE}))",
                "{{bot}} {{error}}",
            ),
            unit="ops",
            width=8,
        ),
        timeseries(
            "Reconcile duration p95",
            "95th percentile of one reconcile pass (reads Secrets, Discord and Redis, writes "
            "a few objects), and the mean.",
            Query(
                "histogram_quantile(0.95, sum by (namespace, bot, le) "
                f"(rate(shoal_operator_reconcile_seconds_bucket{_S}{_RATE})))",
                _LEGEND + " p95",
            ),
            Query(
                f"sum by (namespace, bot) (rate(shoal_operator_reconcile_seconds_sum{_S}{_RATE}))"
                " / sum by (namespace, bot) "
                f"(rate(shoal_operator_reconcile_seconds_count{_S}{_RATE}))",
                _LEGEND + " mean",
            ),
            unit="s",
            width=8,
        ),
    ),
)

_SHARDS: Final = Row(
    "Shards",
    (
        stat(
            "Active generation",
            "The generation whose workers process events, per bot.",
            Query(f"{_MAX} (shoal_operator_active_generation{_S})", _LEGEND),
            width=6,
        ),
        stat(
            "Shards missing",
            "Shards of the active generation not READY in the registry.",
            Query(
                f"sum({_MAX} (shoal_operator_current_shards{_S}) "
                f"- {_MAX} (shoal_operator_ready_shards{_S}))"
            ),
            thresholds=GOOD_BELOW_ONE,
            width=6,
        ),
        stat(
            "Guilds",
            "The guild total of the chosen bots, from the shard registry.",
            Query(f"sum({_MAX} (shoal_operator_guilds{_S}))"),
            width=6,
        ),
        stat(
            "Degraded bots",
            "DiscordBots whose Degraded condition is True.",
            Query(f"count({_MAX} (shoal_operator_degraded{_S}) == 1) or vector(0)"),
            thresholds=GOOD_BELOW_ONE,
            width=6,
        ),
        timeseries(
            "Desired vs current vs ready shards",
            "Shards the plan asks for, shards of the active generation, and those READY. "
            "Desired above current means a reshard is due.",
            Query(f"{_MAX} (shoal_operator_desired_shards{_S})", "{{bot}} desired"),
            Query(f"{_MAX} (shoal_operator_current_shards{_S})", "{{bot}} current"),
            Query(f"{_MAX} (shoal_operator_ready_shards{_S})", "{{bot}} ready"),
            width=24,
        ),
    ),
)

_RESHARDS: Final = Row(
    "Reshards",
    (
        timeseries(
            "Resharding",
            "1 while a blue/green reshard runs (a new generation starts beside the old).",
            Query(f"{_MAX} (shoal_operator_resharding{_S})", _LEGEND),
            max_value=1,
            width=6,
        ),
        timeseries(
            "Time since reshard start",
            "How long the running reshard has taken so far (no value when none runs).",
            Query(
                f"time() - {_MAX} (shoal_operator_reshard_started_timestamp_seconds{_S} > 0)",
                _LEGEND,
            ),
            unit="s",
            width=6,
        ),
        bar_gauge(
            "Reshards in range by outcome",
            "Reshard steps in the time range: started, completed, aborted.",
            Query(
                f"sum by (bot, outcome) (increase(shoal_operator_reshards_total{_S}[$__range]))",
                "{{bot}} {{outcome}}",
            ),
            width=6,
        ),
        bar_gauge(
            "Orphaned generations removed in range",
            "Shard generations removed in the time range because no reshard kept them "
            "(created just before an operator crash). Above 0: look at the operator's restarts.",
            Query(
                f"sum by (bot) "
                f"(increase(shoal_operator_orphaned_generations_removed_total{_S}[$__range]))",
                "{{bot}}",
            ),
            width=6,
        ),
    ),
)

_DEGRADED: Final = Row(
    "Degraded",
    (
        timeseries(
            "Degraded by reason",
            "1 while the DiscordBot's Degraded condition is True, by reason.",
            Query(
                f"max by (namespace, bot, reason) (shoal_operator_degraded{_S})",
                "{{bot}}: {{reason}}",
            ),
            max_value=1,
        ),
        table(
            "Degraded now",
            "DiscordBots degraded right now, with the reason.",
            Query(f"max by (namespace, bot, reason) (shoal_operator_degraded{_S}) == 1"),
        ),
    ),
)

_METRIC: Final = "shoal_operator_desired_shards"

OPERATOR: Final = Dashboard(
    uid="shoal-operator",
    title="Shoal / Operator",
    description="The operator: reconcile passes, shard plans, reshards and degraded bots.",
    variables=(namespace_variable(_METRIC), bot_variable(_METRIC)),
    rows=(_RECONCILES, _SHARDS, _RESHARDS, _DEGRADED),
)
"""The operator dashboard."""
