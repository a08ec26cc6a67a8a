"""A local fleet that Discord closes with 4011 keeps running and reshards, as in Kubernetes.

There the kubelet restarts the pod (CrashLoopBackOff) while the operator reads its
fatal-close record and grows the shard count; locally the :class:`~shoal.local.keeping.
WorkerKeeper` restarts the worker and the reshard controller grows. Real ``shoal worker``
processes against the simulator, in two ways: the keeper and the controller over a world
whose shards hold too many guilds for 2 shards (every IDENTIFY of generation 0 is closed
with 4011), and ``shoal local up`` itself, with a 4011 forced on a shard of a ready fleet.
Any other fatal code still ends the run at once, naming the code.
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import signal
import sys
import time
from typing import TYPE_CHECKING, Final

import aiohttp
from redis.asyncio import Redis

from shoal.local.keeping import WorkerKeeper
from shoal.local.options import LocalOptions
from shoal.local.plans import FleetTargets
from shoal.local.resharding import ReshardController, ReshardSettings
from shoal.local.restarts import RestartPolicy
from shoal.local.running import local_up
from shoal.local.simulating import SimulatorControl
from shoal.local.workers import WorkerGenerations
from shoal.planning.resharding import ReshardPhase, ReshardState
from shoal_sim.discord.intents import GUILD_MEMBERS
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from shoal.storage.redis_keys import RedisKeys

_WINDOW_S: Final = 0.2
#: Guild ids spread exactly evenly: 20 a shard over 2 shards (closed with 4011), 10 over 4.
_CROWDED: Final = SimSettings(
    privileged_intents=GUILD_MEMBERS,  # approved, as `shoal local up` approves its own
    guilds=40,
    members_per_guild=3,
    channels_per_guild=2,
    roles_per_guild=1,
    identify_window_s=_WINDOW_S,
    max_concurrency=2,
    max_guilds_per_shard=15,
)
_WORKER: Final = (sys.executable, "-m", "shoal", "worker")
#: Cold worker starts, restarts with their back-off, a registry refresh (2 s) per
#: generation, on a loaded CI.
_RESHARD_TIMEOUT_S: Final = 60.0
_STOP_TIMEOUT_S: Final = 30.0
_POLL_S: Final = 0.1
_KEPT: Final = re.compile(r"Logs and data kept in (\S+)")
_CONTROL: Final = re.compile(r"Control API\s+: (\S+)/_sim/info")
_RESTART_4011: Final = (
    "exited (status 3): Discord requires more shards (4011): resharding; starting it again"
)
#: A worker that records a 4004 close as ``shoal worker`` does (its own settings, the
#: writer of the record) and exits with status 3.
_RECORDS_4004_THEN_EXITS_3: Final = (
    "import asyncio, os, sys, time\n"
    "from redis.asyncio import Redis\n"
    "from shoal.config import redis_settings\n"
    "from shoal.gateway.closing import FatalClose, record_fatal_close\n"
    "from shoal.planning.closing import FATAL_REASONS\n"
    "from shoal.storage.redis_keys import RedisKeys\n"
    "async def main():\n"
    "    settings = redis_settings(os.environ)\n"
    "    redis = Redis.from_url(settings.url)\n"
    "    fatal = FatalClose(code=4004, reason=FATAL_REASONS[4004], shard_id=0, at=time.time())\n"
    "    keys = RedisKeys(settings.namespace)\n"
    "    pod = os.environ['SHOAL_POD_NAME']\n"
    "    await record_fatal_close(redis, keys, pod_name=pod, fatal=fatal)\n"
    "    await redis.aclose()\n"
    "    print('fatal gateway close 4004', flush=True)\n"
    "asyncio.run(main())\n"
    "sys.exit(3)\n"
)


async def _eventually(
    condition: Callable[[], Awaitable[bool]], what: str, *, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(_POLL_S)


async def _ready_shards(control: SimulatorControl, count: int) -> set[int]:
    """Return the shards of ``count`` that have a connected session in the simulator."""
    sessions = await control.sessions()
    return {s["shard"][0] for s in sessions if s["is_connected"] and s["shard"][1] == count}


async def test_keeper_restarts_a_worker_closed_with_4011_while_the_controller_grows_the_fleet(
    redis_url: str, bot_keys: RedisKeys, tmp_path: Path
) -> None:
    lines: list[str] = []
    async with running_simulator(_CROWDED) as sim, aiohttp.ClientSession() as http:
        redis_client = Redis.from_url(redis_url, decode_responses=True)
        control = SimulatorControl(http, sim.base_url)
        targets = FleetTargets(
            token=DEFAULT_TOKEN,
            rest_url=sim.rest_url,
            redis_url=redis_url,
            postgres_dsn="postgresql://unused@127.0.0.1:1/unused",  # nothing here uses it
            bot_name=bot_keys.namespace,
            identify_window_s=_WINDOW_S,
        )
        generations = WorkerGenerations(targets, _WORKER, tmp_path)
        # A crash loop would be the third quick exit: without the 4011 rule the run ends
        # long before the reshard does.
        keeper = WorkerKeeper(
            generations,
            lines.append,
            policy=RestartPolicy(first_delay_s=0.5, max_delay_s=2.0, crash_loop_exits=3),
        )
        controller = ReshardController(
            generations=generations,
            redis_client=redis_client,
            keys=bot_keys,
            http=http,
            rest_url=sim.rest_url,
            token=DEFAULT_TOKEN,
            state=ReshardState(active_shards=2),
            settings=ReshardSettings(interval_s=0.5),
            say=lines.append,
        )
        try:
            await generations.run(0, 2, max_concurrency=2)
            (old_worker,) = generations.workers_of(0)
            keeper.start()
            controller.start()

            async def is_resharded() -> bool:
                keeper.raise_if_failed()
                controller.raise_if_failed()
                return controller.reshards_completed == 1

            await _eventually(is_resharded, "the reshard", timeout_s=_RESHARD_TIMEOUT_S)
            new_workers = [w.name for w in generations.workers_of(1)]

            async def is_ready() -> bool:
                keeper.raise_if_failed()
                return await _ready_shards(control, 4) == {0, 1, 2, 3}

            await _eventually(is_ready, "4 shards ready", timeout_s=_RESHARD_TIMEOUT_S)
            restarts = keeper.restarts
            record_left = await redis_client.exists(bot_keys.fatal_close(old_worker.name))
            stats = await control.stats()
        finally:
            await keeper.close()
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
    assert new_workers == ["local-g1-0"]
    said_4011 = [line for line in lines if _RESTART_4011 in line]
    assert said_4011, lines
    assert all(line.startswith("Worker local-0 ") for line in said_4011), lines
    assert restarts >= 1
    started = (
        "reshard: 2 -> 4 shards (generation 0 -> 1) started: Discord closed a shard with 4011 "
        "(too many guilds for 2 shards): growing to 4 shards"
    )
    assert started in lines, lines
    assert not record_left  # generation 1 READY: the fleet recovered
    assert stats["identifies"] >= 4  # every shard of generation 1 identified at least once
    log = (tmp_path / "worker-0.log").read_text()
    assert "4011" in log


async def test_local_up_keeps_running_and_reshards_when_discord_closes_a_shard_with_4011(
    redis_url: str, postgres_dsn: str, bot_namespace: str
) -> None:
    options = LocalOptions(
        guilds=200,
        max_concurrency=2,
        identify_window_s=_WINDOW_S,
        redis_url=redis_url,
        postgres_dsn=postgres_dsn,  # unmigrated: nothing the fleet does here reads it
        bot_name=bot_namespace,
        messages_per_s=0.0,
        interactions_per_s=0.0,
        refresh_s=0.2,
        reshard_interval_s=0.5,
    )
    stream = io.StringIO()
    run = asyncio.create_task(local_up(options, stream=stream))

    def said(text: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            assert not run.done(), f"the run ended before {text!r}:\n{stream.getvalue()}"
            return text in stream.getvalue()

        return check

    try:
        await _eventually(
            said("shards 2/2 ready (registry 2/2)"), "a ready fleet", timeout_s=_RESHARD_TIMEOUT_S
        )
        found = _CONTROL.search(stream.getvalue())
        assert found is not None, stream.getvalue()
        async with aiohttp.ClientSession() as http:
            forced = await http.post(
                f"{found.group(1)}/_sim/shards/1", json={"action": "close", "code": 4011}
            )
            assert (await forced.json())["sessions"] == 1
        await _eventually(
            said(f"Worker local-0 {_RESTART_4011}"), "the restart", timeout_s=_RESHARD_TIMEOUT_S
        )
        await _eventually(
            said("(generation 0 -> 1) completed"), "the reshard", timeout_s=_RESHARD_TIMEOUT_S
        )
        await _eventually(
            said("shards 4/4 ready (registry 4/4)"), "4 shards", timeout_s=_RESHARD_TIMEOUT_S
        )
        signal.raise_signal(signal.SIGTERM)  # handled by local_up while it runs
        async with asyncio.timeout(_STOP_TIMEOUT_S):
            code = await run
    finally:
        run.cancel()
    output = stream.getvalue()
    kept = _KEPT.search(output)
    assert kept is not None, output  # a worker exited on its own: the logs are kept
    shutil.rmtree(kept.group(1), ignore_errors=True)

    assert code == 0, output
    started = (
        "reshard: 2 -> 4 shards (generation 0 -> 1) started: Discord closed a shard with 4011 "
        "(too many guilds for 2 shards): growing to 4 shards"
    )
    assert started in output, output
    assert "is not restarted" not in output


async def test_local_up_ends_at_once_naming_the_code_when_a_worker_records_4004(
    redis_url: str, postgres_dsn: str, bot_namespace: str
) -> None:
    recording = (sys.executable, "-c", _RECORDS_4004_THEN_EXITS_3)
    options = LocalOptions(
        guilds=50,
        identify_window_s=_WINDOW_S,
        redis_url=redis_url,
        postgres_dsn=postgres_dsn,
        bot_name=bot_namespace,
        worker_command=recording,
        refresh_s=0.1,
    )
    stream = io.StringIO()
    async with asyncio.timeout(_RESHARD_TIMEOUT_S):
        code = await local_up(options, stream=stream)
    output = stream.getvalue()
    kept = _KEPT.search(output)
    assert kept is not None, output
    shutil.rmtree(kept.group(1), ignore_errors=True)

    assert code == 1, output
    assert "starting it again" not in output
    assert (
        "worker local-0 exited (status 3) and is not restarted: Discord closed a shard with "
        "4004 (authentication failed: the bot token is wrong or was reset): restarting cannot "
        "help"
    ) in output
    assert "fatal gateway close 4004" in output  # the end of its log
