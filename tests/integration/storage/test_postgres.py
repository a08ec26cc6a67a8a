"""The asyncpg pool: it connects with Shoal's settings, and fails clearly when it cannot."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shoal.config import PostgresSettings
from shoal.storage.errors import StorageUnavailableError
from shoal.storage.postgres import close_pool, create_pool

if TYPE_CHECKING:
    import asyncpg

_PASSWORD = "s3cret-pg-password"  # noqa: S105 - a fake password the error must not show


async def test_create_pool_runs_queries_in_the_schema_and_names_the_app_when_server_is_up(
    postgres_settings: PostgresSettings, postgres_schema: str
) -> None:
    pool = await create_pool(postgres_settings, application_name="shoal-worker-7")
    try:
        row = await pool.fetchrow(
            "SELECT current_schema() AS schema, current_setting('application_name') AS app"
        )
        assert row is not None
        assert (row["schema"], row["app"]) == (postgres_schema, "shoal-worker-7")
        assert pool.get_max_size() == postgres_settings.pool_max_size
    finally:
        await close_pool(pool)
    assert pool.is_closing()


async def test_create_pool_raises_error_naming_the_variable_without_password_when_port_is_closed(
    closed_port: int,
) -> None:
    dsn = f"postgresql://shoal:{_PASSWORD}@127.0.0.1:{closed_port}/postgres"

    with pytest.raises(StorageUnavailableError) as caught:
        await create_pool(PostgresSettings(dsn=dsn, pool_max_size=2))

    message = str(caught.value)
    assert message.startswith(
        f"SHOAL_POSTGRES_DSN: cannot connect to postgresql://shoal:***@127.0.0.1:{closed_port}"
    )
    assert _PASSWORD not in message
    assert caught.value.variable == "SHOAL_POSTGRES_DSN"
    assert caught.value.__cause__ is None  # the driver's traceback is not chained in


async def test_create_pool_raises_error_naming_the_variable_when_server_refuses_the_database(
    postgres_dsn: str,
) -> None:
    dsn = postgres_dsn.replace("shoal@", f"shoal:{_PASSWORD}@").replace("/postgres", "/no_such_db")

    with pytest.raises(StorageUnavailableError, match=r"InvalidCatalogNameError") as caught:
        await create_pool(PostgresSettings(dsn=dsn, pool_max_size=2))

    assert str(caught.value).startswith("SHOAL_POSTGRES_DSN: cannot connect")
    assert _PASSWORD not in str(caught.value)


async def test_close_pool_closes_every_connection_when_queries_are_done(
    postgres_settings: PostgresSettings, postgres_pool: asyncpg.Pool[asyncpg.Record]
) -> None:
    pool = await create_pool(postgres_settings, application_name="shoal-closing")
    await pool.fetchval("SELECT 1")

    await close_pool(pool)

    sessions = await postgres_pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shoal-closing'"
    )
    assert sessions == 0
