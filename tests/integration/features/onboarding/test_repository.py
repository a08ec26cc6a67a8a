"""Onboarding's storage: rules compare-and-swap, idempotent agreements, forgetting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from shoal.features.onboarding.repository import (
    PostgresOnboardingRepository,
    onboarding_migrations,
)
from shoal.features.onboarding.rules import Agreement
from shoal.storage.migrating import apply_migrations, core_migrations

if TYPE_CHECKING:
    import asyncpg

_GUILD = 81_384_788_765_712_384
_OTHER_GUILD = 81_384_788_765_712_385
_USER = 91_000_000_000_000_001
_T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
async def repository(
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> PostgresOnboardingRepository:
    await apply_migrations(postgres_pool, [*core_migrations(), *onboarding_migrations()])
    return PostgresOnboardingRepository(postgres_pool)


async def test_migrations_apply_once_when_run_twice(
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    migrations = [*core_migrations(), *onboarding_migrations()]

    first = await apply_migrations(postgres_pool, migrations)
    second = await apply_migrations(postgres_pool, migrations)

    assert [m.label for m in first] == ["core/0001", "onboarding/0001"]
    assert second == []


async def test_get_rules_returns_none_when_the_guild_never_saved_any(
    repository: PostgresOnboardingRepository,
) -> None:
    assert await repository.get_rules(_GUILD) is None


async def test_save_rules_increments_the_version_when_each_save_expects_the_last(
    repository: PostgresOnboardingRepository,
) -> None:
    first = await repository.save_rules(_GUILD, "  Be kind. ", expected_version=0)
    second = await repository.save_rules(_GUILD, "Be kinder.", expected_version=1)

    assert first is not None
    assert (first.version, first.text) == (1, "Be kind.")
    assert second is not None
    assert (second.version, second.text) == (2, "Be kinder.")
    assert await repository.get_rules(_GUILD) == second
    assert await repository.get_rules(_OTHER_GUILD) is None


async def test_save_rules_refuses_when_the_expected_version_is_stale(
    repository: PostgresOnboardingRepository,
) -> None:
    await repository.save_rules(_GUILD, "v1", expected_version=0)
    await repository.save_rules(_GUILD, "v2", expected_version=1)

    stale = await repository.save_rules(_GUILD, "lost edit", expected_version=1)
    again_first = await repository.save_rules(_GUILD, "another first", expected_version=0)

    assert stale is None
    assert again_first is None
    stored = await repository.get_rules(_GUILD)
    assert stored is not None
    assert (stored.version, stored.text) == (2, "v2")


async def test_save_rules_lets_one_of_two_concurrent_editors_win_when_both_read_one_version(
    repository: PostgresOnboardingRepository,
) -> None:
    await repository.save_rules(_GUILD, "v1", expected_version=0)

    results = await asyncio.gather(
        *(repository.save_rules(_GUILD, f"edit {n}", expected_version=1) for n in range(8))
    )

    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    assert winners[0].version == 2
    assert await repository.get_rules(_GUILD) == winners[0]


async def test_save_rules_refuses_when_the_text_is_empty_or_the_version_negative(
    repository: PostgresOnboardingRepository,
) -> None:
    with pytest.raises(ValueError, match="empty"):
        await repository.save_rules(_GUILD, "   ", expected_version=0)
    with pytest.raises(ValueError, match="expected_version"):
        await repository.save_rules(_GUILD, "x", expected_version=-1)


async def test_attach_message_remembers_the_post_when_the_guild_has_rules(
    repository: PostgresOnboardingRepository,
) -> None:
    assert await repository.attach_message(_GUILD, channel_id=5, message_id=6) is None
    await repository.save_rules(_GUILD, "v1", expected_version=0)

    attached = await repository.attach_message(_GUILD, channel_id=5, message_id=6)
    edited = await repository.save_rules(_GUILD, "v2", expected_version=1)

    assert attached is not None
    assert (attached.channel_id, attached.message_id) == (5, 6)
    assert edited is not None
    assert (edited.channel_id, edited.message_id) == (5, 6)


async def test_record_agreement_is_idempotent_when_the_same_click_is_recorded_twice(
    repository: PostgresOnboardingRepository,
) -> None:
    first = await repository.record_agreement(_GUILD, _USER, 1, agreed_at=_T0)
    again = await repository.record_agreement(_GUILD, _USER, 1, agreed_at=_T0 + timedelta(hours=1))

    assert first == Agreement(1, _T0)
    assert again == first
    assert await repository.get_agreement(_GUILD, _USER) == first
    assert await repository.get_agreement(_OTHER_GUILD, _USER) is None


async def test_record_agreement_keeps_the_highest_version_when_an_older_one_arrives_late(
    repository: PostgresOnboardingRepository,
) -> None:
    await repository.record_agreement(_GUILD, _USER, 1, agreed_at=_T0)
    newer = await repository.record_agreement(_GUILD, _USER, 3, agreed_at=_T0 + timedelta(days=1))
    late = await repository.record_agreement(_GUILD, _USER, 2, agreed_at=_T0 + timedelta(days=2))

    assert newer == Agreement(3, _T0 + timedelta(days=1))
    assert late == newer
    assert await repository.get_agreement(_GUILD, _USER) == newer


async def test_record_agreement_stores_one_row_when_many_pods_record_at_once(
    repository: PostgresOnboardingRepository, postgres_pool: asyncpg.Pool[asyncpg.Record]
) -> None:
    times = [_T0 + timedelta(seconds=n) for n in range(12)]

    results = await asyncio.gather(
        *(
            repository.record_agreement(_GUILD, _USER, 1 + n % 3, agreed_at=at)
            for n, at in enumerate(times)
        )
    )

    stored = await repository.get_agreement(_GUILD, _USER)
    assert stored is not None
    assert stored.version == 3
    assert stored.agreed_at in {times[n] for n in range(12) if n % 3 == 2}
    assert all(result.version <= 3 for result in results)
    count = await postgres_pool.fetchval("SELECT count(*) FROM onboarding_agreements")
    assert count == 1


async def test_record_agreement_refuses_when_the_version_is_not_positive(
    repository: PostgresOnboardingRepository,
) -> None:
    with pytest.raises(ValueError, match="version"):
        await repository.record_agreement(_GUILD, _USER, 0, agreed_at=_T0)


async def test_forget_user_deletes_their_agreements_when_asked_everywhere_or_in_one_guild(
    repository: PostgresOnboardingRepository,
) -> None:
    other_user = _USER + 1
    for guild in (_GUILD, _OTHER_GUILD):
        await repository.record_agreement(guild, _USER, 1, agreed_at=_T0)
        await repository.record_agreement(guild, other_user, 1, agreed_at=_T0)

    in_one = await repository.forget_user(other_user, guild_id=_GUILD)
    everywhere = await repository.forget_user(_USER)

    assert (in_one, everywhere) == (1, 2)
    assert await repository.get_agreement(_GUILD, _USER) is None
    assert await repository.get_agreement(_OTHER_GUILD, _USER) is None
    assert await repository.get_agreement(_GUILD, other_user) is None
    assert await repository.get_agreement(_OTHER_GUILD, other_user) is not None


async def test_forget_guild_deletes_rules_and_agreements_when_the_guild_is_removed(
    repository: PostgresOnboardingRepository,
) -> None:
    await repository.save_rules(_GUILD, "v1", expected_version=0)
    await repository.record_agreement(_GUILD, _USER, 1, agreed_at=_T0)
    await repository.record_agreement(_OTHER_GUILD, _USER, 1, agreed_at=_T0)

    deleted = await repository.forget_guild(_GUILD)

    assert deleted == 2
    assert await repository.get_rules(_GUILD) is None
    assert await repository.get_agreement(_GUILD, _USER) is None
    assert await repository.get_agreement(_OTHER_GUILD, _USER) is not None
