"""The guild settings cache: hits, bounds, and invalidation across pods through Redis pub/sub.

A "pod" here is a `CachedGuildSettingsRepository` with its own Redis client, as each worker
process has. Most tests put it over an in-memory backing that counts reads (a second
implementation of the repository protocol, not a mock); the cross-pod test uses PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, TypeAlias

import pytest
from typing_extensions import override

from shoal.storage.guild_settings import GuildSettings, GuildSettingsRepository
from shoal.storage.guild_settings_caching import CachedGuildSettingsRepository
from shoal.storage.guild_settings_repository import PostgresGuildSettingsRepository
from shoal.storage.redis_client import close_redis, create_redis
from tests.integration.storage.polling import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import asyncpg
    from redis.asyncio import Redis

    from shoal.config import RedisSettings
    from shoal.storage.guild_settings import JsonValue
    from shoal.storage.redis_keys import RedisKeys

_Pod: TypeAlias = "tuple[CachedGuildSettingsRepository, Redis]"
"""A pod's cache, and its own Redis client."""
_MakePod: TypeAlias = "Callable[..., contextlib.AbstractAsyncContextManager[_Pod]]"

_GUILD = 81_384_788_765_712_384
_OTHER_GUILD = 81_384_788_765_712_385
#: Long enough that only an invalidation, never expiry, can refresh an entry during a test.
_LONG_TTL_S = 3_600.0
#: Pub/sub delivers within milliseconds on loopback; generous for a loaded CI.
_DEADLINE_S = 2.0


class InMemoryGuildSettingsRepository(GuildSettingsRepository):
    """Settings in a dict; reads are counted and wait while ``gate`` is closed."""

    def __init__(self) -> None:
        self.stored: dict[int, GuildSettings] = {}
        self.reads = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.read_started = asyncio.Event()

    @override
    async def get(self, guild_id: int) -> GuildSettings:
        self.reads += 1
        value = self.stored.get(guild_id, GuildSettings(guild_id))  # as of the read's start
        self.read_started.set()
        await self.gate.wait()
        return value

    @override
    async def set_setting(self, guild_id: int, key: str, value: JsonValue) -> GuildSettings:
        current = self.stored.get(guild_id, GuildSettings(guild_id))
        changed = GuildSettings(
            guild_id, current.feature_overrides, {**current.settings, key: value}
        )
        self.stored[guild_id] = changed
        return changed

    @override
    async def enable_feature(self, guild_id: int, feature: str) -> GuildSettings:
        return self._flag(guild_id, feature, is_enabled=True)

    @override
    async def disable_feature(self, guild_id: int, feature: str) -> GuildSettings:
        return self._flag(guild_id, feature, is_enabled=False)

    def _flag(self, guild_id: int, feature: str, *, is_enabled: bool) -> GuildSettings:
        current = self.stored.get(guild_id, GuildSettings(guild_id))
        overrides = {**current.feature_overrides, feature: is_enabled}
        self.stored[guild_id] = GuildSettings(guild_id, overrides, current.settings)
        return self.stored[guild_id]


@pytest.fixture
def backing() -> InMemoryGuildSettingsRepository:
    return InMemoryGuildSettingsRepository()


@pytest.fixture
def make_pod(redis_settings: RedisSettings, keys: RedisKeys) -> _MakePod:
    @contextlib.asynccontextmanager
    async def pod(
        name: str,
        backing: GuildSettingsRepository,
        *,
        ttl_s: float = _LONG_TTL_S,
        max_entries: int = 100,
        clock: Callable[[], float] = time.monotonic,
        is_started: bool = True,
    ) -> AsyncIterator[_Pod]:
        client = await create_redis(redis_settings, client_name=name)
        cache = CachedGuildSettingsRepository(
            backing,
            redis=client,
            channel=keys.guild_settings_channel(),
            ttl_s=ttl_s,
            max_entries=max_entries,
            clock=clock,
        )
        try:
            if is_started:
                await cache.start()
            yield cache, client
        finally:
            await cache.close()
            await close_redis(client)

    return pod


async def test_change_through_one_pod_invalidates_the_other_within_deadline_when_both_cached_it(
    make_pod: _MakePod,
    migrated_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    database = PostgresGuildSettingsRepository(migrated_pool)
    async with make_pod("pod-a", database) as (pod_a, _), make_pod("pod-b", database) as (pod_b, _):
        assert not (await pod_a.get(_GUILD)).is_enabled("xp")
        assert not (await pod_b.get(_GUILD)).is_enabled("xp")
        await database.enable_feature(_GUILD, "logs")  # behind the caches' backs: no announcement
        assert not (await pod_b.get(_GUILD)).is_enabled("logs")  # so pod B serves its cache

        await pod_a.enable_feature(_GUILD, "xp")

        async def pod_b_sees_it() -> bool:
            settings = await pod_b.get(_GUILD)
            return settings.is_enabled("xp") and settings.is_enabled("logs")

        await eventually(pod_b_sees_it, "pod B to drop its cached entry", timeout_s=_DEADLINE_S)


async def test_pod_reads_its_own_change_at_once_when_it_made_it(
    make_pod: _MakePod,
    backing: InMemoryGuildSettingsRepository,
) -> None:
    async with make_pod("pod-a", backing) as (pod, _):
        assert (await pod.get(_GUILD)).setting("xp") is None

        await pod.set_setting(_GUILD, "xp", {"rate": 2})

        assert (await pod.get(_GUILD)).setting("xp") == {"rate": 2}


async def test_pod_serves_from_cache_when_the_guild_was_read_before(
    make_pod: _MakePod,
    backing: InMemoryGuildSettingsRepository,
) -> None:
    async with make_pod("pod-a", backing) as (pod, _):
        first = await pod.get(_GUILD)
        second = await pod.get(_GUILD)

    assert second is first
    assert backing.reads == 1


async def test_pod_caches_nothing_when_not_started(
    make_pod: _MakePod,
    backing: InMemoryGuildSettingsRepository,
) -> None:
    async with make_pod("pod-a", backing, is_started=False) as (pod, _):
        await pod.get(_GUILD)
        await pod.get(_GUILD)

    assert backing.reads == 2


async def test_pod_reads_again_when_the_entry_outlived_its_ttl(
    make_pod: _MakePod,
    backing: InMemoryGuildSettingsRepository,
) -> None:
    now_s = [1_000.0]
    async with make_pod("pod-a", backing, ttl_s=30.0, clock=lambda: now_s[0]) as (pod, _):
        await pod.get(_GUILD)
        now_s[0] += 29.9
        await pod.get(_GUILD)
        assert backing.reads == 1

        now_s[0] += 0.1
        await pod.get(_GUILD)

    assert backing.reads == 2


async def test_pod_evicts_the_least_recently_read_guild_when_over_max_entries(
    make_pod: _MakePod,
    backing: InMemoryGuildSettingsRepository,
) -> None:
    async with make_pod("pod-a", backing, max_entries=2) as (pod, _):
        for guild_id in (1, 2, 1, 3):  # 2 is then the least recently read
            await pod.get(guild_id)
        assert backing.reads == 3
        await pod.get(1)
        assert backing.reads == 3
        await pod.get(2)

    assert backing.reads == 4


async def test_pod_shares_one_backing_read_when_many_miss_the_same_guild_at_once(
    make_pod: _MakePod,
    backing: InMemoryGuildSettingsRepository,
) -> None:
    async with make_pod("pod-a", backing) as (pod, _):
        backing.gate.clear()
        readers = [asyncio.create_task(pod.get(_GUILD)) for _ in range(10)]
        await backing.read_started.wait()
        backing.gate.set()
        results = await asyncio.gather(*readers)

    assert backing.reads == 1
    assert all(result is results[0] for result in results)


async def test_pod_does_not_cache_a_read_when_an_invalidation_overtook_it(
    make_pod: _MakePod,
    backing: InMemoryGuildSettingsRepository,
) -> None:
    async with make_pod("pod-a", backing) as (pod, _):
        backing.gate.clear()
        slow_read = asyncio.create_task(pod.get(_GUILD))
        await backing.read_started.wait()  # the read saw the old settings...
        await backing.enable_feature(_GUILD, "xp")
        pod.invalidate(_GUILD)  # ...and the change was announced before it returned
        backing.gate.set()

        assert not (await slow_read).is_enabled("xp")  # the caller asked before the change
        assert (await pod.get(_GUILD)).is_enabled("xp")  # but it was not cached

    assert backing.reads == 2


async def test_pod_drops_its_cache_when_its_subscription_connection_is_killed(
    make_pod: _MakePod,
    backing: InMemoryGuildSettingsRepository,
) -> None:
    async with make_pod("pod-gap", backing) as (pod, client):
        assert not (await pod.get(_GUILD)).is_enabled("xp")
        await backing.enable_feature(_GUILD, "xp")  # its announcement is lost: never sent
        assert not (await pod.get(_GUILD)).is_enabled("xp")
        subscribers = [
            c["id"] for c in await client.client_list(_type="pubsub") if c["name"] == "pod-gap"
        ]
        assert len(subscribers) == 1

        await client.client_kill_filter(_id=subscribers[0])

        async def pod_sees_it() -> bool:
            return (await pod.get(_GUILD)).is_enabled("xp")

        await eventually(pod_sees_it, "the pod to drop its cache on resubscribing", timeout_s=5.0)


async def test_pod_ignores_malformed_messages_and_keeps_listening_when_one_arrives(
    make_pod: _MakePod,
    backing: InMemoryGuildSettingsRepository,
    keys: RedisKeys,
) -> None:
    async with (
        make_pod("pod-a", backing) as (pod_a, client),
        make_pod("pod-b", backing) as (pod_b, _),
    ):
        await pod_b.get(_GUILD)
        await pod_b.get(_OTHER_GUILD)
        await client.publish(keys.guild_settings_channel(), b"not a guild id")

        await pod_a.enable_feature(_OTHER_GUILD, "xp")

        async def pod_b_sees_it() -> bool:
            return (await pod_b.get(_OTHER_GUILD)).is_enabled("xp")

        await eventually(pod_b_sees_it, "pod B to drop its cached entry", timeout_s=_DEADLINE_S)
        reads = backing.reads
        await pod_b.get(_GUILD)  # untouched by the malformed message: still cached
        assert backing.reads == reads
