"""The worker identity: Discord's guild-to-shard routing, validation, settings."""

from __future__ import annotations

import pytest

from shoal.config import ShardingSettings
from shoal.interactions.identity import WorkerIdentity


def test_shard_of_routes_guilds_like_discord_when_given_a_guild_id() -> None:
    identity = WorkerIdentity(pod_name="bot-2", generation=1, shard_count=16)
    guild_id = 1_234_567_890_123_456_789
    assert identity.shard_of(guild_id) == (guild_id >> 22) % 16
    assert identity.shard_of(None) == 0


def test_from_settings_takes_pod_generation_and_total_when_built_from_sharding() -> None:
    sharding = ShardingSettings(
        total_shards=32, shards_per_pod=8, ordinal=2, generation=3, pod_name="bot-g3-2"
    )
    identity = WorkerIdentity.from_settings(sharding)
    assert identity == WorkerIdentity(pod_name="bot-g3-2", generation=3, shard_count=32)
    assert identity.claim_owner == "bot-g3-2/g3"


@pytest.mark.parametrize(("generation", "shard_count"), [(0, 0), (-1, 1)])
def test_identity_is_refused_when_its_numbers_are_bad(generation: int, shard_count: int) -> None:
    with pytest.raises(ValueError, match="must"):
        WorkerIdentity(pod_name="p", generation=generation, shard_count=shard_count)
