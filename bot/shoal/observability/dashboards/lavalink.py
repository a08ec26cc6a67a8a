"""The Lavalink dashboard: the music nodes the operator runs and polls.

Owns "Shoal / Lavalink": nodes planned against ready, and per node whether it answers,
its players, its load-balancing penalty, system load and audio frame problems. Every
series comes from the operator (it polls each node's ``GET /v4/stats``); up to two operator
replicas may be scraped, so each gauge is the max over them.
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
from shoal.observability.dashboards.panels import Query, bar_gauge, stat, timeseries

__all__ = ["LAVALINK"]

_S: Final = selector()
_NODE_S: Final = selector('node=~"$node"')
_BY_BOT: Final = "max by (namespace, bot)"
_BY_NODE: Final = "max by (namespace, bot, node)"
_LEGEND: Final = "{{bot}} {{node}}"

_NODES: Final = Row(
    "Nodes",
    (
        stat(
            "Nodes planned",
            "Lavalink nodes the operator plans for the chosen bots.",
            Query(f"sum({_BY_BOT} (shoal_operator_lavalink_nodes{_S}))"),
            width=6,
        ),
        stat(
            "Nodes ready",
            "Lavalink nodes ready.",
            Query(f"sum({_BY_BOT} (shoal_operator_lavalink_nodes_ready{_S}))"),
            width=6,
        ),
        stat(
            "Nodes answering",
            "Chosen nodes that answered GET /v4/stats on the operator's last pass.",
            Query(f"sum({_BY_NODE} (shoal_operator_lavalink_node_up{_NODE_S}))"),
            width=6,
        ),
        stat(
            "Players",
            "Players connected to the chosen nodes.",
            Query(f"sum({_BY_NODE} (shoal_operator_lavalink_players{_NODE_S}))"),
            width=6,
        ),
        timeseries(
            "Nodes planned vs ready",
            "Lavalink nodes planned and ready per bot: a gap that lasts means nodes fail to start.",
            Query(f"{_BY_BOT} (shoal_operator_lavalink_nodes{_S})", "{{bot}} planned"),
            Query(f"{_BY_BOT} (shoal_operator_lavalink_nodes_ready{_S})", "{{bot}} ready"),
        ),
        timeseries(
            "Node up",
            "1 when the node answered GET /v4/stats on the operator's last pass, else 0.",
            Query(f"{_BY_NODE} (shoal_operator_lavalink_node_up{_NODE_S})", _LEGEND),
            max_value=1,
        ),
    ),
)

_LOAD: Final = Row(
    "Load",
    (
        timeseries(
            "Players per node",
            "Players connected to each node.",
            Query(f"{_BY_NODE} (shoal_operator_lavalink_players{_NODE_S})", _LEGEND),
        ),
        timeseries(
            "Playing players per node",
            "Players playing a track on each node.",
            Query(f"{_BY_NODE} (shoal_operator_lavalink_playing_players{_NODE_S})", _LEGEND),
        ),
        bar_gauge(
            "Penalty per node",
            "Each node's load-balancing penalty (lavalink.py's formula); the node with the "
            "lowest gets new players.",
            Query(f"{_BY_NODE} (shoal_operator_lavalink_penalty{_NODE_S})", _LEGEND),
        ),
        timeseries(
            "System load per node",
            "The node's system CPU load (0 to 1).",
            Query(f"{_BY_NODE} (shoal_operator_lavalink_system_load{_NODE_S})", _LEGEND),
            unit="percentunit",
            max_value=1,
        ),
        timeseries(
            "Frame deficit per node",
            "Audio frames missing per minute on each node: listeners hear a stuttering stream.",
            Query(f"{_BY_NODE} (shoal_operator_lavalink_frames_deficit{_NODE_S})", _LEGEND),
        ),
        timeseries(
            "Frames nulled per node",
            "Audio frames nulled per minute on each node (silence sent instead of audio).",
            Query(f"{_BY_NODE} (shoal_operator_lavalink_frames_nulled{_NODE_S})", _LEGEND),
        ),
    ),
)

_METRIC: Final = "shoal_operator_lavalink_nodes"

LAVALINK: Final = Dashboard(
    uid="shoal-lavalink",
    title="Shoal / Lavalink",
    description="The Lavalink nodes of each bot: readiness, players, penalties, audio health.",
    variables=(
        namespace_variable(_METRIC),
        bot_variable(_METRIC),
        Variable("node", "Node", f"shoal_operator_lavalink_node_up{_S}", "node"),
    ),
    rows=(_NODES, _LOAD),
)
"""The Lavalink dashboard."""
