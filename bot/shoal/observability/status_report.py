"""The text of ``shoal status``: the shard registry as a table, generation by generation.

Pure: takes registry rows (plain values) and returns text.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ShardRow", "render_status"]


@dataclasses.dataclass(frozen=True, slots=True)
class ShardRow:
    """One shard as the registry describes it."""

    generation: int
    shard_id: int
    shard_count: int
    state: str
    guild_count: int
    latency_ms: float | None
    pod: str
    age_s: float
    """Seconds since the worker last wrote the entry."""


def render_status(rows: Sequence[ShardRow], *, active_generation: int | None) -> str:
    """Return the status report: a summary line per generation, then one line per shard."""
    if not rows:
        return "no shard is registered (no worker is running, or they cannot reach Redis)\n"
    lines: list[str] = []
    for generation in sorted({r.generation for r in rows}):
        shards = sorted((r for r in rows if r.generation == generation), key=lambda r: r.shard_id)
        ready = sum(1 for r in shards if r.state == "ready")
        marker = " (active)" if generation == active_generation else ""
        lines.append(
            f"generation {generation}{marker}: {ready}/{shards[0].shard_count} shards ready, "
            f"{sum(r.guild_count for r in shards)} guilds, {len({r.pod for r in shards})} pods"
        )
        lines.append(
            f"  {'shard':>5}  {'state':<12}{'guilds':>8}{'latency':>10}  {'pod':<24}{'age':>6}"
        )
        for r in shards:
            latency = "-" if r.latency_ms is None else f"{r.latency_ms:.0f} ms"
            lines.append(
                f"  {r.shard_id:>5}  {r.state:<12}{r.guild_count:>8}{latency:>10}  "
                f"{r.pod:<24}{r.age_s:>5.0f}s"
            )
    return "\n".join(lines) + "\n"
