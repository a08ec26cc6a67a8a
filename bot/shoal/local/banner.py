"""What ``shoal local up`` prints once the fleet has started: where everything is.

Pure text from what was started: the simulator's URLs and token (a simulator token is
public; a real one is never shown), the servers (a DSN's password hidden), the shard plan
and each worker's shards and metrics URL, the load, and where the logs are. Does not own
the live status (:mod:`shoal.local.status`).
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from shoal.local.plans import FleetLayout, FleetTargets
    from shoal.local.simulating import LoadRun
    from shoal.planning.shards import ShardRange

__all__ = ["ListedWorker", "banner_text", "redact_dsn"]


class ListedWorker(Protocol):
    """A worker as the banner lists it."""

    @property
    def name(self) -> str:
        """Its pod name."""
        ...

    @property
    def shards(self) -> ShardRange:
        """The shards it runs."""
        ...

    @property
    def http_port(self) -> int:
        """Its health and metrics port on 127.0.0.1."""
        ...


def banner_text(
    *,
    targets: FleetTargets,
    simulator_url: str | None,
    guilds: int | None,
    layout: FleetLayout,
    workers: Sequence[ListedWorker],
    load: LoadRun | None,
    workdir: Path,
) -> str:
    """Return the banner; ``simulator_url`` is the simulator's base URL (None: Discord)."""
    lines = ["", "Shoal is running locally."]
    if simulator_url is not None:
        lines += [
            f"  Discord simulator : {targets.rest_url}  ({guilds or 0:,} guilds)",
            f"  Control API       : {simulator_url}/_sim/info  (stats: {simulator_url}/_sim/stats)",
            f"  Bot token         : {targets.token}",  # the simulator's: not a secret
        ]
    else:
        lines.append(f"  Discord           : {targets.rest_url}")
    lines += [
        f"  Redis             : {targets.redis_url}",
        f"  PostgreSQL        : {redact_dsn(targets.postgres_dsn)}",
        (
            f"  Shards            : {layout.total_shards} (max_concurrency "
            f"{layout.max_concurrency}) in {layout.workers} workers of {layout.shards_per_worker}"
        ),
    ]
    lines += [
        f"    {w.name:<9} {_shard_span(w.shards):<14} http://127.0.0.1:{w.http_port}/metrics"
        for w in workers
    ]
    if load is not None:
        commands = ", ".join(f"/{name}" for name in load.commands)
        lines.append(
            f"  Load              : {load.messages_per_s:g} messages/s, "
            f"{load.interactions_per_s:g} interactions/s ({commands})"
        )
    lines += [f"  Logs              : {workdir}", ""]
    return "\n".join(lines)


def _shard_span(shards: ShardRange) -> str:
    last = shards.first + shards.count - 1
    return f"shard {last}" if shards.count == 1 else f"shards {shards.first}-{last}"


def redact_dsn(dsn: str) -> str:
    """Return ``dsn`` with its password, if any, replaced by ``***`` (to show to a person)."""
    parts = urllib.parse.urlsplit(dsn)
    if parts.password is None:
        return dsn
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
