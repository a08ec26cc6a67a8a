"""The text of ``shoal status``: the shard registry as a table, generation by generation.

Pure: takes registry rows (plain values) and returns text. An entry its worker stopped
rewriting shows as ``stale (ready 7 s ago)`` and is not counted as ready (the rule is
:mod:`shoal.planning.registry_staleness`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from shoal.planning.registry_staleness import is_counted_ready, is_stale, shown_state

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ShardRow", "render_status"]

_STATE_WIDTH: Final = 12  # "disconnected"; a stale state widens the column


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
        ready = sum(1 for r in shards if is_counted_ready(r.state, r.age_s))
        states = [shown_state(r.state, r.age_s) for r in shards]
        width = max(_STATE_WIDTH, *(len(state) + 1 for state in states))
        stale = sum(1 for r in shards if is_stale(r.age_s))
        marker = " (active)" if generation == active_generation else ""
        stale_note = f" ({stale} stale)" if stale else ""
        lines.append(
            f"generation {generation}{marker}: {ready}/{shards[0].shard_count} shards ready"
            f"{stale_note}, "
            f"{sum(r.guild_count for r in shards)} guilds, {len({r.pod for r in shards})} pods"
        )
        lines.append(
            f"  {'shard':>5}  {'state':<{width}}{'guilds':>8}{'latency':>10}  {'pod':<24}{'age':>6}"
        )
        for r, state in zip(shards, states, strict=True):
            latency = "-" if r.latency_ms is None else f"{r.latency_ms:.0f} ms"
            lines.append(
                f"  {r.shard_id:>5}  {state:<{width}}{r.guild_count:>8}{latency:>10}  "
                f"{r.pod:<24}{r.age_s:>5.0f}s"
            )
    return "\n".join(lines) + "\n"
