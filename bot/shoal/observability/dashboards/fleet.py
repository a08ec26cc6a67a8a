"""The fleet overview: is the bot up, how big is it, how busy is its gateway.

Owns the "Shoal / Fleet overview" dashboard: shards by state, guilds, events per second,
identifies against resumes and the session-start budget, and whether the workers reach
Redis and PostgreSQL, for the chosen bots. Per-shard
detail is on the shard dashboard, commands on the commands dashboard.
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
from shoal.observability.dashboards.panels import GOOD_BELOW_ONE, Query, stat, timeseries

__all__ = ["FLEET"]

_S: Final = selector()
_READY: Final = selector('shoal_shard_state="ready"')
_NOT_READY: Final = selector('shoal_shard_state!="ready"')
_RATE: Final = "[$__rate_interval]"
#: Worker targets only: Lavalink pods may carry a bot label too, but no generation.
_WORKERS: Final = selector('generation!=""')
#: Low is bad: red under 20 % of the session-start budget left, orange under 50 %.
_BUDGET_STEPS: Final = ((None, "red"), (0.2, "orange"), (0.5, "green"))

_NOW: Final = Row(
    "Now",
    (
        stat(
            "Shards ready",
            "Shards of every generation whose state is READY (both generations count "
            "during a blue/green reshard).",
            Query(f"sum(shoal_shard_state{_READY})"),
        ),
        stat(
            "Shards not ready",
            "Shards connecting, resuming, disconnected or stopped: they process no events.",
            Query(f"sum(shoal_shard_state{_NOT_READY})"),
            thresholds=GOOD_BELOW_ONE,
        ),
        stat(
            "Shards desired",
            "Shards the operator's plan asks for (from GET /gateway/bot and the guild count).",
            Query(f"sum(max by (namespace, bot) (shoal_operator_desired_shards{_S}))"),
        ),
        stat(
            "Guilds",
            "Guilds on the shards, counted once per bot (the larger generation during a "
            "reshard, when two generations hold the same guilds).",
            Query(
                "sum(max by (namespace, bot) "
                f"(sum by (namespace, bot, generation) (shoal_shard_guilds{_S})))"
            ),
        ),
        stat(
            "Events/s",
            "Gateway dispatches received per second by every worker.",
            Query(f"sum(rate(shoal_gateway_events_total{_S}{_RATE}))"),
            unit="ops",
        ),
        stat(
            "Session starts left",
            "Share of Discord's session-start budget (IDENTIFYs per reset period) still "
            "left; when it runs out, shards cannot identify until the reset.",
            Query(
                f"min(max by (namespace, bot) (shoal_operator_session_starts_remaining{_S})"
                f" / max by (namespace, bot) (shoal_operator_session_starts_total{_S}))"
            ),
            unit="percentunit",
            max_value=1,
            thresholds=_BUDGET_STEPS,
        ),
    ),
)

_SHARDS: Final = Row(
    "Shards",
    (
        timeseries(
            "Shards by state",
            "Shards in each state, stacked: the stack is every shard the workers run.",
            Query(
                f"sum by (shoal_shard_state) (shoal_shard_state{_S})",
                "{{shoal_shard_state}}",
            ),
            is_stacked=True,
        ),
        timeseries(
            "Guilds per bot",
            "Guilds on the shards per bot and generation, and the operator's total from "
            "the shard registry.",
            Query(
                f"sum by (namespace, bot, generation) (shoal_shard_guilds{_S})",
                "{{bot}} generation {{generation}}",
            ),
            Query(
                f"max by (namespace, bot) (shoal_operator_guilds{_S})",
                "{{bot}} (operator)",
            ),
        ),
        timeseries(
            "Worker pods up",
            "Worker pods Prometheus scrapes successfully, by bot and generation.",
            Query(
                f"sum by (namespace, bot, generation) (up{_WORKERS})",
                "{{bot}} generation {{generation}}",
            ),
            unit="short",
        ),
        timeseries(
            "Session start budget",
            "Session starts (IDENTIFYs) Discord still allows before the budget resets, "
            "and the budget per reset period.",
            Query(
                f"max by (namespace, bot) (shoal_operator_session_starts_remaining{_S})",
                "{{bot}} remaining",
            ),
            Query(
                f"max by (namespace, bot) (shoal_operator_session_starts_total{_S})",
                "{{bot}} per period",
            ),
        ),
    ),
)

_GATEWAY: Final = Row(
    "Gateway",
    (
        timeseries(
            "Events/s by type",
            "Gateway dispatches received per second, by event type (GUILD_CREATE, "
            "MESSAGE_CREATE, INTERACTION_CREATE, ...).",
            Query(f"sum by (type) (rate(shoal_gateway_events_total{_S}{_RATE}))", "{{type}}"),
            unit="ops",
            is_stacked=True,
        ),
        timeseries(
            "Identifies vs resumes",
            "New sessions (IDENTIFY, spends the session-start budget) against resumed ones "
            "(RESUME, free). Many identifies mean sessions are lost instead of resumed.",
            Query(f"sum(rate(shoal_gateway_identifies_total{_S}{_RATE}))", "identifies"),
            Query(f"sum(rate(shoal_gateway_resumes_total{_S}{_RATE}))", "resumes"),
            unit="ops",
        ),
        timeseries(
            "Gateway closes by code",
            "Gateway connections closed per second, by close code (1000/1001 normal, "
            "4000-4014 Discord's codes; 4004 and 4014 are fatal).",
            Query(
                f"sum by (code) (rate(shoal_gateway_closes_total{_S}{_RATE}))",
                "{{code}}",
            ),
            unit="ops",
        ),
    ),
)

_DEPENDENCIES: Final = Row(
    "Dependencies",
    (
        stat(
            "Pods without Redis or PostgreSQL",
            "Worker pods whose last probe or request could not reach a dependency: they "
            "go on degraded (see the runbook of ShoalDependencyDown).",
            Query(f"count(shoal_dependency_up{_S} == 0) or vector(0)"),
            thresholds=GOOD_BELOW_ONE,
            width=6,
        ),
        timeseries(
            "Dependency up, by dependency",
            "The lowest shoal_dependency_up over the chosen workers: 1 when every pod "
            "reaches it, 0 when at least one cannot.",
            Query(f"min by (dependency) (shoal_dependency_up{_S})", "{{dependency}}"),
            unit="short",
            max_value=1,
            width=9,
        ),
        timeseries(
            "Requests served without a dependency",
            "Requests per second served degraded while a dependency was unreachable, by "
            "dependency and operation (claim: answered by the last active generation "
            "without a claim; rate_limit and rest_limit: not counted against a limit).",
            Query(
                "sum by (dependency, operation) "
                f"(rate(shoal_dependency_degraded_total{_S}{_RATE}))",
                "{{dependency}} {{operation}}",
            ),
            unit="ops",
            width=9,
        ),
    ),
)

FLEET: Final = Dashboard(
    uid="shoal-fleet",
    title="Shoal / Fleet overview",
    description="The whole fleet of each bot: shards, guilds, gateway traffic, session budget.",
    variables=(
        namespace_variable("shoal_shard_state"),
        bot_variable("shoal_shard_state"),
    ),
    rows=(_NOW, _SHARDS, _GATEWAY, _DEPENDENCIES),
)
"""The fleet overview dashboard."""
