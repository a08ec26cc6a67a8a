"""Fixtures for the storage tests: settings on the test's schema and key namespace.

Owns the bridges from the suite's servers (`tests.fixtures`) to Shoal's settings: a
`PostgresSettings` on the test's own schema, a `RedisKeys` namespace unique to the test,
a migrated pool, and the helpers that open a port nothing listens on. Does not start
servers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shoal.config import PostgresSettings, RedisSettings
from shoal.storage.migrating import migrate
from shoal.storage.postgres import close_pool, create_pool
from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import asyncpg

__all__ = ["keys", "migrated_pool", "postgres_settings", "redis_settings"]


@pytest.fixture
def postgres_settings(postgres_schema_dsn: str) -> PostgresSettings:
    """Settings whose sessions work in the test's own schema."""
    return PostgresSettings(dsn=postgres_schema_dsn, pool_max_size=4)


@pytest.fixture
def redis_settings(redis_url: str, redis_key_prefix: str) -> RedisSettings:
    """Settings on the session's Redis, with a namespace no other test uses."""
    return RedisSettings(url=redis_url, namespace=redis_key_prefix.strip(":").replace(":", "-"))


@pytest.fixture
def keys(redis_settings: RedisSettings) -> RedisKeys:
    """Key and channel names of the test's namespace."""
    return RedisKeys(redis_settings.namespace)


@pytest.fixture
async def migrated_pool(
    postgres_settings: PostgresSettings,
) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    """A pool from `shoal.storage.postgres` on the test's schema, with core's migrations."""
    await migrate(postgres_settings)
    pool = await create_pool(postgres_settings, application_name="shoal-test")
    try:
        yield pool
    finally:
        await close_pool(pool)
