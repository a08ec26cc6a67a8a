"""The local reshard controller: real ``shoal worker`` processes go from 2 shards to 4.

And a worker's 4011 close (its fatal-close record in Redis, as the operator reads it)
grows the fleet, the record being deleted once the active generation is READY again.

A simulator of 40 guilds, generation 0 of 2 shards in one worker, and a policy of at most
10 guilds per shard: once the registry holds the guild total, the operator's planner asks
for 4 shards and the controller runs the whole blue/green reshard over worker processes,
while the simulator's load generator sends /ping interactions the whole time.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TYPE_CHECKING, Any, Final

import aiohttp
from redis.asyncio import Redis

from shoal.gateway.closing import FatalClose, record_fatal_close
from shoal.gateway.registry import ShardRegistry
from shoal.gateway.shard import ShardSnapshot
from shoal.local.plans import FleetTargets
from shoal.local.resharding import ReshardController, ReshardSettings
from shoal.local.simulating import LoadRun, SimulatorControl
from shoal.local.workers import WorkerGenerations
from shoal.observability.shard_status import ShardStatus
from shoal.planning.closing import FATAL_REASONS
from shoal.planning.resharding import ReshardPhase, ReshardState
from shoal.planning.sharding import ShardPolicy
from shoal_sim.discord.intents import GUILD_MEMBERS
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from shoal.storage.redis_keys import RedisKeys

_WINDOW_S: Final = 0.2
_WORLD: Final = SimSettings(
    privileged_intents=GUILD_MEMBERS,  # approved, as `shoal local up` approves its own
    guilds=40,
    members_per_guild=3,
    channels_per_guild=2,
    roles_per_guild=1,
    identify_window_s=_WINDOW_S,
    max_concurrency=2,
)
#: 40 guilds over 2 shards is 20 a shard, over the cap of 10: the plan is 4 shards.
_POLICY: Final = ShardPolicy(target_guilds_per_shard=10, max_guilds_per_shard=10, headroom=0.0)
_WORKER: Final = (sys.executable, "-m", "shoal", "worker")
#: Two cold worker starts, a registry refresh (2 s) for each generation, on a loaded CI.
_RESHARD_TIMEOUT_S: Final = 40.0
_SETTLE_TIMEOUT_S: Final = 10.0  # past the simulator's 3 s interaction deadline
_POLL_S: Final = 0.1


async def _eventually(
    condition: Callable[[], Awaitable[bool]], what: str, *, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(_POLL_S)


def _settled(stats: dict[str, Any]) -> bool:
    counts = stats["interactions"]
    outcomes = counts["answered"] + counts["unanswered"] + counts["late"]
    return bool(counts["injected"]) and outcomes >= counts["injected"]


async def test_reshard_controller_moves_the_fleet_to_more_shards_when_guilds_exceed_the_cap(
    redis_url: str, bot_keys: RedisKeys, tmp_path: Path
) -> None:
    lines: list[str] = []
    async with (
        running_simulator(_WORLD) as sim,
        aiohttp.ClientSession() as http,
    ):
        redis_client = Redis.from_url(redis_url, decode_responses=True)
        control = SimulatorControl(http, sim.base_url)
        targets = FleetTargets(
            token=DEFAULT_TOKEN,
            rest_url=sim.rest_url,
            redis_url=redis_url,
            postgres_dsn="postgresql://unused@127.0.0.1:1/unused",  # /ping never uses it
            bot_name=bot_keys.namespace,
            identify_window_s=_WINDOW_S,
        )
        generations = WorkerGenerations(targets, _WORKER, tmp_path)
        controller = ReshardController(
            generations=generations,
            redis_client=redis_client,
            keys=bot_keys,
            http=http,
            rest_url=sim.rest_url,
            token=DEFAULT_TOKEN,
            state=ReshardState(active_shards=2),
            settings=ReshardSettings(interval_s=0.5, policy=_POLICY),
            say=lines.append,
        )
        try:
            await generations.run(0, 2, max_concurrency=2)
            old_workers = generations.workers_of(0)

            async def is_ready(count: int) -> bool:
                sessions = await control.sessions()
                ready = {
                    s["shard"][0] for s in sessions if s["is_connected"] and s["shard"][1] == count
                }
                return len(ready) == count

            await _eventually(lambda: is_ready(2), "generation 0 ready", timeout_s=30.0)
            load = LoadRun(
                messages_per_s=0.0, interactions_per_s=10.0, duration_s=60.0, commands=("ping",)
            )
            await control.start_load(load)
            controller.start()

            async def is_resharded() -> bool:
                controller.raise_if_failed()
                return controller.reshards_completed == 1

            await _eventually(is_resharded, "the reshard", timeout_s=_RESHARD_TIMEOUT_S)
            new_workers = generations.workers_of(1)
            active = await redis_client.get(bot_keys.active_generation())
            await control.stop_load()

            async def is_settled() -> bool:
                return _settled(await control.stats())

            await _eventually(
                is_settled, "every interaction's outcome", timeout_s=_SETTLE_TIMEOUT_S
            )
            stats = (await control.stats())["interactions"]
        finally:
            await controller.close()
            for generation in generations.generations:
                await generations.remove(generation)
            await redis_client.aclose()

    assert controller.state == ReshardState(
        phase=ReshardPhase.STEADY,
        active_generation=1,
        active_shards=4,
        last_reshard_at=controller.state.last_reshard_at,
    )
    assert active == "1"
    assert [w.name for w in new_workers] == ["local-g1-0"]  # 4 shards, one worker of 4
    assert all(w.process.returncode == 0 for w in old_workers)  # stopped with SIGTERM
    assert not controller.has_unclean_stop
    assert any(line.startswith("Started generation 1: 4 shards") for line in lines), lines
    assert [line.split(")")[1].split(":")[0].split()[0] for line in lines if "->" in line] == [
        "started",
        "switched",
        "completed",
    ], lines
    assert stats["injected"] > 0
    assert stats["answered"] == stats["injected"], stats
    assert (stats["unanswered"], stats["double_acknowledged"], stats["late"]) == (0, 0, 0)


#: A worker that only runs: this test drives the registry and the fatal closes itself.
_IDLE_WORKER: Final = (sys.executable, "-c", "import time; time.sleep(120)")


def _ready_snapshot(shard_id: int) -> ShardSnapshot:
    return ShardSnapshot(
        shard_id=shard_id,
        status=ShardStatus.READY,
        latency_s=0.04,
        guild_count=0,
        identifies=1,
        resumes=0,
        closes={},
        dispatches={},
    )


async def test_reshard_controller_grows_the_fleet_when_a_worker_recorded_a_4011_close(
    redis_url: str, bot_keys: RedisKeys, tmp_path: Path
) -> None:
    lines: list[str] = []
    async with running_simulator(_WORLD) as sim, aiohttp.ClientSession() as http:
        redis_client = Redis.from_url(redis_url, decode_responses=True)
        targets = FleetTargets(
            token=DEFAULT_TOKEN,
            rest_url=sim.rest_url,
            redis_url=redis_url,
            postgres_dsn="postgresql://unused@127.0.0.1:1/unused",
            bot_name=bot_keys.namespace,
        )
        generations = WorkerGenerations(targets, _IDLE_WORKER, tmp_path)
        controller = ReshardController(
            generations=generations,
            redis_client=redis_client,
            keys=bot_keys,
            http=http,
            rest_url=sim.rest_url,
            token=DEFAULT_TOKEN,
            state=ReshardState(active_shards=2),
            settings=ReshardSettings(interval_s=60.0),
            say=lines.append,
        )
        try:
            await generations.run(0, 2, max_concurrency=2)
            (worker,) = generations.workers_of(0)
            steady = await controller.step()
            fatal = FatalClose(code=4011, reason=FATAL_REASONS[4011], shard_id=1, at=time.time())
            await record_fatal_close(redis_client, bot_keys, pod_name=worker.name, fatal=fatal)
            grown = await controller.step()
            kept = await redis_client.exists(bot_keys.fatal_close(worker.name))
            registry = ShardRegistry(
                redis_client, bot_keys, pod_name=worker.name, generation=0, shard_count=2
            )
            await registry.publish([_ready_snapshot(0), _ready_snapshot(1)], now=time.time())
            await controller.step()  # the active generation is READY again: it recovered
            cleared = not await redis_client.exists(bot_keys.fatal_close(worker.name))
            new_workers = [w.name for w in generations.workers_of(1)]
        finally:
            await controller.close()
            for generation in generations.generations:
                await generations.remove(generation)
            await redis_client.aclose()

    assert steady is not None
    assert steady.state == ReshardState(active_shards=2)  # 40 guilds, nothing registered: keep 2
    assert grown is not None
    assert (grown.state.phase, grown.state.target_shards) == (ReshardPhase.STARTING, 4)
    started = (
        "reshard: 2 -> 4 shards (generation 0 -> 1) started: Discord closed a shard with 4011 "
        "(too many guilds for 2 shards): growing to 4 shards"
    )
    assert [line for line in lines if "started" in line] == [started], lines
    assert kept  # generation 0 was not READY yet
    assert cleared
    assert new_workers == ["local-g1-0"]
