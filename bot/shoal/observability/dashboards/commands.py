"""The commands dashboard: how many commands run, how many fail, how long they take.

Owns "Shoal / Commands": command rate by command and by outcome, error ratio, latency
percentiles from ``shoal_command_duration_seconds``, interactions nobody answered, and
those no handler ran for (expired on arrival, unknown commands, decided without a claim).
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
    timeseries,
)

__all__ = ["COMMANDS"]

_COMMAND: Final = 'command=~"$command"'
_S: Final = selector(_COMMAND)
_ERRORS: Final = selector(_COMMAND, 'outcome="error"')
_RATE: Final = "[$__rate_interval]"
_BUCKETS: Final = f"rate(shoal_command_duration_seconds_bucket{_S}{_RATE})"
#: Discord invalidates an interaction token that got no reply within 3 s.
_LATENCY_STEPS: Final = ((None, "green"), (1.0, "orange"), (3.0, "red"))


def _quantile(quantile: float, by: str) -> str:
    return f"histogram_quantile({quantile}, sum by ({by}) ({_BUCKETS}))"


_NOW: Final = Row(
    "Now",
    (
        stat(
            "Commands/s",
            "Application commands handled per second, every outcome.",
            Query(f"sum(rate(shoal_commands_total{_S}{_RATE}))"),
            unit="ops",
            width=6,
        ),
        stat(
            "Error ratio",
            "Share of commands whose handler raised (the user got an error reply).",
            Query(
                f"sum(rate(shoal_commands_total{_ERRORS}{_RATE})) "
                f"/ sum(rate(shoal_commands_total{_S}{_RATE}))"
            ),
            unit="percentunit",
            max_value=1,
            thresholds=((None, "green"), (0.01, "orange"), (0.05, "red")),
            width=6,
        ),
        stat(
            "p95 latency",
            "95th percentile of the time from receiving a command to its handler finishing.",
            Query(_quantile(0.95, "le")),
            unit="s",
            thresholds=_LATENCY_STEPS,
            width=6,
        ),
        stat(
            "Unanswered in range",
            "Interactions the user got no reply to at all in the time range: every reply "
            "failed (token expired after Discord's 3 s, or Discord refused it).",
            Query(f"sum(increase(shoal_interactions_unanswered_total{_S}[$__range]))"),
            thresholds=GOOD_BELOW_ONE,
            width=6,
        ),
    ),
)

_TRAFFIC: Final = Row(
    "Traffic",
    (
        timeseries(
            "Commands/s by command",
            "Commands handled per second, by command.",
            Query(f"sum by (command) (rate(shoal_commands_total{_S}{_RATE}))", "{{command}}"),
            unit="ops",
            is_stacked=True,
        ),
        timeseries(
            "Commands/s by outcome",
            "Commands per second by outcome: ok, error (the handler raised), rate_limited, "
            "claimed_elsewhere (another worker answered), unanswered (the middleware "
            "answered for the handler).",
            Query(f"sum by (outcome) (rate(shoal_commands_total{_S}{_RATE}))", "{{outcome}}"),
            unit="ops",
            is_stacked=True,
        ),
        timeseries(
            "Error ratio by command",
            "Share of each command's runs whose handler raised.",
            Query(
                f"sum by (command) (rate(shoal_commands_total{_ERRORS}{_RATE})) "
                f"/ sum by (command) (rate(shoal_commands_total{_S}{_RATE}))",
                "{{command}}",
            ),
            unit="percentunit",
        ),
        timeseries(
            "Unanswered interactions by command",
            "Interactions per second that got no reply at all, by command.",
            Query(
                f"sum by (command) (rate(shoal_interactions_unanswered_total{_S}{_RATE}))",
                "{{command}}",
            ),
            unit="ops",
        ),
    ),
)

_LATENCY: Final = Row(
    "Latency",
    (
        timeseries(
            "Latency percentiles",
            "p50, p95 and p99 of command duration over every chosen command.",
            Query(_quantile(0.5, "le"), "p50"),
            Query(_quantile(0.95, "le"), "p95"),
            Query(_quantile(0.99, "le"), "p99"),
            unit="s",
        ),
        timeseries(
            "p95 latency by command",
            "95th percentile of each command's duration.",
            Query(_quantile(0.95, "command, le"), "{{command}}"),
            unit="s",
        ),
        timeseries(
            "p99 latency by command",
            "99th percentile of each command's duration.",
            Query(_quantile(0.99, "command, le"), "{{command}}"),
            unit="s",
        ),
        bar_gauge(
            "Mean latency by command",
            "Mean duration of each command over the time range.",
            Query(
                f"sum by (command) (increase(shoal_command_duration_seconds_sum{_S}[$__range])) "
                f"/ sum by (command) "
                f"(increase(shoal_command_duration_seconds_count{_S}[$__range]))",
                "{{command}}",
            ),
            unit="s",
            thresholds=_LATENCY_STEPS,
        ),
    ),
)

_ALL: Final = selector()  # metrics with no command label

_NOT_HANDLED: Final = Row(
    "Interactions no handler ran for",
    (
        timeseries(
            "Expired on arrival, by type",
            "Interactions dropped before any handler because Discord's 3 s window had "
            "passed when they arrived (a stalled worker, a RESUME replay): nobody could "
            "answer them any more.",
            Query(
                f"sum by (type) (rate(shoal_interactions_expired_total{_ALL}{_RATE}))",
                "{{type}}",
            ),
            unit="ops",
        ),
        timeseries(
            "Unknown commands, by type",
            "Interactions for a command this worker does not know (a stale command after "
            "a deploy): the user was told it is no longer available.",
            Query(
                f"sum by (type) (rate(shoal_interactions_unknown_total{_ALL}{_RATE}))",
                "{{type}}",
            ),
            unit="ops",
        ),
        timeseries(
            "Decided without a claim",
            "Interactions that could not be claimed because Redis was unreachable: "
            "answered by the last known active generation, left by the others.",
            Query(
                f"sum by (decision) (rate(shoal_interactions_unclaimed_total{_ALL}{_RATE}))",
                "{{decision}}",
            ),
            unit="ops",
        ),
    ),
)

_METRIC: Final = "shoal_commands_total"

COMMANDS: Final = Dashboard(
    uid="shoal-commands",
    title="Shoal / Commands",
    description="Application commands: rate, outcomes, errors and latency by command.",
    variables=(
        namespace_variable(_METRIC),
        bot_variable(_METRIC),
        Variable("command", "Command", f"{_METRIC}{selector()}", "command"),
    ),
    rows=(_NOW, _TRAFFIC, _LATENCY, _NOT_HANDLED),
)
"""The commands dashboard."""
