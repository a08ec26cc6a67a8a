"""The operator's metrics: status gauges, Degraded by reason, Lavalink nodes, forgetting."""

from __future__ import annotations

from typing import Any, Final

from prometheus_client import CollectorRegistry

from shoal.planning.audio_nodes import LavalinkNodeStats, lavalink_penalty
from shoal_operator.lavalink_stats import NodeDown
from shoal_operator.metrics import OperatorMetrics

_BOT: Final = {"namespace": "bots", "bot": "mybot"}
_OTHER: Final = {"namespace": "bots", "bot": "other"}
_GAUGE_BY_STATUS: Final = {
    "desiredShards": "shoal_operator_desired_shards",
    "currentShards": "shoal_operator_current_shards",
    "readyShards": "shoal_operator_ready_shards",
    "guilds": "shoal_operator_guilds",
    "sessionStartsRemaining": "shoal_operator_session_starts_remaining",
    "sessionStartsTotal": "shoal_operator_session_starts_total",
    "activeGeneration": "shoal_operator_active_generation",
    "lavalinkNodes": "shoal_operator_lavalink_nodes",
    "lavalinkNodesReady": "shoal_operator_lavalink_nodes_ready",
}


def _degraded(reason: str, *, is_true: bool = True) -> dict[str, Any]:
    status = "True" if is_true else "False"
    return {"type": "Degraded", "status": status, "reason": reason, "message": reason}


def _status(**changes: object) -> dict[str, object]:
    status: dict[str, object] = {
        "desiredShards": 16,
        "currentShards": 12,
        "readyShards": 11,
        "guilds": 14_500,
        "sessionStartsRemaining": 990,
        "sessionStartsTotal": 1000,
        "activeGeneration": 3,
        "lavalinkNodes": 2,
        "lavalinkNodesReady": 1,
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "ShardsStarting", "message": "."},
            _degraded("Healthy", is_true=False),
        ],
    }
    return status | changes


_NODE_GAUGES: Final = (
    "shoal_operator_lavalink_node_up",
    "shoal_operator_lavalink_players",
    "shoal_operator_lavalink_playing_players",
    "shoal_operator_lavalink_system_load",
    "shoal_operator_lavalink_frames_deficit",
    "shoal_operator_lavalink_frames_nulled",
    "shoal_operator_lavalink_penalty",
)
_BUSY: Final = LavalinkNodeStats(
    players=5,
    playing_players=4,
    system_load=0.5,
    frames_sent=2400,
    frames_nulled=30,
    frames_deficit=12,
)
_IDLE: Final = LavalinkNodeStats(
    players=0,
    playing_players=0,
    system_load=0.1,
    frames_sent=None,
    frames_nulled=None,
    frames_deficit=None,
)


def _node_series(metrics: OperatorMetrics, node: str, bot: str = "mybot") -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.labels.get("node") == node and sample.labels.get("bot") == bot
    }


def _value(metrics: OperatorMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels or _BOT)


def _series_of(metrics: OperatorMetrics, labels: dict[str, str]) -> list[str]:
    return [
        sample.name
        for family in metrics.registry.collect()
        for sample in family.samples
        if all(sample.labels.get(key) == value for key, value in labels.items())
    ]


def test_record_status_sets_each_gauge_when_the_status_has_its_field() -> None:
    metrics = OperatorMetrics()
    status = _status()
    metrics.record_status("bots", "mybot", status)
    for field, name in _GAUGE_BY_STATUS.items():
        assert _value(metrics, name) == status[field], name
    assert _value(metrics, "shoal_operator_resharding") == 0.0
    assert _value(metrics, "shoal_operator_reshard_started_timestamp_seconds") == 0.0


def test_record_status_sets_zero_when_fields_are_missing_or_not_numbers() -> None:
    metrics = OperatorMetrics()
    metrics.record_status("bots", "mybot", {"desiredShards": "16", "guilds": None})
    for name in _GAUGE_BY_STATUS.values():
        assert _value(metrics, name) == 0.0, name


def test_record_status_marks_a_reshard_when_one_has_started() -> None:
    metrics = OperatorMetrics()
    metrics.record_status("bots", "mybot", _status(reshard={"startedAt": 1_700_000_000}))
    assert _value(metrics, "shoal_operator_resharding") == 1.0
    assert _value(metrics, "shoal_operator_reshard_started_timestamp_seconds") == 1_700_000_000
    metrics.record_status("bots", "mybot", _status(reshard={}))
    assert _value(metrics, "shoal_operator_resharding") == 0.0
    assert _value(metrics, "shoal_operator_reshard_started_timestamp_seconds") == 0.0


def test_record_status_sets_degraded_by_reason_when_the_condition_is_true() -> None:
    metrics = OperatorMetrics()
    metrics.record_status("bots", "mybot", _status(conditions=[_degraded("TokenRejected")]))
    labels = _BOT | {"reason": "TokenRejected"}
    assert metrics.registry.get_sample_value("shoal_operator_degraded", labels) == 1.0


def test_record_status_keeps_one_degraded_series_when_the_reason_changes() -> None:
    metrics = OperatorMetrics()
    for reason in ("TokenRejected", "RedisUnavailable", "RedisUnavailable"):
        metrics.record_status("bots", "mybot", _status(conditions=[_degraded(reason)]))
    series = {
        sample.labels["reason"]: sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "shoal_operator_degraded" and sample.labels["bot"] == "mybot"
    }
    assert series == {"RedisUnavailable": 1.0}
    metrics.record_status("bots", "mybot", _status())
    labels = _BOT | {"reason": "Healthy"}
    assert metrics.registry.get_sample_value("shoal_operator_degraded", labels) == 0.0
    old = _BOT | {"reason": "RedisUnavailable"}
    assert metrics.registry.get_sample_value("shoal_operator_degraded", old) is None


def test_record_status_leaves_other_bots_when_a_bots_reason_changes() -> None:
    metrics = OperatorMetrics()
    metrics.record_status("bots", "other", _status(conditions=[_degraded("TokenRejected")]))
    metrics.record_status("bots", "mybot", _status(conditions=[_degraded("TokenRejected")]))
    metrics.record_status("bots", "mybot", _status())
    other = _OTHER | {"reason": "TokenRejected"}
    assert metrics.registry.get_sample_value("shoal_operator_degraded", other) == 1.0


def test_forget_removes_every_series_of_the_bot_when_it_is_deleted() -> None:
    metrics = OperatorMetrics()
    for bot in ("mybot", "other"):
        metrics.record_status("bots", bot, _status(conditions=[_degraded("TokenRejected")]))
        metrics.reconcile_seconds.labels("bots", bot).observe(0.2)
        metrics.reconcile_errors.labels("bots", bot, "KubeError").inc()
        metrics.reshards.labels("bots", bot, "started").inc()
        metrics.orphaned_generations_removed.labels("bots", bot).inc()
    assert _series_of(metrics, _BOT)
    metrics.forget("bots", "mybot")
    assert _series_of(metrics, _BOT) == []
    assert _value(metrics, "shoal_operator_desired_shards", **_OTHER) == 16
    assert _value(metrics, "shoal_operator_reconcile_seconds_count", **_OTHER) == 1
    assert _value(metrics, "shoal_operator_reconcile_errors_total", **_OTHER, error="KubeError")
    assert _value(metrics, "shoal_operator_reshards_total", **_OTHER, outcome="started")
    assert _value(metrics, "shoal_operator_orphaned_generations_removed_total", **_OTHER) == 1
    degraded = _OTHER | {"reason": "TokenRejected"}
    assert metrics.registry.get_sample_value("shoal_operator_degraded", degraded) == 1.0


def test_forget_does_nothing_when_the_bot_was_never_recorded() -> None:
    metrics = OperatorMetrics()
    metrics.forget("bots", "ghost")
    assert _series_of(metrics, {"bot": "ghost"}) == []


def test_record_status_starts_afresh_when_a_forgotten_bot_returns() -> None:
    metrics = OperatorMetrics()
    metrics.record_status("bots", "mybot", _status(conditions=[_degraded("TokenRejected")]))
    metrics.forget("bots", "mybot")
    metrics.record_status("bots", "mybot", _status(conditions=[_degraded("InvalidSpec")]))
    labels = _BOT | {"reason": "InvalidSpec"}
    assert metrics.registry.get_sample_value("shoal_operator_degraded", labels) == 1.0


def test_record_lavalink_nodes_sets_every_node_gauge_when_the_node_answered() -> None:
    metrics = OperatorMetrics()
    metrics.record_lavalink_nodes("bots", "mybot", {"mybot-lavalink-0": _BUSY})
    assert _node_series(metrics, "mybot-lavalink-0") == {
        "shoal_operator_lavalink_node_up": 1.0,
        "shoal_operator_lavalink_players": 5.0,
        "shoal_operator_lavalink_playing_players": 4.0,
        "shoal_operator_lavalink_system_load": 0.5,
        "shoal_operator_lavalink_frames_deficit": 12.0,
        "shoal_operator_lavalink_frames_nulled": 30.0,
        "shoal_operator_lavalink_penalty": lavalink_penalty(_BUSY),
    }


def test_record_lavalink_nodes_leaves_out_frame_gauges_when_the_node_has_no_frame_stats() -> None:
    metrics = OperatorMetrics()
    metrics.record_lavalink_nodes("bots", "mybot", {"mybot-lavalink-0": _BUSY})
    metrics.record_lavalink_nodes("bots", "mybot", {"mybot-lavalink-0": _IDLE})
    series = _node_series(metrics, "mybot-lavalink-0")
    assert "shoal_operator_lavalink_frames_nulled" not in series
    assert "shoal_operator_lavalink_frames_deficit" not in series
    assert series["shoal_operator_lavalink_penalty"] == lavalink_penalty(_IDLE)
    assert series["shoal_operator_lavalink_node_up"] == 1.0


def test_record_lavalink_nodes_keeps_only_node_up_at_zero_when_the_node_is_down() -> None:
    metrics = OperatorMetrics()
    metrics.record_lavalink_nodes("bots", "mybot", {"mybot-lavalink-0": _BUSY})
    metrics.record_lavalink_nodes("bots", "mybot", {"mybot-lavalink-0": NodeDown("timed out")})
    assert _node_series(metrics, "mybot-lavalink-0") == {"shoal_operator_lavalink_node_up": 0.0}


def test_record_lavalink_nodes_removes_a_nodes_series_when_the_node_is_gone() -> None:
    metrics = OperatorMetrics()
    nodes = {"mybot-lavalink-0": _BUSY, "mybot-lavalink-1": _IDLE}
    metrics.record_lavalink_nodes("bots", "mybot", nodes)
    metrics.record_lavalink_nodes("bots", "other", {"other-lavalink-0": _BUSY})
    metrics.record_lavalink_nodes("bots", "mybot", {"mybot-lavalink-0": _BUSY})
    assert _node_series(metrics, "mybot-lavalink-1") == {}
    assert len(_node_series(metrics, "mybot-lavalink-0")) == len(_NODE_GAUGES)
    metrics.record_lavalink_nodes("bots", "mybot", {})  # Lavalink turned off
    assert _node_series(metrics, "mybot-lavalink-0") == {}
    assert len(_node_series(metrics, "other-lavalink-0", bot="other")) == len(_NODE_GAUGES)


def test_forget_removes_the_lavalink_node_series_when_the_bot_is_deleted() -> None:
    metrics = OperatorMetrics()
    down = NodeDown("cannot connect")
    metrics.record_lavalink_nodes("bots", "mybot", {"mybot-lavalink-0": _BUSY, "n1": down})
    metrics.record_lavalink_nodes("bots", "other", {"other-lavalink-0": _BUSY})
    metrics.forget("bots", "mybot")
    assert _series_of(metrics, _BOT) == []
    assert len(_node_series(metrics, "other-lavalink-0", bot="other")) == len(_NODE_GAUGES)
    metrics.record_lavalink_nodes("bots", "mybot", {"mybot-lavalink-0": _IDLE})  # it returns
    assert _node_series(metrics, "mybot-lavalink-0")["shoal_operator_lavalink_node_up"] == 1.0


def test_operator_metrics_are_all_named_shoal_operator_when_registered() -> None:
    metrics = OperatorMetrics()
    names = [family.name for family in metrics.registry.collect()]
    assert len(names) == 23
    assert all(name.startswith("shoal_operator_") for name in names), names


def test_operator_metrics_use_the_given_registry_when_one_is_passed() -> None:
    registry = CollectorRegistry()
    metrics = OperatorMetrics(registry)
    assert metrics.registry is registry
    # A second instance gets its own registry: no duplicate-timeseries error.
    assert OperatorMetrics().registry is not registry
