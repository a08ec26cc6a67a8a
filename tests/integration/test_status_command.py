"""``shoal status`` as a process, reading a registry the real writer filled.

Also that it tells stale entries (a frozen worker's) from ready ones, and keeps the
clients' INFO lines out of its table unless a level is asked for.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
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


async def _status(
    redis_url: str, namespace: str, *, log_level: str | None = None
) -> tuple[int, str, str]:
    env = {**os.environ, "SHOAL_REDIS_URL": redis_url, "SHOAL_BOT_NAME": namespace}
    env.pop("SHOAL_LOG_LEVEL", None)
    if log_level is not None:
        env["SHOAL_LOG_LEVEL"] = log_level
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


async def test_status_shows_a_stale_entry_and_does_not_count_it_when_its_worker_stopped_writing(
    redis_client: redis_asyncio.Redis, redis_url: str
) -> None:
    namespace = f"status-{uuid.uuid4().hex[:8]}"
    keys = RedisKeys(namespace)
    registry = ShardRegistry(redis_client, keys, pod_name="bot-g0-0", generation=0, shard_count=2)
    ready = dataclasses.replace(ShardSnapshot.not_started(0), status=ShardStatus.READY)
    frozen = dataclasses.replace(ShardSnapshot.not_started(1), status=ShardStatus.READY)
    now = time.time()
    await registry.publish([ready], now=now)
    await registry.publish([frozen], now=now - 12.0)  # a worker frozen 12 s ago
    try:
        code, out, _ = await _status(redis_url, namespace)
    finally:
        await redis_client.delete(
            keys.registry_shard(0, 0), keys.registry_shard(0, 1), keys.registry_index()
        )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "generation 0 (active): 1/2 shards ready (1 stale), 0 guilds, 1 pods"
    assert lines[2].split()[:2] == ["0", "ready"]
    shown = re.match(r"^\s+1  stale \(ready (\d+) s ago\)\s", lines[3])
    assert shown is not None, lines[3]
    assert int(shown.group(1)) >= 12


async def test_status_prints_no_info_log_lines_when_the_log_level_is_not_set(
    redis_client: redis_asyncio.Redis, redis_url: str
) -> None:
    namespace = f"status-{uuid.uuid4().hex[:8]}"
    keys = RedisKeys(namespace)
    registry = ShardRegistry(redis_client, keys, pod_name="bot-g0-0", generation=0, shard_count=1)
    await registry.publish([ShardSnapshot.not_started(0)], now=time.time())
    try:
        code, out, err = await _status(redis_url, namespace, log_level=None)
        verbose_code, _, verbose_err = await _status(redis_url, namespace, log_level="INFO")
    finally:
        await redis_client.delete(keys.registry_shard(0, 0), keys.registry_index())
    assert code == verbose_code == 0
    assert out.startswith("generation 0 (active): 0/1 shards ready")
    assert " INFO " not in out + err
    assert "Redis client connected" in verbose_err  # an explicit level is obeyed
