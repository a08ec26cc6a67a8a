"""Fixtures of the kit tests: a namespace per test and a pool with core's migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from shoal.storage.migrating import apply_migrations, core_migrations
from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    import asyncpg


@pytest.fixture
def keys(redis_key_prefix: str) -> RedisKeys:
    """Key names of a namespace no other test uses."""
    return RedisKeys(redis_key_prefix.strip(":").replace(":", "-"))


@pytest.fixture
async def migrated_pool(
    postgres_pool: asyncpg.Pool[asyncpg.Record],
) -> asyncpg.Pool[asyncpg.Record]:
    """The test's pool with core's tables (guild settings)."""
    await apply_migrations(postgres_pool, core_migrations())
    return postgres_pool
