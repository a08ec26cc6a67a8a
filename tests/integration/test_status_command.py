"""``shoal status`` as a process, reading a registry the real writer filled."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
import uuid
from typing import TYPE_CHECKING

from shoal.gateway.registry import ShardRegistry
from shoal.gateway.shard import ShardSnapshot
from shoal.observability.shard_status import ShardStatus
from shoal.storage.redis_keys import RedisKeys

if TYPE_CHECKING:
    import redis.asyncio as redis_asyncio


async def _status(redis_url: str, namespace: str) -> tuple[int, str, str]:
    env = {**os.environ, "SHOAL_REDIS_URL": redis_url, "SHOAL_BOT_NAME": namespace}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shoal",
        "status",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_status_shows_every_registered_shard_when_workers_wrote_the_registry(
    redis_client: redis_asyncio.Redis, redis_url: str
) -> None:
    namespace = f"status-{uuid.uuid4().hex[:8]}"
    keys = RedisKeys(namespace)
    registry = ShardRegistry(redis_client, keys, pod_name="bot-g0-0", generation=0, shard_count=2)
    snapshots = [
        dataclasses.replace(ShardSnapshot.not_started(0), status=ShardStatus.READY, guild_count=7),
        dataclasses.replace(ShardSnapshot.not_started(1), guild_count=0),
    ]
    await registry.publish(snapshots, now=time.time())
    await redis_client.set(keys.active_generation(), "0")
    try:
        code, out, _ = await _status(redis_url, namespace)
    finally:
        await redis_client.delete(
            keys.registry_shard(0, 0),
            keys.registry_shard(0, 1),
            keys.registry_index(),
            keys.active_generation(),
        )
    assert code == 0
    assert out.splitlines()[0] == "generation 0 (active): 1/2 shards ready, 7 guilds, 1 pods"


async def test_status_names_the_variable_when_redis_cannot_be_reached() -> None:
    code, _, err = await _status("redis://127.0.0.1:1/0", "nowhere")
    assert code == 1
    assert "SHOAL_REDIS_URL" in err


async def test_status_names_the_key_when_the_active_generation_is_garbage(
    redis_client: redis_asyncio.Redis, redis_url: str
) -> None:
    namespace = f"status-{uuid.uuid4().hex[:8]}"
    keys = RedisKeys(namespace)
    await redis_client.set(keys.active_generation(), "one")
    try:
        code, _, err = await _status(redis_url, namespace)
    finally:
        await redis_client.delete(keys.active_generation())
    assert code == 1
    assert keys.active_generation() in err
    assert "non-negative integer" in err
