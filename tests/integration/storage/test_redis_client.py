"""The Redis client: it connects with Shoal's settings, and fails clearly when it cannot."""

from __future__ import annotations

import pytest

from shoal.config import RedisSettings
from shoal.storage.errors import StorageUnavailableError
from shoal.storage.redis_client import close_redis, create_redis

_PASSWORD = "s3cret-redis-password"  # noqa: S105 - a fake password the error must not show


async def test_create_redis_returns_bytes_and_names_connections_when_server_is_up(
    redis_settings: RedisSettings, redis_key_prefix: str
) -> None:
    client = await create_redis(redis_settings, client_name="shoal-worker-7")
    try:
        await client.set(f"{redis_key_prefix}value", "héllo")

        assert await client.get(f"{redis_key_prefix}value") == "héllo".encode()
        assert await client.client_getname() == "shoal-worker-7"  # redis-py decodes names
    finally:
        await close_redis(client)


async def test_create_redis_raises_error_naming_the_variable_without_password_when_port_is_closed(
    closed_port: int,
) -> None:
    url = f"redis://:{_PASSWORD}@127.0.0.1:{closed_port}/0"

    with pytest.raises(StorageUnavailableError) as caught:
        await create_redis(RedisSettings(url=url, namespace="shoal"))

    message = str(caught.value)
    assert message.startswith(
        f"SHOAL_REDIS_URL: cannot connect to redis://:***@127.0.0.1:{closed_port}/0"
    )
    assert _PASSWORD not in message
    assert caught.value.variable == "SHOAL_REDIS_URL"
    assert caught.value.__cause__ is None


async def test_create_redis_raises_error_naming_the_variable_when_server_refuses_the_password(
    redis_url: str,
) -> None:
    url = redis_url.replace("redis://", f"redis://nobody:{_PASSWORD}@")  # no such ACL user

    with pytest.raises(
        StorageUnavailableError, match=r"^SHOAL_REDIS_URL: cannot connect"
    ) as caught:
        await create_redis(RedisSettings(url=url, namespace="shoal"))

    assert _PASSWORD not in str(caught.value)
