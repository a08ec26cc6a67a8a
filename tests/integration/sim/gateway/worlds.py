"""Simulator settings for the gateway tests: small worlds and short windows.

Guild contents are kept tiny (every GUILD_CREATE is cheap) while every generated guild
still has members, a text channel (index 1) and a voice channel (index 4).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord.settings import SimSettings
from shoal_sim.discord.world import generated_channel_id, generated_member_id

if TYPE_CHECKING:
    from shoal_sim.discord.entities import Application, Guild
    from shoal_sim.discord.server import Simulator

__all__ = [
    "TEXT_CHANNEL",
    "VOICE_CHANNEL",
    "app_of",
    "guilds_on_shard",
    "small_world",
    "user_message",
]

TEXT_CHANNEL: Final = 1
"""Index of a generated text channel (see :func:`generated_channel_id`)."""
VOICE_CHANNEL: Final = 4
"""Index of a generated voice channel (every fourth channel is a voice channel)."""

_SMALL: Final = SimSettings(
    guilds=12,
    members_per_guild=3,
    channels_per_guild=5,
    roles_per_guild=1,
    identify_window_s=0.05,
)


def small_world(**overrides: Any) -> SimSettings:  # noqa: ANN401 - SimSettings fields
    """Return settings for a 12-guild world with a 0.05 s identify window, overridden."""
    return dataclasses.replace(_SMALL, **overrides)


def app_of(sim: Simulator) -> Application:
    """Return the simulator's first application (the one that owns the guilds)."""
    return next(iter(sim.world.applications.values()))


def guilds_on_shard(sim: Simulator, shard_id: int, shard_count: int) -> set[int]:
    """Return the ids of the guilds Discord routes to ``[shard_id, shard_count]``."""
    return {g for g in app_of(sim).guild_ids if (g >> 22) % shard_count == shard_id}


def user_message(guild: Guild) -> tuple[int, int]:
    """Return ``(channel_id, author_id)`` for a member's message in a guild's text channel."""
    return generated_channel_id(guild, TEXT_CHANNEL), generated_member_id(guild, 0)
