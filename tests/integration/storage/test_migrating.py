"""Migrations against a real PostgreSQL: order, idempotence, concurrency, refusals.

Every test works in its own schema (``postgres_schema_dsn``), so tests can run in parallel
and each one's advisory lock is its own (see `migration_lock_key`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
import pytest

from shoal.storage.migrating import apply_migrations, core_migrations, migrate, migration_lock_key
from shoal.storage.migration_plans import Migration, MigrationError
from shoal.storage.postgres import close_pool, create_pool
from tests.integration.storage.polling import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from shoal.config import PostgresSettings

_Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"

#: Each step records itself in `steps`, so the order they ran in can be read back; beta's
#: step needs the table alpha's first step made, so running beta first would fail.
_ALPHA_1 = Migration(
    "alpha",
    1,
    "create_steps",
    "CREATE TABLE steps (id serial PRIMARY KEY, step text NOT NULL);"
    "INSERT INTO steps (step) VALUES ('alpha/1');",
)
_ALPHA_2 = Migration("alpha", 2, "second", "INSERT INTO steps (step) VALUES ('alpha/2');")
_ALPHA_3 = Migration("alpha", 3, "third", "INSERT INTO steps (step) VALUES ('alpha/3');")
_BETA_1 = Migration("beta", 1, "first", "INSERT INTO steps (step) VALUES ('beta/1');")


@pytest.fixture
async def pool(postgres_settings: PostgresSettings) -> AsyncIterator[_Pool]:
    pool = await create_pool(postgres_settings, command_timeout_s=None)
    try:
        yield pool
    finally:
        await close_pool(pool)


async def _steps(pool: _Pool) -> list[str]:
    return [row["step"] for row in await pool.fetch("SELECT step FROM steps ORDER BY id")]


async def _recorded(pool: _Pool) -> list[tuple[str, int]]:
    rows = await pool.fetch(
        "SELECT module, version FROM shoal_schema_migrations ORDER BY applied_at, module, version"
    )
    return [(row["module"], row["version"]) for row in rows]


async def test_apply_migrations_applies_modules_in_given_order_and_versions_ascending_when_empty(
    pool: _Pool,
) -> None:
    applied = await apply_migrations(pool, [_ALPHA_2, _BETA_1, _ALPHA_1])

    assert [m.label for m in applied] == ["alpha/0001", "alpha/0002", "beta/0001"]
    assert await _steps(pool) == ["alpha/1", "alpha/2", "beta/1"]
    rows = await pool.fetch("SELECT module, version, name, checksum FROM shoal_schema_migrations")
    assert {(r["module"], r["version"], r["name"], r["checksum"]) for r in rows} == {
        (m.module, m.version, m.name, m.checksum) for m in (_ALPHA_1, _ALPHA_2, _BETA_1)
    }


async def test_apply_migrations_applies_nothing_when_run_again(pool: _Pool) -> None:
    await apply_migrations(pool, [_ALPHA_1, _ALPHA_2])

    assert await apply_migrations(pool, [_ALPHA_1, _ALPHA_2]) == []
    assert await _steps(pool) == ["alpha/1", "alpha/2"]


async def test_apply_migrations_applies_only_new_versions_when_a_release_adds_some(
    pool: _Pool,
) -> None:
    await apply_migrations(pool, [_ALPHA_1])

    applied = await apply_migrations(pool, [_ALPHA_1, _ALPHA_2, _ALPHA_3, _BETA_1])

    assert [m.label for m in applied] == ["alpha/0002", "alpha/0003", "beta/0001"]
    assert await _steps(pool) == ["alpha/1", "alpha/2", "alpha/3", "beta/1"]


async def test_apply_migrations_applies_each_once_when_two_runners_race_on_separate_pools(
    postgres_settings: PostgresSettings, postgres_schema: str, pool: _Pool
) -> None:
    migrations = [_ALPHA_1, _ALPHA_2, _ALPHA_3, _BETA_1]
    runner_pools = [
        await create_pool(postgres_settings, application_name=f"runner-{i}", command_timeout_s=None)
        for i in range(2)
    ]
    class_id, object_id = migration_lock_key(postgres_schema)
    holder = await asyncpg.connect(postgres_settings.dsn)
    try:
        # Hold the lock, so both runners are certainly inside apply_migrations at once.
        await holder.execute("SELECT pg_advisory_lock($1, $2)", class_id, object_id)
        runs = [asyncio.create_task(apply_migrations(p, migrations)) for p in runner_pools]

        async def both_wait() -> bool:
            waiting = await pool.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND classid = $1 AND objid = $2",
                class_id,
                object_id,
            )
            return bool(waiting == 2)

        await eventually(both_wait, "both runners to wait for the migration lock", timeout_s=5.0)
        await holder.execute("SELECT pg_advisory_unlock($1, $2)", class_id, object_id)
        results = await asyncio.gather(*runs)
    finally:
        await holder.close()
        for runner_pool in runner_pools:
            await close_pool(runner_pool)

    labels = sorted(m.label for result in results for m in result)
    assert labels == ["alpha/0001", "alpha/0002", "alpha/0003", "beta/0001"]
    assert sorted(len(result) for result in results) == [0, 4]  # the loser found nothing to do
    assert await _steps(pool) == ["alpha/1", "alpha/2", "alpha/3", "beta/1"]


async def test_apply_migrations_refuses_naming_module_and_version_when_applied_sql_changed(
    pool: _Pool,
) -> None:
    await apply_migrations(pool, [_ALPHA_1, _ALPHA_2])
    edited = Migration("alpha", 2, "second", "INSERT INTO steps (step) VALUES ('edited');")

    with pytest.raises(MigrationError, match=r"alpha/0002 \(second\) changed after it was applied"):
        await apply_migrations(pool, [_ALPHA_1, edited, _ALPHA_3])

    assert await _steps(pool) == ["alpha/1", "alpha/2"]  # alpha/3 was not applied either


async def test_apply_migrations_refuses_before_touching_the_database_when_versions_have_a_gap(
    pool: _Pool,
) -> None:
    with pytest.raises(MigrationError, match=r"alpha/0002 missing"):
        await apply_migrations(pool, [_ALPHA_1, _ALPHA_3])

    assert await pool.fetchval("SELECT to_regclass('shoal_schema_migrations')") is None


async def test_apply_migrations_refuses_when_a_version_is_defined_twice(pool: _Pool) -> None:
    twin = Migration("alpha", 1, "create_other", "CREATE TABLE other (id int);")

    with pytest.raises(MigrationError, match=r"alpha/0001 is defined twice"):
        await apply_migrations(pool, [_ALPHA_1, twin])

    assert await pool.fetchval("SELECT to_regclass('shoal_schema_migrations')") is None


async def test_apply_migrations_rolls_back_the_failing_one_and_keeps_earlier_when_sql_fails(
    pool: _Pool,
) -> None:
    broken = Migration(
        "alpha", 2, "broken", "INSERT INTO steps (step) VALUES ('alpha/2'); SELECT no_such_fn();"
    )

    with pytest.raises(MigrationError, match=r"alpha/0002 \(broken\) failed and was rolled back"):
        await apply_migrations(pool, [_ALPHA_1, broken, _ALPHA_3])

    assert await _steps(pool) == ["alpha/1"]
    assert await _recorded(pool) == [("alpha", 1)]


async def test_migrate_applies_core_then_modules_and_reports_count_when_run_twice(
    postgres_settings: PostgresSettings, postgres_schema: str, pool: _Pool
) -> None:
    core = core_migrations()

    assert await migrate(postgres_settings, [[_ALPHA_2, _ALPHA_1], [_BETA_1]]) == len(core) + 3
    assert await migrate(postgres_settings, [[_ALPHA_1, _ALPHA_2], [_BETA_1]]) == 0

    table_schema = await pool.fetchval(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'guild_settings'"
    )
    assert table_schema == postgres_schema
    assert (await _recorded(pool))[: len(core)] == [("core", m.version) for m in core]


async def test_migrate_refuses_when_a_feature_claims_core_versions(
    postgres_settings: PostgresSettings,
) -> None:
    impostor = Migration("core", 1, "create_guild_settings", "SELECT 1;")

    with pytest.raises(MigrationError, match=r"core/0001 is defined twice"):
        await migrate(postgres_settings, [[impostor]])
