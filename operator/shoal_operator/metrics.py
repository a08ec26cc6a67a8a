"""The operator's own Prometheus metrics, all named ``shoal_operator_*``.

Owns names, labels and units; the reconcile loop records them and ``running`` serves
them on ``/metrics``. One registry per :class:`OperatorMetrics`, so tests that run an
operator in-process never collide in prometheus-client's global registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shoal.planning.audio_nodes import LavalinkNodeStats, lavalink_penalty

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shoal_operator.lavalink_stats import NodePoll

__all__ = ["OperatorMetrics"]

#: A pass reads Secrets, Discord, Redis and writes a few objects: tens of ms to seconds.
_RECONCILE_BUCKETS_S: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class OperatorMetrics:
    """Reconciles, shard counts, guilds, reshards and Lavalink nodes per DiscordBot."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Register every metric in ``registry`` (a new one when None)."""
        self.registry = registry or CollectorRegistry()
        self._degraded_reasons: dict[tuple[str, str], str] = {}
        self._lavalink_nodes: dict[tuple[str, str], set[str]] = {}
        bot = ("namespace", "bot")
        self.reconcile_seconds = Histogram(
            "shoal_operator_reconcile_seconds",
            "Time one reconcile pass of a DiscordBot took.",
            bot,
            buckets=_RECONCILE_BUCKETS_S,
            registry=self.registry,
        )
        self.reconcile_errors = Counter(
            "shoal_operator_reconcile_errors",
            "Reconcile passes that failed and will be retried, by exception type.",
            (*bot, "error"),
            registry=self.registry,
        )
        self.desired_shards = Gauge(
            "shoal_operator_desired_shards",
            "Shards the plan asks for.",
            bot,
            registry=self.registry,
        )
        self.current_shards = Gauge(
            "shoal_operator_current_shards",
            "Shards of the active generation.",
            bot,
            registry=self.registry,
        )
        self.ready_shards = Gauge(
            "shoal_operator_ready_shards",
            "Shards of the active generation READY in the registry.",
            bot,
            registry=self.registry,
        )
        self.guilds = Gauge(
            "shoal_operator_guilds",
            "The bot's guild total from the shard registry.",
            bot,
            registry=self.registry,
        )
        self.session_starts_remaining = Gauge(
            "shoal_operator_session_starts_remaining",
            "Session starts Discord still allows before the budget resets.",
            bot,
            registry=self.registry,
        )
        self.session_starts_total = Gauge(
            "shoal_operator_session_starts_total",
            "Session starts Discord allows per reset period.",
            bot,
            registry=self.registry,
        )
        self.active_generation = Gauge(
            "shoal_operator_active_generation",
            "The generation whose workers process events.",
            bot,
            registry=self.registry,
        )
        self.resharding = Gauge(
            "shoal_operator_resharding",
            "1 while a blue/green reshard runs, else 0.",
            bot,
            registry=self.registry,
        )
        self.reshard_started_timestamp = Gauge(
            "shoal_operator_reshard_started_timestamp_seconds",
            "Unix time the running reshard began (0 when none runs).",
            bot,
            registry=self.registry,
        )
        self.reshards = Counter(
            "shoal_operator_reshards",
            "Reshard steps by outcome (started, completed, aborted).",
            (*bot, "outcome"),
            registry=self.registry,
        )
        self.orphaned_generations_removed = Counter(
            "shoal_operator_orphaned_generations_removed",
            "Shard generations removed because no reshard state kept them (left by a crash).",
            bot,
            registry=self.registry,
        )
        self.degraded = Gauge(
            "shoal_operator_degraded",
            "1 when the DiscordBot's Degraded condition is True, by reason.",
            (*bot, "reason"),
            registry=self.registry,
        )
        self.lavalink_nodes = Gauge(
            "shoal_operator_lavalink_nodes",
            "Lavalink nodes planned.",
            bot,
            registry=self.registry,
        )
        self.lavalink_nodes_ready = Gauge(
            "shoal_operator_lavalink_nodes_ready",
            "Lavalink nodes ready.",
            bot,
            registry=self.registry,
        )

        node = (*bot, "node")
        # Per Lavalink node, from its GET /v4/stats (polled by the reconcile pass).
        self.lavalink_node_up = Gauge(
            "shoal_operator_lavalink_node_up",
            "1 when the Lavalink node answered GET /v4/stats on the last pass, else 0.",
            node,
            registry=self.registry,
        )
        self.lavalink_players = Gauge(
            "shoal_operator_lavalink_players",
            "Players connected to the Lavalink node.",
            node,
            registry=self.registry,
        )
        self.lavalink_playing_players = Gauge(
            "shoal_operator_lavalink_playing_players",
            "Players playing a track on the Lavalink node.",
            node,
            registry=self.registry,
        )
        self.lavalink_system_load = Gauge(
            "shoal_operator_lavalink_system_load",
            "The Lavalink node's system CPU load (0 to 1).",
            node,
            registry=self.registry,
        )
        self.lavalink_frames_deficit = Gauge(
            "shoal_operator_lavalink_frames_deficit",
            "Audio frames missing per minute on the Lavalink node (a stuttering stream).",
            node,
            registry=self.registry,
        )
        self.lavalink_frames_nulled = Gauge(
            "shoal_operator_lavalink_frames_nulled",
            "Audio frames nulled per minute on the Lavalink node.",
            node,
            registry=self.registry,
        )
        self.lavalink_penalty = Gauge(
            "shoal_operator_lavalink_penalty",
            "The node's load-balancing penalty (lavalink.py's formula; lowest gets new players).",
            node,
            registry=self.registry,
        )

    def record_status(self, namespace: str, bot: str, status: dict[str, object]) -> None:
        """Set the gauges from a reconciled ``status``."""
        labels = (namespace, bot)

        def number(key: str) -> float:
            value = status.get(key)
            return float(value) if isinstance(value, int | float) else 0.0

        self.desired_shards.labels(*labels).set(number("desiredShards"))
        self.current_shards.labels(*labels).set(number("currentShards"))
        self.ready_shards.labels(*labels).set(number("readyShards"))
        self.guilds.labels(*labels).set(number("guilds"))
        self.session_starts_remaining.labels(*labels).set(number("sessionStartsRemaining"))
        self.session_starts_total.labels(*labels).set(number("sessionStartsTotal"))
        self.active_generation.labels(*labels).set(number("activeGeneration"))
        self.lavalink_nodes.labels(*labels).set(number("lavalinkNodes"))
        self.lavalink_nodes_ready.labels(*labels).set(number("lavalinkNodesReady"))
        reshard = status.get("reshard")
        started = reshard.get("startedAt") if isinstance(reshard, dict) else None
        self.resharding.labels(*labels).set(1.0 if started else 0.0)
        self.reshard_started_timestamp.labels(*labels).set(
            float(started) if isinstance(started, int | float) else 0.0
        )
        conditions = status.get("conditions")
        for condition in conditions if isinstance(conditions, list) else []:
            if isinstance(condition, dict) and condition.get("type") == "Degraded":
                reason = str(condition.get("reason"))
                previous = self._degraded_reasons.get(labels)
                if previous is not None and previous != reason:
                    self.degraded.remove(*labels, previous)  # one series per bot: the reason now
                self._degraded_reasons[labels] = reason
                is_true = condition.get("status") == "True"
                self.degraded.labels(*labels, reason).set(1.0 if is_true else 0.0)

    def record_lavalink_nodes(
        self, namespace: str, bot: str, polls: Mapping[str, NodePoll]
    ) -> None:
        """Set the per-node gauges from one pass's ``GET /v4/stats`` answers, by node name.

        A node that is down keeps only ``lavalink_node_up`` (0): its last numbers would be
        stale. A node missing from ``polls`` (scaled away, or Lavalink turned off) loses
        every series, and frame gauges exist only while the node reports frame stats.
        """
        labels = (namespace, bot)
        known = self._lavalink_nodes.setdefault(labels, set())
        for gone in known - polls.keys():
            self._drop_node(labels, gone, everything=True)
        known.clear()
        known.update(polls)
        for node, poll in polls.items():
            if not isinstance(poll, LavalinkNodeStats):
                self.lavalink_node_up.labels(*labels, node).set(0.0)
                self._drop_node(labels, node, everything=False)
                continue
            self.lavalink_node_up.labels(*labels, node).set(1.0)
            self.lavalink_players.labels(*labels, node).set(poll.players)
            self.lavalink_playing_players.labels(*labels, node).set(poll.playing_players)
            self.lavalink_system_load.labels(*labels, node).set(poll.system_load)
            self.lavalink_penalty.labels(*labels, node).set(lavalink_penalty(poll))
            if poll.frames_nulled is None or poll.frames_deficit is None:
                for gauge in (self.lavalink_frames_nulled, self.lavalink_frames_deficit):
                    _remove(gauge, *labels, node)
            else:
                self.lavalink_frames_nulled.labels(*labels, node).set(poll.frames_nulled)
                self.lavalink_frames_deficit.labels(*labels, node).set(poll.frames_deficit)
        if not known:
            del self._lavalink_nodes[labels]

    def _drop_node(self, labels: tuple[str, str], node: str, *, everything: bool) -> None:
        """Remove a node's series: all of them, or all but ``lavalink_node_up``."""
        gauges = [
            self.lavalink_players,
            self.lavalink_playing_players,
            self.lavalink_system_load,
            self.lavalink_frames_deficit,
            self.lavalink_frames_nulled,
            self.lavalink_penalty,
        ]
        if everything:
            gauges.append(self.lavalink_node_up)
        for gauge in gauges:
            _remove(gauge, *labels, node)

    def forget(self, namespace: str, bot: str) -> None:
        """Drop a deleted DiscordBot's series: gauges, the histogram and the counters."""
        for metric in (
            self.reconcile_seconds,
            self.desired_shards,
            self.current_shards,
            self.ready_shards,
            self.guilds,
            self.session_starts_remaining,
            self.session_starts_total,
            self.active_generation,
            self.resharding,
            self.reshard_started_timestamp,
            self.lavalink_nodes,
            self.lavalink_nodes_ready,
            self.orphaned_generations_removed,
        ):
            try:
                metric.remove(namespace, bot)
            except KeyError:
                continue
        for counter, label in ((self.reconcile_errors, "error"), (self.reshards, "outcome")):
            for value in _label_values(counter, namespace, bot, label):
                counter.remove(namespace, bot, value)
        reason = self._degraded_reasons.pop((namespace, bot), None)
        if reason is not None:
            self.degraded.remove(namespace, bot, reason)
        for node in self._lavalink_nodes.pop((namespace, bot), set()):
            self._drop_node((namespace, bot), node, everything=True)


def _remove(gauge: Gauge, *labels: str) -> None:
    """Remove one series of ``gauge``; nothing when it was never set."""
    try:
        gauge.remove(*labels)
    except KeyError:
        return


def _label_values(counter: Counter, namespace: str, bot: str, label: str) -> set[str]:
    """Return the values of ``label`` in ``counter``'s series of ``bot`` in ``namespace``."""
    return {
        sample.labels[label]
        for family in counter.collect()
        for sample in family.samples
        if sample.labels.get("namespace") == namespace and sample.labels.get("bot") == bot
    }
