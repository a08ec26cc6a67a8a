"""Acceptance: a restarted worker RESUMEs every shard and loses no dispatch.

SIGTERM closes the shards with a resumable code and saves the sessions; SIGKILL leaves
the sessions saved by the last flush (at most a second old). Either way the next
process on the same shards RESUMEs (no IDENTIFY, no session start spent) and receives
the messages posted while no process ran them.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import TYPE_CHECKING, Final

from shoal.gateway.running import EXIT_OK
from shoal.gateway.sessions import RedisSessionStore
from shoal_sim.discord.server import running_simulator
from tests.integration.gateway.polling import until_true
from tests.integration.sim.gateway.worlds import app_of
from tests.integration.worker.fleets import emit_messages, fleet_world, spawn_worker
from tests.integration.worker.worker_processes import WorkerProcess, worker_processes

if TYPE_CHECKING:
    import pathlib

    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator

_SHARDS_PER_POD: Final = 4
#: The issue's promise: a session is saved at least every second.
_FLUSH_WITHIN_S: Final = 1.0


class _Fleet:
    """Spawns the pods of one fleet on a simulator and Redis."""

    def __init__(
        self,
        sim: Simulator,
        workers: list[WorkerProcess],
        *,
        redis_url: str,
        bot_name: str,
        total_shards: int,
        log_dir: pathlib.Path,
    ) -> None:
        self.sim = sim
        self.workers = workers
        self._redis_url = redis_url
        self._bot_name = bot_name
        self.total_shards = total_shards
        self._log_dir = log_dir

    async def start(self, ordinal: int) -> WorkerProcess:
        """Start pod ``ordinal`` and wait until every one of its shards is connected."""
        worker = await spawn_worker(
            self.sim,
            redis_url=self._redis_url,
            bot_name=self._bot_name,
            total_shards=self.total_shards,
            shards_per_pod=_SHARDS_PER_POD,
            ordinal=ordinal,
            log_dir=self._log_dir,
        )
        self.workers.append(worker)
        await worker.loaded()
        worker.release()
        await worker.connected(self.shard_ids(ordinal))
        return worker

    def shard_ids(self, ordinal: int) -> range:
        return range(ordinal * _SHARDS_PER_POD, (ordinal + 1) * _SHARDS_PER_POD)


async def test_worker_resumes_every_shard_when_restarted_after_sigterm(
    redis_url: str, bot_keys: RedisKeys, tmp_path: pathlib.Path
) -> None:
    async with running_simulator(fleet_world()) as sim, worker_processes() as workers:
        fleet = _Fleet(
            sim,
            workers,
            redis_url=redis_url,
            bot_name=bot_keys.namespace,
            total_shards=2 * _SHARDS_PER_POD,
            log_dir=tmp_path,
        )
        await asyncio.gather(fleet.start(0), fleet.start(1))
        before = (sim.stats.identifies, sim.stats.resumes)
        stopping = fleet.workers[1]
        stopping.send(signal.SIGTERM)
        assert await stopping.exit_code() == EXIT_OK, stopping.log_tail()
        missed = emit_messages(sim, fleet.shard_ids(1), shard_count=fleet.total_shards)
        restarted = await fleet.start(1)
        await restarted.until(lambda: missed <= restarted.message_ids(), "the missed messages")
        stats = sim.stats
        after = (stats.identifies, stats.resumes, stats.invalid_sessions)
        closes = dict(stats.client_close_codes)
    assert before == (8, 0)
    assert after == (8, 4, 0)
    assert restarted.shards("resumed") == set(fleet.shard_ids(1))
    assert not restarted.events("ready")
    assert closes == {3000: 4}  # the SIGTERMed worker's shards; never 1000/1001


async def test_worker_resumes_every_shard_when_restarted_after_sigkill(
    redis_url: str, redis_client: Redis, bot_keys: RedisKeys, tmp_path: pathlib.Path
) -> None:
    async with running_simulator(fleet_world()) as sim, worker_processes() as workers:
        fleet = _Fleet(
            sim,
            workers,
            redis_url=redis_url,
            bot_name=bot_keys.namespace,
            total_shards=_SHARDS_PER_POD,
            log_dir=tmp_path,
        )
        worker = await fleet.start(0)
        seen = emit_messages(sim, fleet.shard_ids(0), shard_count=fleet.total_shards)
        await worker.until(lambda: seen <= worker.message_ids(), "the first messages")
        received_at = time.monotonic()
        await _until_sessions_saved(sim, RedisSessionStore(redis_client, bot_keys), fleet)
        flushed_after_s = time.monotonic() - received_at
        worker.send(signal.SIGKILL)
        assert await worker.exit_code() == -signal.SIGKILL
        missed = emit_messages(sim, fleet.shard_ids(0), shard_count=fleet.total_shards)
        restarted = await fleet.start(0)
        await restarted.until(lambda: missed <= restarted.message_ids(), "the missed messages")
        stats = sim.stats
        after = (stats.identifies, stats.resumes, stats.invalid_sessions)
    assert flushed_after_s < _FLUSH_WITHIN_S
    assert after == (4, 4, 0)
    assert restarted.shards("resumed") == set(fleet.shard_ids(0))


async def _until_sessions_saved(sim: Simulator, store: RedisSessionStore, fleet: _Fleet) -> None:
    """Wait until Redis holds every shard's session at the simulator's latest sequence."""
    app_id = app_of(sim).id

    async def is_current(shard_id: int) -> bool:
        (live,) = sim.gateway.sessions.of_shard(app_id, shard_id, fleet.total_shards)
        stored = await store.load(shard_id, fleet.total_shards)
        return stored is not None and (stored.session_id, stored.seq) == (live.id, live.seq)

    async def are_current() -> bool:
        return all([await is_current(s) for s in fleet.shard_ids(0)])

    await until_true(are_current, "sessions saved", timeout_s=2 * _FLUSH_WITHIN_S)
