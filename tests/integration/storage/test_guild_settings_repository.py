"""Guild settings in PostgreSQL: defaults, round trips, atomic changes."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from shoal.storage.guild_settings_repository import PostgresGuildSettingsRepository

if TYPE_CHECKING:
    import asyncpg

_GUILD = 81_384_788_765_712_384
_OTHER_GUILD = 81_384_788_765_712_385


@pytest.fixture
def repository(migrated_pool: asyncpg.Pool[asyncpg.Record]) -> PostgresGuildSettingsRepository:
    return PostgresGuildSettingsRepository(migrated_pool)


async def test_get_returns_defaults_when_the_guild_was_never_configured(
    repository: PostgresGuildSettingsRepository,
) -> None:
    settings = await repository.get(_GUILD)

    assert settings.guild_id == _GUILD
    assert dict(settings.feature_overrides) == {}
    assert dict(settings.settings) == {}
    assert settings.updated_at is None


async def test_feature_flags_round_trip_when_enabled_and_disabled(
    repository: PostgresGuildSettingsRepository,
) -> None:
    enabled = await repository.enable_feature(_GUILD, "xp")
    disabled = await repository.disable_feature(_GUILD, "logs")

    stored = await repository.get(_GUILD)
    assert enabled.is_enabled("xp")
    assert dict(disabled.feature_overrides) == {"xp": True, "logs": False}
    assert stored == disabled
    assert stored.is_enabled("logs", is_on_by_default=True) is False
    assert (await repository.get(_OTHER_GUILD)).is_enabled("xp") is False


async def test_set_setting_round_trips_json_and_keeps_other_keys_when_one_key_changes(
    repository: PostgresGuildSettingsRepository,
) -> None:
    await repository.set_setting(_GUILD, "logs", {"channel_id": 5, "events": ["ban", "kick"]})
    await repository.set_setting(_GUILD, "xp", {"rate": 1.5, "ignored": None})
    await repository.set_setting(_GUILD, "logs", {"channel_id": 6})

    stored = await repository.get(_GUILD)
    assert dict(stored.settings) == {
        "logs": {"channel_id": 6},
        "xp": {"rate": 1.5, "ignored": None},
    }
    assert dict(stored.feature_overrides) == {}


async def test_changes_are_all_kept_when_many_features_of_one_guild_change_at_once(
    repository: PostgresGuildSettingsRepository,
) -> None:
    features = [f"feature_{i}" for i in range(20)]

    await asyncio.gather(*(repository.enable_feature(_GUILD, f) for f in features))

    stored = await repository.get(_GUILD)
    assert dict(stored.feature_overrides) == dict.fromkeys(features, True)


async def test_updated_at_advances_when_settings_change(
    repository: PostgresGuildSettingsRepository,
) -> None:
    first = await repository.enable_feature(_GUILD, "xp")
    second = await repository.set_setting(_GUILD, "xp", {"rate": 2})

    assert first.updated_at is not None
    assert second.updated_at is not None
    assert second.updated_at > first.updated_at


@pytest.mark.parametrize(
    ("guild_id", "feature"), [(_GUILD, "Not-A-Feature"), (0, "xp"), (2**63, "xp")]
)
async def test_enable_feature_refuses_and_stores_nothing_when_guild_or_feature_is_invalid(
    repository: PostgresGuildSettingsRepository,
    migrated_pool: asyncpg.Pool[asyncpg.Record],
    guild_id: int,
    feature: str,
) -> None:
    with pytest.raises(ValueError, match=r"feature name|guild id"):
        await repository.enable_feature(guild_id, feature)

    assert await migrated_pool.fetchval("SELECT count(*) FROM guild_settings") == 0


async def test_set_setting_refuses_when_value_is_not_json(
    repository: PostgresGuildSettingsRepository,
) -> None:
    with pytest.raises(TypeError):
        await repository.set_setting(_GUILD, "xp", {"when": object()})  # type: ignore[dict-item]
