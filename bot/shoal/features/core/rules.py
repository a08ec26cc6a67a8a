"""What the core commands say, as pure functions of the measured facts."""

from __future__ import annotations

import math

__all__ = ["format_latency", "ping_text", "shard_text"]


def format_latency(latency_s: float) -> str:
    """Return ``latency_s`` in whole milliseconds, or ``n/a`` when not measured yet."""
    if not math.isfinite(latency_s) or latency_s < 0:
        return "n/a"
    return f"{round(latency_s * 1000)} ms"


def ping_text(*, gateway_latency_s: float, rest_latency_s: float | None) -> str:
    """Return ``/ping``'s answer: the gateway heartbeat and a REST round trip.

    ``None`` for the REST round trip means it is being measured (the first answer).
    """
    gateway = format_latency(gateway_latency_s)
    if rest_latency_s is None:
        return f"Pong! Gateway heartbeat: {gateway}, REST round trip: measuring..."
    return f"Pong! Gateway heartbeat: {gateway}, REST round trip: {format_latency(rest_latency_s)}."


def shard_text(
    *, shard_id: int, shard_count: int, pod_name: str, generation: int, is_dm: bool
) -> str:
    """Return ``/shard``'s answer: where this guild (or DM) is served from."""
    place = "Direct messages are" if is_dm else "This server is"
    return (
        f"{place} on shard {shard_id} of {shard_count}, "
        f"served by pod {pod_name} (generation {generation})."
    )
