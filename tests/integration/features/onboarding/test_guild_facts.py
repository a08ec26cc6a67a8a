"""Guild facts in real Redis: a shard's connect in a few round trips, an outage in a few lines."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from typing_extensions import override

from shoal.features.onboarding.guild_facts import GuildFacts, GuildFactsStore
from shoal.kit.guilds import guild_facts
from shoal.kit.services import FeatureKit
from shoal.observability.metrics import Metrics

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

    from shoal.storage.redis_keys import RedisKeys

_GUILDS = 2_000  # one shard's connect at Discord's recommended 1,000-2,500 guilds per shard


class CountingRedis(Redis):
    """A real client that counts its round trips: single commands and pipelines."""

    round_trips = 0

    @override
    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        type(self).round_trips += 1
        return super().pipeline(transaction, shard_hint)

    @override
    async def execute_command(self, *args: object, **options: object) -> object:
        type(self).round_trips += 1
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


@pytest.fixture
def counting() -> type[CountingRedis]:
    CountingRedis.round_trips = 0
    return CountingRedis


def _kit(client: Redis, keys: RedisKeys) -> FeatureKit:
    return FeatureKit(process="test", keys=keys, metrics=Metrics(CollectorRegistry()), redis=client)


async def _connect(store: GuildFactsStore) -> None:
    """What a shard's connect does: a GUILD_CREATE per guild, each handed to the guild tap."""
    for guild_id in range(1, _GUILDS + 1):
        features = ["MEMBER_VERIFICATION_GATE_ENABLED"] if guild_id % 2 == 0 else []
        payload = {"id": str(guild_id), "name": f"guild {guild_id}", "features": features}
        seen = guild_facts(payload)
        assert seen is not None
        store.learn(seen)
        if guild_id % 100 == 0:
            await asyncio.sleep(0)  # the gateway hands the loop over between frames
    await store.flush()


async def test_store_writes_every_guild_in_a_few_pipelines_when_a_shard_connects(
    redis_url: str, keys: RedisKeys, counting: type[CountingRedis]
) -> None:
    client = counting.from_url(redis_url)
    try:
        store = GuildFactsStore(_kit(client, keys))
        await _connect(store)
        assert counting.round_trips <= 10, counting.round_trips
        for guild_id in (1, 2, _GUILDS // 2 + 1, _GUILDS):
            assert await store.get(guild_id) == GuildFacts(guild_id % 2 == 0, f"guild {guild_id}")
    finally:
        await client.aclose()


async def test_store_logs_a_line_per_batch_not_per_guild_when_redis_is_down(
    keys: RedisKeys, counting: type[CountingRedis], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = counting.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)
    try:
        store = GuildFactsStore(_kit(client, keys))
        with caplog.at_level(logging.INFO, logger="shoal.features.onboarding.guild_facts"):
            await _connect(store)  # never raises
        lines = [r.getMessage() for r in caplog.records]
        assert 1 <= len(lines) <= 10, lines
        assert counting.round_trips == len(lines)
        assert all("not stored: ConnectionError" in line for line in lines), lines
    finally:
        await client.aclose()
