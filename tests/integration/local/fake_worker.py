"""A stand-in for ``shoal worker`` in the local-fleet tests: plain hikari over the given shards.

Run by ``shoal local up`` (``--worker-command "python -m tests.integration.local.fake_worker"``)
so that the orchestration is proven on its own. It reads its ``SHOAL_*`` environment with
the worker's own settings parser (so a bad variable fails here as it would in a pod), runs
a plain hikari ``GatewayBot`` (cache off) over its shard range, and publishes each READY
shard to the shard registry with the worker's own registry writer. On SIGTERM or
SIGINT it closes the bot and, when ``FAKE_WORKER_REPORTS`` names a directory, writes
``<pod name>.json`` there: the variables it got (not the token) and ``"stopped": true``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import time
from pathlib import Path

import hikari
from redis.asyncio import Redis

from shoal.config import worker_settings
from shoal.gateway.registry import REGISTRY_REFRESH_S, ShardRegistry
from shoal.gateway.shard import ShardSnapshot
from shoal.observability.shard_status import ShardStatus
from shoal.storage.redis_keys import RedisKeys

__all__ = ["main"]

_REPORTED_VARIABLES = (
    "SHOAL_REST_URL",
    "SHOAL_TOTAL_SHARDS",
    "SHOAL_SHARDS_PER_POD",
    "SHOAL_POD_ORDINAL",
    "SHOAL_POD_NAME",
    "SHOAL_GENERATION",
    "SHOAL_REDIS_URL",
    "SHOAL_POSTGRES_DSN",
    "SHOAL_BOT_NAME",
    "SHOAL_HTTP_PORT",
    "SHOAL_LOG_JSON",
)


async def _run() -> None:
    settings = worker_settings(os.environ)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bot = hikari.GatewayBot(
        settings.discord.token,
        rest_url=settings.discord.rest_url,
        banner=None,
        logs="WARNING",
        suppress_optimization_warning=True,
        intents=hikari.Intents(settings.discord.intents),
        cache_settings=hikari.impl.CacheSettings(components=hikari.api.CacheComponents.NONE),
        auto_chunk_members=False,
    )
    redis = Redis.from_url(settings.redis.url)
    shards = settings.sharding.shards
    registry = ShardRegistry(
        redis,
        RedisKeys(settings.redis.namespace),
        pod_name=settings.sharding.pod_name,
        generation=settings.sharding.generation,
        shard_count=shards.total,
    )
    ready: dict[int, ShardSnapshot] = {}

    async def on_ready(event: hikari.ShardReadyEvent) -> None:
        snapshot = ShardSnapshot(
            shard_id=event.shard.id,
            status=ShardStatus.READY,
            latency_s=math.nan,
            guild_count=len(event.unavailable_guilds),
            identifies=1,
            resumes=0,
            closes={},
            dispatches={},
        )
        ready[snapshot.shard_id] = snapshot
        await registry.publish([snapshot], now=time.time())

    async def keep_published() -> None:  # as the real worker does, or the entries go stale
        while True:
            await asyncio.sleep(REGISTRY_REFRESH_S)
            if ready:
                await registry.publish(list(ready.values()), now=time.time())

    bot.subscribe(hikari.ShardReadyEvent, on_ready)
    await bot.start(shard_ids=shards.ids, shard_count=shards.total, check_for_updates=False)
    publishing = asyncio.create_task(keep_published())
    try:
        await stop.wait()
    finally:
        publishing.cancel()
        await bot.close()
        await redis.aclose()
    _report()


def _report() -> None:
    directory = os.environ.get("FAKE_WORKER_REPORTS")
    if not directory:
        return
    report: dict[str, str | bool | None] = {
        name: os.environ.get(name) for name in _REPORTED_VARIABLES
    }
    report["stopped"] = True
    path = Path(directory) / f"{os.environ['SHOAL_POD_NAME']}.json"
    path.write_text(json.dumps(report), encoding="utf-8")


def main() -> None:
    """Run the fake worker until SIGTERM or SIGINT."""
    asyncio.run(_run())


if __name__ == "__main__":
    main()
