"""The throwaway Redis and PostgreSQL servers work, and isolate each test from the others.

Each isolation test runs twice (``run`` 1 and 2): every run must start from an empty slice,
get a prefix or schema no earlier run had, and find the earlier runs' data gone.
"""

from __future__ import annotations

from typing import Final

import asyncpg
import pytest
from redis.asyncio import Redis

_RUNS: Final = pytest.mark.parametrize("run", [1, 2])

_seen_prefixes: list[str] = []
_seen_schemas: list[str] = []


async def test_redis_client_reads_back_value_when_key_uses_test_prefix(
    redis_client: Redis, redis_key_prefix: str
) -> None:
    key = f"{redis_key_prefix}greeting"

    await redis_client.set(key, "hello")

    assert await redis_client.get(key) == b"hello"


async def test_redis_url_serves_independent_client_when_connected_directly(
    redis_url: str, redis_key_prefix: str, redis_client: Redis
) -> None:
    await redis_client.set(f"{redis_key_prefix}shared", "1")
    other = Redis.from_url(redis_url)
    try:
        assert await other.get(f"{redis_key_prefix}shared") == b"1"
    finally:
        await other.aclose()


@_RUNS
async def test_redis_key_prefix_is_fresh_and_empty_when_tests_share_server(
    redis_client: Redis, redis_key_prefix: str, run: int
) -> None:
    assert redis_key_prefix not in _seen_prefixes
    earlier_keys = [key for p in _seen_prefixes async for key in redis_client.scan_iter(f"{p}*")]
    assert earlier_keys == []  # the earlier runs' keys were unlinked
    assert [key async for key in redis_client.scan_iter(f"{redis_key_prefix}*")] == []

    await redis_client.set(f"{redis_key_prefix}run", run)
    _seen_prefixes.append(redis_key_prefix)

    assert await redis_client.get(f"{redis_key_prefix}run") == str(run).encode()


async def test_postgres_dsn_serves_queries_when_connected_directly(postgres_dsn: str) -> None:
    connection = await asyncpg.connect(postgres_dsn)
    try:
        assert await connection.fetchval("SELECT 1 + 1") == 2
    finally:
        await connection.close()


@_RUNS
async def test_postgres_schema_is_fresh_and_empty_when_tests_share_server(
    postgres_pool: asyncpg.Pool[asyncpg.Record], postgres_schema: str, run: int
) -> None:
    assert postgres_schema not in _seen_schemas
    earlier = await postgres_pool.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1::text[])", _seen_schemas
    )
    assert earlier == 0  # the earlier runs' schemas were dropped
    assert await postgres_pool.fetchval("SELECT current_schema()") == postgres_schema

    await postgres_pool.execute("CREATE TABLE items (id integer PRIMARY KEY)")  # unqualified
    await postgres_pool.execute("INSERT INTO items VALUES ($1)", run)
    _seen_schemas.append(postgres_schema)

    table_schema = await postgres_pool.fetchval(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'items'"
    )
    assert table_schema == postgres_schema
    assert await postgres_pool.fetchval("SELECT id FROM items") == run
