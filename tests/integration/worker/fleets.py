"""A simulator world and worker processes for the acceptance tests.

Identify windows are short (0.3 s) so a whole fleet boots in a couple of seconds; guild
contents are tiny so every GUILD_CREATE is cheap.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord import events
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from tests.integration.gateway.worker_env import worker_env
from tests.integration.sim.gateway.worlds import guilds_on_shard, user_message
from tests.integration.worker.worker_processes import WorkerProcess

if TYPE_CHECKING:
    import pathlib

    from shoal_sim.discord.server import Simulator

__all__ = ["WINDOW_S", "emit_messages", "fleet_world", "spawn_worker"]

WINDOW_S: Final = 0.3
"""The simulator's identify window, and the workers' gate window."""

_WORLD: Final = SimSettings(
    guilds=24,
    members_per_guild=3,
    channels_per_guild=5,
    roles_per_guild=1,
    max_concurrency=2,
    identify_window_s=WINDOW_S,
)


def fleet_world(**overrides: Any) -> SimSettings:  # noqa: ANN401 - SimSettings fields
    """Return a 24-guild world with max_concurrency 2 and a 0.3 s window, overridden."""
    return dataclasses.replace(_WORLD, **overrides)


async def spawn_worker(
    sim: Simulator,
    *,
    redis_url: str,
    bot_name: str,
    total_shards: int,
    shards_per_pod: int,
    ordinal: int,
    log_dir: pathlib.Path,
    token: str = DEFAULT_TOKEN,
) -> WorkerProcess:
    """Start pod ``ordinal``'s worker process (it waits for ``release()``)."""
    env = worker_env(
        sim,
        redis_url=redis_url,
        bot_name=bot_name,
        total_shards=total_shards,
        shards_per_pod=shards_per_pod,
        ordinal=ordinal,
        token=token,
        identify_window_s=WINDOW_S,
    )
    return await WorkerProcess.spawn(env, log=log_dir / f"worker-{ordinal}.log")


def emit_messages(sim: Simulator, shard_ids: range, *, shard_count: int) -> set[int]:
    """Post one user message into a guild of each shard; return the message ids."""
    sent: set[int] = set()
    for shard_id in shard_ids:
        guild = sim.world.guild(min(guilds_on_shard(sim, shard_id, shard_count)))
        assert guild is not None
        channel_id, author_id = user_message(guild)
        message, _ = events.emit_user_message(
            sim, channel_id=channel_id, author_id=author_id, content="hi", guild_id=guild.id
        )
        sent.add(message.id)
    return sent
