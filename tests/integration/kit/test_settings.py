"""Typed per-guild settings through two pods' kits: validated, stored, seen by both."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pydantic
import pytest

from shoal.interactions.identity import WorkerIdentity
from shoal.kit.building import open_kit
from shoal.kit.settings import SettingsRefusedError
from shoal.observability.metrics import Metrics
from shoal.storage.guild_settings_repository import PostgresGuildSettingsRepository

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    import asyncpg
    from redis.asyncio import Redis

    from shoal.kit.services import FeatureKit
    from shoal.storage.redis_keys import RedisKeys

_GUILD = 4242


class _Settings(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    greeting: str = pydantic.Field("Hello", max_length=10)
    limit: int = pydantic.Field(5, ge=1, le=10)


class _View:
    is_active = True
    answers_unclaimed = True


@pytest.fixture
async def two_kits(
    redis_client: Redis, migrated_pool: asyncpg.Pool[asyncpg.Record], keys: RedisKeys
) -> AsyncIterator[tuple[FeatureKit, FeatureKit]]:
    async with (
        open_kit(
            process="pod a",
            redis=redis_client,
            postgres=migrated_pool,
            keys=keys,
            metrics=Metrics(),
            identity=WorkerIdentity(pod_name="a", generation=0, shard_count=1),
            generation=_View(),
        ) as first,
        open_kit(
            process="pod b",
            redis=redis_client,
            postgres=migrated_pool,
            keys=keys,
            metrics=Metrics(),
            identity=WorkerIdentity(pod_name="b", generation=0, shard_count=1),
            generation=_View(),
        ) as second,
    ):
        for kit in (first, second):
            kit.settings.declare("greeter", _Settings)
        yield first, second


async def _eventually(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + 3
    while not await check():
        assert time.monotonic() < deadline, "not seen in time"
        await asyncio.sleep(0.02)


async def test_a_change_on_one_pod_is_read_by_the_other_when_both_cached_it(
    two_kits: tuple[FeatureKit, FeatureKit],
) -> None:
    first, second = two_kits
    assert await second.settings.get(_GUILD, _Settings, "greeter") == _Settings()  # cached
    await first.settings.update(_GUILD, "greeter", {"greeting": "Hi"})

    async def seen() -> bool:
        return (await second.settings.get(_GUILD, _Settings, "greeter")).greeting == "Hi"

    await _eventually(seen)
    await first.settings.switch(_GUILD, "greeter", is_on=False)

    async def off() -> bool:
        return not await second.settings.is_enabled(_GUILD, "greeter", is_on_by_default=True)

    await _eventually(off)


async def test_a_refused_value_names_the_field_and_stores_nothing(
    two_kits: tuple[FeatureKit, FeatureKit],
    migrated_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    first, _ = two_kits
    await first.settings.update(_GUILD, "greeter", {"limit": 7})
    with pytest.raises(SettingsRefusedError) as refused:
        await first.settings.update(_GUILD, "greeter", {"limit": 11, "greeting": "Yo"})
    assert refused.value.field == "limit"
    assert "less than or equal to 10" in refused.value.message
    stored = await PostgresGuildSettingsRepository(migrated_pool).get(_GUILD)
    assert stored.setting("greeter") == {"limit": 7}  # only what differs from the defaults


async def test_a_stored_value_the_schema_no_longer_accepts_falls_back_to_its_default(
    two_kits: tuple[FeatureKit, FeatureKit],
    migrated_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    first, _ = two_kits
    # Written by an older release whose schema allowed longer greetings.
    await PostgresGuildSettingsRepository(migrated_pool).set_setting(
        _GUILD, "greeter", {"greeting": "Good morning everyone", "limit": 3}
    )
    first.settings._repository.invalidate(_GUILD)  # type: ignore[attr-defined] # noqa: SLF001
    assert await first.settings.get(_GUILD, _Settings, "greeter") == _Settings(limit=3)
    reset = await first.settings.reset(_GUILD, "greeter", "limit")
    assert reset == _Settings()


async def test_peek_answers_from_the_cache_only_and_follows_a_change_from_another_pod(
    two_kits: tuple[FeatureKit, FeatureKit],
) -> None:
    first, second = two_kits

    def peeked() -> tuple[bool, _Settings] | None:
        return second.settings.peek(_GUILD, _Settings, "greeter", is_on_by_default=True)

    assert peeked() is None  # never read here: the hot path awaits get() for it
    assert await second.settings.get(_GUILD, _Settings, "greeter") == _Settings()
    held = peeked()
    assert held == (True, _Settings())
    assert held is not None
    assert held[1] is (await second.settings.get(_GUILD, _Settings, "greeter"))  # validated once
    await first.settings.update(_GUILD, "greeter", {"greeting": "Hi"})
    await first.settings.switch(_GUILD, "greeter", is_on=False)

    async def changed() -> bool:
        if (now := peeked()) is None:  # invalidated: read it again, as the tap does
            await second.settings.get(_GUILD, _Settings, "greeter")
            return False
        return now == (False, _Settings(greeting="Hi"))

    await _eventually(changed)
