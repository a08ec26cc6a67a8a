"""The Redis client: it connects with Shoal's settings, and fails clearly when it cannot."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from shoal.config import RedisSettings
from shoal.storage.errors import StorageUnavailableError
from shoal.storage.redis_client import close_redis, create_redis, create_redis_when_up

if TYPE_CHECKING:
    from tests.fixtures.restartable import RestartableServer

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
    assert caught.value.is_transient  # nothing listens yet: waiting may help


async def test_create_redis_raises_error_naming_the_variable_when_server_refuses_the_password(
    redis_url: str,
) -> None:
    url = redis_url.replace("redis://", f"redis://nobody:{_PASSWORD}@")  # no such ACL user

    with pytest.raises(
        StorageUnavailableError, match=r"^SHOAL_REDIS_URL: cannot connect"
    ) as caught:
        await create_redis(RedisSettings(url=url, namespace="shoal"))

    assert _PASSWORD not in str(caught.value)
    assert not caught.value.is_transient  # a wrong password: waiting will not help
    with pytest.raises(StorageUnavailableError):  # so the worker does not wait either
        await create_redis_when_up(
            RedisSettings(url=url, namespace="shoal"), client_name="t", stop=asyncio.Event()
        )


async def test_create_redis_when_up_waits_for_a_server_that_starts_late(
    restartable_redis: RestartableServer, caplog: pytest.LogCaptureFixture
) -> None:
    restartable_redis.kill()
    settings = RedisSettings(url=restartable_redis.url, namespace="shoal")
    waiting = asyncio.create_task(
        create_redis_when_up(settings, client_name="t", stop=asyncio.Event(), retry_s=0.1)
    )
    await asyncio.sleep(0.5)
    assert not waiting.done()
    await asyncio.to_thread(restartable_redis.start_again)
    client = await asyncio.wait_for(waiting, timeout=10)
    try:
        assert client is not None
        assert await client.ping()
    finally:
        if client is not None:
            await close_redis(client)
    levels = [r.levelname for r in caplog.records if r.name == "shoal.storage.redis_client"]
    assert levels[:1] == ["WARNING"]  # one line while it waits, however long
    assert levels.count("WARNING") == 1


async def test_create_redis_when_up_gives_up_when_asked_to_stop(closed_port: int) -> None:
    stop = asyncio.Event()
    settings = RedisSettings(url=f"redis://127.0.0.1:{closed_port}/0", namespace="shoal")
    waiting = asyncio.create_task(
        create_redis_when_up(settings, client_name="t", stop=stop, retry_s=0.1)
    )
    await asyncio.sleep(0.3)
    stop.set()
    assert await asyncio.wait_for(waiting, timeout=5) is None
