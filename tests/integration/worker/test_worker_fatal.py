"""Acceptance: a fatal close stops the worker with a non-zero exit and the reason in Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import orjson

from shoal.gateway.running import EXIT_FATAL_CLOSE
from shoal.planning.closing import FATAL_REASONS
from shoal_sim.discord.server import running_simulator
from tests.integration.sim.gateway.worlds import app_of
from tests.integration.worker.fleets import fleet_world, spawn_worker
from tests.integration.worker.worker_processes import worker_processes

if TYPE_CHECKING:
    import pathlib

    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

_POD: Final = "shard-worker-0"
#: Shaped like a token (``base64(bot_id).x.y``) for a bot the simulator does not know.
_UNKNOWN_TOKEN: Final = "MTAwMDAwMDAwMDAwMDAwMDk5OQ.GsimXX.bm90LWEtcmVhbC10b2tlbg"  # noqa: S105


async def _fatal_record(redis: Redis, keys: RedisKeys) -> dict[str, object]:
    raw = await redis.get(keys.fatal_close(_POD))
    assert raw is not None, "no fatal close recorded"
    record: dict[str, object] = orjson.loads(raw)
    return record


async def test_worker_exits_with_the_reason_recorded_when_discord_closes_with_4011(
    redis_url: str, redis_client: Redis, bot_keys: RedisKeys, tmp_path: pathlib.Path
) -> None:
    async with running_simulator(fleet_world()) as sim, worker_processes() as workers:
        worker = await spawn_worker(
            sim,
            redis_url=redis_url,
            bot_name=bot_keys.namespace,
            total_shards=2,
            shards_per_pod=2,
            ordinal=0,
            log_dir=tmp_path,
        )
        workers.append(worker)
        await worker.loaded()
        worker.release()
        await worker.connected({0, 1})
        sessions = sim.gateway.sessions.of_shard(app_of(sim).id, 1, 2)
        sim.gateway.force(sessions, "close", code=4011)
        exit_code = await worker.exit_code()
        closes = dict(sim.stats.client_close_codes)
    assert exit_code == EXIT_FATAL_CLOSE, worker.log_tail()
    record = await _fatal_record(redis_client, bot_keys)
    assert {k: record[k] for k in ("code", "reason", "shard")} == {
        "code": 4011,
        "reason": FATAL_REASONS[4011],
        "shard": 1,
    }
    assert isinstance(record["at"], float)
    assert closes == {3000: 1}  # the healthy shard closed resumably for the next pod
    assert worker.log_tail().count("ERROR shoal.gateway.running") == 1


async def test_worker_exits_with_authentication_failed_when_the_token_is_wrong(
    redis_url: str, redis_client: Redis, bot_keys: RedisKeys, tmp_path: pathlib.Path
) -> None:
    async with running_simulator(fleet_world()) as sim, worker_processes() as workers:
        worker = await spawn_worker(
            sim,
            redis_url=redis_url,
            bot_name=bot_keys.namespace,
            total_shards=2,
            shards_per_pod=2,
            ordinal=0,
            log_dir=tmp_path,
            token=_UNKNOWN_TOKEN,
        )
        workers.append(worker)
        await worker.loaded()
        worker.release()
        exit_code = await worker.exit_code()
        identifies = sim.stats.identifies
    assert exit_code == EXIT_FATAL_CLOSE, worker.log_tail()
    record = await _fatal_record(redis_client, bot_keys)
    assert (record["code"], record["shard"]) == (4004, None)
    assert identifies == 0
    assert _UNKNOWN_TOKEN not in worker.log_tail()
