"""Pure decisions of a local run: the fleet's layout, each worker's environment, load renewal.

The shard count comes from :func:`shoal.planning.sharding.plan_shard_count`, the function
the operator uses, so a local fleet is shaped like a deployed one. Owns only what is
particular to one machine: how many shards each worker process runs (a handful of
processes, each a whole number of identify buckets), the ``SHOAL_*`` variables a worker
starts with, and when the simulator's load generator needs a new run. No I/O.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Final

from shoal.planning.sharding import ShardPolicy, plan_shard_count
from shoal.planning.shards import ShardRange, pods_needed, shard_range_for_pod

__all__ = [
    "DEFAULT_SHARDS_PER_WORKER",
    "MAX_LOCAL_WORKERS",
    "FleetLayout",
    "FleetTargets",
    "choose_shards_per_worker",
    "generation_layout",
    "is_load_renewal_due",
    "plan_fleet",
    "worker_environment",
    "worker_name",
]

DEFAULT_SHARDS_PER_WORKER: Final = 4
"""Shards per worker process when that gives few enough processes."""
MAX_LOCAL_WORKERS: Final = 8
"""More processes than this only share the same few cores; give each more shards instead."""
_RENEWAL_LEAD_S: Final = 0.5  # renew the load this long before it ends: it never pauses


@dataclasses.dataclass(frozen=True, slots=True)
class FleetLayout:
    """How a local fleet's shards are spread over worker processes."""

    total_shards: int
    """The bot's shard count."""
    shards_per_worker: int
    """Shards each worker runs (the last may run fewer); ``SHOAL_SHARDS_PER_POD``."""
    max_concurrency: int
    """Identify buckets per window, from ``GET /gateway/bot``."""

    @property
    def workers(self) -> int:
        """How many worker processes run the shards."""
        return pods_needed(self.total_shards, self.shards_per_worker)

    def shard_range(self, ordinal: int) -> ShardRange:
        """Return the shards worker ``ordinal`` runs."""
        return shard_range_for_pod(self.total_shards, self.shards_per_worker, ordinal)


@dataclasses.dataclass(frozen=True, slots=True)
class FleetTargets:
    """Where every worker of a local fleet connects, and as which bot."""

    token: str = dataclasses.field(repr=False)
    """The bot token (never logged)."""
    rest_url: str
    """Discord's REST base URL, or the simulator's."""
    redis_url: str
    """The shared Redis."""
    postgres_dsn: str = dataclasses.field(repr=False)
    """The shared PostgreSQL (a given DSN may hold a password)."""
    bot_name: str
    """The bot's name: the namespace of its Redis keys."""
    identify_window_s: float | None = None
    """The simulator's identify window; None against Discord (the worker's default, 5 s)."""


def _round_up(value: int, multiple: int) -> int:
    return math.ceil(value / multiple) * multiple


def choose_shards_per_worker(
    total_shards: int,
    max_concurrency: int,
    *,
    preferred: int = DEFAULT_SHARDS_PER_WORKER,
    max_workers: int = MAX_LOCAL_WORKERS,
) -> int:
    """Return how many shards each local worker runs.

    ``preferred`` rounded up to a multiple of ``max_concurrency`` (so every worker holds
    whole identify buckets, like a pod), grown when that would need more than
    ``max_workers`` processes, and never more than ``total_shards``.

    Raises:
        ValueError: when a number is below 1.
    """
    if min(total_shards, max_concurrency, preferred, max_workers) < 1:
        msg = "total_shards, max_concurrency, preferred and max_workers must be at least 1"
        raise ValueError(msg)
    per_worker = _round_up(preferred, max_concurrency)
    if pods_needed(total_shards, per_worker) > max_workers:
        per_worker = _round_up(math.ceil(total_shards / max_workers), max_concurrency)
    return min(per_worker, total_shards)


def plan_fleet(
    guild_total: int,
    *,
    max_concurrency: int,
    recommended_shards: int | None,
    shards: int | None = None,
    shards_per_worker: int | None = None,
) -> FleetLayout:
    """Return the layout of a local fleet: shard count as the operator plans it, or as given.

    Args:
        guild_total: The bot's guilds (0 when unknown: Discord's recommendation decides).
        max_concurrency: Identify buckets per window.
        recommended_shards: ``shards`` from ``GET /gateway/bot``.
        shards: A shard count chosen by the person running the fleet, instead of the plan.
        shards_per_worker: Shards per process chosen by the person, instead of the default.

    Raises:
        ValueError: when a number is out of range (the message names it).
    """
    total = shards or plan_shard_count(
        guild_total,
        policy=ShardPolicy(),
        max_concurrency=max_concurrency,
        recommended=recommended_shards,
    )
    return generation_layout(total, max_concurrency, shards_per_worker=shards_per_worker)


def worker_name(generation: int, ordinal: int) -> str:
    """Return the pod name of worker ``ordinal`` of ``generation``.

    Generation 0 keeps the short ``local-<ordinal>`` of a fleet that never resharded; a
    later one is ``local-g<generation>-<ordinal>``, as its StatefulSet's pods are apart.
    """
    return f"local-{ordinal}" if generation == 0 else f"local-g{generation}-{ordinal}"


def generation_layout(
    total_shards: int, max_concurrency: int, *, shards_per_worker: int | None = None
) -> FleetLayout:
    """Return the layout of a generation of ``total_shards`` (as :func:`plan_fleet` spreads it).

    Raises:
        ValueError: when a number is below 1.
    """
    per_worker = shards_per_worker or choose_shards_per_worker(total_shards, max_concurrency)
    return FleetLayout(
        total_shards=total_shards, shards_per_worker=per_worker, max_concurrency=max_concurrency
    )


def worker_environment(
    layout: FleetLayout,
    ordinal: int,
    targets: FleetTargets,
    *,
    http_port: int,
    generation: int = 0,
) -> dict[str, str]:
    """Return the ``SHOAL_*`` variables worker ``ordinal`` of ``generation`` starts with."""
    env = {
        "SHOAL_TOKEN": targets.token,
        "SHOAL_REST_URL": targets.rest_url,
        "SHOAL_TOTAL_SHARDS": str(layout.total_shards),
        "SHOAL_SHARDS_PER_POD": str(layout.shards_per_worker),
        "SHOAL_POD_ORDINAL": str(ordinal),
        "SHOAL_POD_NAME": worker_name(generation, ordinal),
        "SHOAL_GENERATION": str(generation),
        "SHOAL_REDIS_URL": targets.redis_url,
        "SHOAL_POSTGRES_DSN": targets.postgres_dsn,
        "SHOAL_BOT_NAME": targets.bot_name,
        "SHOAL_HTTP_HOST": "127.0.0.1",  # health and metrics stay on this machine
        "SHOAL_HTTP_PORT": str(http_port),
        "SHOAL_LOG_JSON": "false",  # a person reads these logs
    }
    if targets.identify_window_s is not None:  # a shorter simulated window boots faster
        env["SHOAL_IDENTIFY_WINDOW_S"] = str(targets.identify_window_s)
    return env


def is_load_renewal_due(started_at_s: float | None, now_s: float, duration_s: float) -> bool:
    """Return whether the simulator needs a new load run (none yet, or the last one ending).

    A run is renewed half a second before its end, so the load never pauses; the overlap
    doubles the rate for at most that half second.
    """
    if started_at_s is None:
        return True
    return now_s - started_at_s >= duration_s - _RENEWAL_LEAD_S
