"""Every Prometheus metric of a worker, in one registry, all named ``shoal_*``.

Owns the metric names, labels and units, and rendering them in the text format for
``/metrics``. Does not own when they change: the gateway records shard state, latency,
guilds, events, identifies, resumes, closes and REST requests; the command middleware
records commands. Each :class:`Metrics` has its own registry, so tests (and two clients in
one process) never collide in prometheus-client's global one.
"""

from __future__ import annotations

import enum
import math
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

from shoal.observability.shard_status import ShardStatus

__all__ = ["NAMESPACE", "CommandOutcome", "Metrics"]

NAMESPACE: Final = "shoal"

#: From a cached reply (a few ms) to a deferred command finishing within the 15 min an
#: interaction token lives.
_COMMAND_BUCKETS_S: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.0,
    3.0,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
)


class CommandOutcome(enum.StrEnum):
    """Values of the ``outcome`` label of ``shoal_commands_total``."""

    OK = "ok"
    """The handler finished without raising."""
    ERROR = "error"
    """The handler raised; the user got an error reply with a reference."""
    RATE_LIMITED = "rate_limited"
    """Refused by a rate limit; the user got a polite ephemeral reply."""
    CLAIMED_ELSEWHERE = "claimed_elsewhere"
    """Another worker (another generation) claimed the interaction first; nothing sent."""
    UNANSWERED = "unanswered"
    """The handler returned without replying; the middleware answered for it."""
    EXPIRED = "expired"
    """The handler's first reply came after Discord's 3 s window; the user saw nothing."""
    DISABLED = "disabled"
    """The command's module is switched off in the guild; the user got a polite note."""


class Metrics:
    """The worker's metrics; attributes are prometheus-client metrics to record into."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        """Create every metric in ``registry`` (a new one by default)."""
        self.registry: Final = registry or CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.shard_state: Final = Enum(
            "shard_state",
            "Current state of each local shard.",
            ["shard"],
            namespace=NAMESPACE,
            states=[state.value for state in ShardStatus],
            registry=reg,
        )
        self.shard_latency_seconds: Final = Gauge(
            "shard_heartbeat_latency_seconds",
            "Gateway heartbeat round trip of each local shard (NaN before the first ACK).",
            ["shard"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.shard_guilds: Final = Gauge(
            "shard_guilds",
            "Guilds on each local shard.",
            ["shard"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.gateway_events: Final = Counter(
            "gateway_events",
            "Gateway dispatches received, by event type.",
            ["type"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.identifies: Final = Counter(
            "gateway_identifies",
            "IDENTIFYs sent, by shard.",
            ["shard"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.resumes: Final = Counter(
            "gateway_resumes",
            "RESUMEs sent, by shard.",
            ["shard"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.closes: Final = Counter(
            "gateway_closes",
            "Gateway connections closed, by shard and close code.",
            ["shard", "code"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.commands: Final = Counter(
            "commands",
            "Application commands handled, by command and outcome.",
            ["command", "outcome"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.command_duration_seconds: Final = Histogram(
            "command_duration_seconds",
            "Time from receiving a command to its handler finishing.",
            ["command"],
            namespace=NAMESPACE,
            buckets=_COMMAND_BUCKETS_S,
            registry=reg,
        )
        self.interactions_unanswered: Final = Counter(
            "interactions_unanswered",
            "Interactions the user got no reply to at all: every reply failed (token expired "
            "after Discord's 3 s, or Discord refused it), by command.",
            ["command"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.interactions_expired: Final = Counter(
            "interactions_expired",
            "Interactions dropped before any handler because Discord's 3 s window for the "
            "first response had passed when they arrived (a stalled worker, a RESUME "
            "replay), by interaction type.",
            ["type"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.interactions_unknown: Final = Counter(
            "interactions_unknown",
            "Interactions for a command (or component) this worker does not know, e.g. a "
            "stale command after a deploy; the user is told it is no longer available.",
            ["type"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.interactions_unclaimed: Final = Counter(
            "interactions_unclaimed",
            "Interactions that could not be claimed because Redis was unreachable, by "
            "decision: answered (this worker's generation was the last known active one) "
            "or left (another generation answers it).",
            ["decision"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.dependency_up: Final = Gauge(
            "dependency_up",
            "Whether a dependency (redis, postgres) answered its last probe or request: 1 "
            "up, 0 down.",
            ["dependency"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.dependency_degraded: Final = Counter(
            "dependency_degraded",
            "Requests served without a dependency while it was unreachable, by dependency "
            "and operation (claim, rate_limit, rest_limit, session_flush, ...).",
            ["dependency", "operation"],
            namespace=NAMESPACE,
            registry=reg,
        )
        self.rest_requests: Final = Counter(
            "rest_requests",
            "REST requests to Discord, by route template and HTTP status.",
            ["route", "status"],
            namespace=NAMESPACE,
            registry=reg,
        )
        # shoal_process_resident_memory_bytes, _cpu_seconds_total, _open_fds, ... (Linux).
        ProcessCollector(namespace=NAMESPACE, registry=reg)

    def record_shard(
        self, shard_id: int, *, status: ShardStatus, latency_s: float, guilds: int
    ) -> None:
        """Set one shard's state, heartbeat latency (NaN when unknown) and guild count."""
        shard = str(shard_id)
        self.shard_state.labels(shard).state(status.value)
        self.shard_latency_seconds.labels(shard).set(
            latency_s if math.isfinite(latency_s) else math.nan
        )
        self.shard_guilds.labels(shard).set(guilds)

    def record_command(
        self, command: str, outcome: CommandOutcome, duration_s: float | None
    ) -> None:
        """Count one command by outcome; observe its duration when it ran."""
        self.commands.labels(command, outcome.value).inc()
        if duration_s is not None:
            self.command_duration_seconds.labels(command).observe(duration_s)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """Return every metric and its ``Content-Type``, in the format ``accept`` asks for.

        Without an ``Accept`` header that is the Prometheus text format 0.0.4; a scraper
        asking for OpenMetrics gets it.
        """
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
