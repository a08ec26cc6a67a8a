"""A real ``shoal worker`` under faults: a stall, unknown commands, Redis and PostgreSQL dying.

Each test runs ``python -m shoal worker`` against the simulator with servers of its own
(killed and started again on the same port) and reads what a person would: the
simulator's record of every interaction, the worker's ``/metrics`` and its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from typing import TYPE_CHECKING, Final

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from shoal import app
from shoal.config import postgres_settings
from shoal.interactions.client import UNKNOWN_COMMAND_REPLY
from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from tests.integration.gateway.worker_env import worker_env
from tests.integration.generations.shoal_workers import ShoalWorker, shoal_workers
from tests.integration.interactions.answers import EPHEMERAL, answer_of, inject_command
from tests.integration.sim.control.control_api import ControlApi
from tests.integration.sim.gateway.waiting import eventually

if TYPE_CHECKING:
    import pathlib
    from collections.abc import AsyncIterator, Awaitable, Callable

    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator
    from tests.fixtures.restartable import RestartableServer

_WORLD: Final = SimSettings(
    guilds=4, members_per_guild=2, channels_per_guild=2, roles_per_guild=1, identify_window_s=0.1
)
_STALL_S: Final = 4.0  # past Discord's 3 s window, well inside the 62 s heartbeat timeout
_STALLED_PINGS: Final = 12
#: Everything but these lines in a worker's log is start-up and shut-down chatter.
_FAULT_LINE: Final = re.compile(r" (WARNING|ERROR|CRITICAL) |Traceback")


async def _metric(
    http: aiohttp.ClientSession, worker: ShoalWorker, name: str, **labels: str
) -> float:
    """Return one sample of the worker's ``/metrics`` (0 when absent)."""
    text = await worker.metrics_text(http)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


@contextlib.asynccontextmanager
async def _one_worker(
    *, redis_url: str, postgres_dsn: str, bot_keys: RedisKeys, log: pathlib.Path
) -> AsyncIterator[tuple[Simulator, aiohttp.ClientSession, ShoalWorker]]:
    """Run the simulator and one real ``shoal worker`` of 1 shard, ready, until the end.

    The database is migrated first, as ``shoal migrate`` does before a deployment's pods.
    """
    assert await app.run_migrate(postgres_settings({"SHOAL_POSTGRES_DSN": postgres_dsn})) == 0
    async with (
        running_simulator(_WORLD) as sim,
        aiohttp.ClientSession() as http,
        shoal_workers() as workers,
    ):
        env = worker_env(
            sim,
            redis_url=redis_url,
            postgres_dsn=postgres_dsn,
            bot_name=bot_keys.namespace,
            total_shards=1,
            shards_per_pod=1,
        )
        worker = await ShoalWorker.spawn(env, log=log)
        workers.append(worker)
        await worker.ready(http)
        yield sim, http, worker


def _fault_lines(worker: ShoalWorker) -> list[str]:
    return [line for line in worker.log.read_text().splitlines() if _FAULT_LINE.search(line)]


async def test_worker_drops_expired_interactions_without_an_error_when_it_was_stalled(
    redis_url: str, postgres_dsn: str, bot_keys: RedisKeys, tmp_path: pathlib.Path
) -> None:
    async with _one_worker(
        redis_url=redis_url,
        postgres_dsn=postgres_dsn,
        bot_keys=bot_keys,
        log=tmp_path / "worker.log",
    ) as (sim, http, worker):
        control = ControlApi(http, sim)
        guild = min(sim.world.guilds)
        worker.process.send_signal(signal.SIGSTOP)
        try:
            for _ in range(_STALLED_PINGS):
                await inject_command(control, guild, "ping")
            await asyncio.sleep(_STALL_S)
        finally:
            worker.process.send_signal(signal.SIGCONT)
        fresh = await answer_of(control, await inject_command(control, guild, "ping"))
        expired = await _metric(http, worker, "shoal_interactions_expired_total", type="command")
        await eventually(lambda: bool(_fault_lines(worker)), "the line about the backlog")
    assert fresh["response"]["type"] == 4  # the worker answers again at once
    assert expired == _STALLED_PINGS
    assert sim.stats.interactions_double_acknowledged == 0
    lines = _fault_lines(worker)
    assert len(lines) == 1, lines  # one WARNING for the backlog; no ERROR, no traceback
    assert f"dropped {_STALLED_PINGS} interactions that arrived after" in lines[0]


async def test_worker_says_a_command_is_gone_when_it_does_not_know_it(
    redis_url: str, postgres_dsn: str, bot_keys: RedisKeys, tmp_path: pathlib.Path
) -> None:
    hostile = "x" * 10_000
    async with _one_worker(
        redis_url=redis_url,
        postgres_dsn=postgres_dsn,
        bot_keys=bot_keys,
        log=tmp_path / "worker.log",
    ) as (sim, http, worker):
        control = ControlApi(http, sim)
        guild = min(sim.world.guilds)
        stale = await answer_of(control, await inject_command(control, guild, "removed-command"))
        long = await answer_of(control, await inject_command(control, guild, hostile))
        unknown = await _metric(http, worker, "shoal_interactions_unknown_total", type="command")
    for answer in (stale, long):
        assert answer["response"]["data"]["content"] == UNKNOWN_COMMAND_REPLY
        assert answer["response"]["data"]["flags"] & EPHEMERAL
    assert unknown == 2
    log = worker.log.read_text()
    assert hostile not in log  # user input is cut in log lines
    assert max(len(line) for line in log.splitlines()) < 1_000
    assert _fault_lines(worker) == []


async def test_worker_answers_every_interaction_and_logs_four_lines_when_its_servers_die(
    restartable_redis: RestartableServer,
    restartable_postgres: RestartableServer,
    bot_keys: RedisKeys,
    tmp_path: pathlib.Path,
) -> None:
    async with _one_worker(
        redis_url=restartable_redis.url,
        postgres_dsn=restartable_postgres.url,
        bot_keys=bot_keys,
        log=tmp_path / "worker.log",
    ) as (sim, http, worker):
        control = ControlApi(http, sim)
        guild = min(sim.world.guilds)

        async def ping_answered() -> None:
            answer = await answer_of(control, await inject_command(control, guild, "ping"))
            assert answer["response"]["type"] == 4

        async def dependency_up(name: str) -> float:
            return await _metric(http, worker, "shoal_dependency_up", dependency=name)

        await ping_answered()
        restartable_redis.kill()
        for _ in range(20):  # one generation: answered without a claim
            await ping_answered()
        assert await dependency_up("redis") == 0
        restartable_redis.start_again()
        await _until(lambda: dependency_up("redis"), 1.0, "Redis to be seen again")
        await ping_answered()
        restartable_postgres.kill()
        await _until(lambda: dependency_up("postgres"), 0.0, "PostgreSQL to be seen down")
        restartable_postgres.start_again()
        await _until(lambda: dependency_up("postgres"), 1.0, "PostgreSQL to be seen again")
        degraded = await _metric(
            http, worker, "shoal_dependency_degraded_total", dependency="redis", operation="claim"
        )
    assert degraded == 20
    assert sim.stats.interactions_double_acknowledged == 0
    assert sim.stats.interactions_unanswered == 0
    lines = _fault_lines(worker)
    assert len(lines) == 2, lines  # the two WARNINGs; the recoveries are INFO
    assert "Redis is unreachable (" in lines[0]
    assert "PostgreSQL is unreachable (" in lines[1]
    log = worker.log.read_text()
    assert "Redis is reachable again after" in log
    assert "PostgreSQL is reachable again after" in log


async def _until(
    read: Callable[[], Awaitable[float]], expected: float, what: str, *, timeout_s: float = 15.0
) -> None:
    """Wait until ``read()`` returns ``expected`` (a probe runs every 5 s up, 1 s down)."""
    seen: list[float] = []
    try:
        async with asyncio.timeout(timeout_s):
            while (value := await read()) != expected:
                seen.append(value)
                await asyncio.sleep(0.2)
    except TimeoutError:
        msg = f"timed out waiting for {what}: last values {seen[-5:]}"
        raise AssertionError(msg) from None
