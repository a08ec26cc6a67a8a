"""Acceptance: two generations with different shard counts, as real worker processes.

Generation 0 runs 2 shards in one process; generation 1 runs 4 shards in two processes;
same bot, same Redis, one simulator. Every injected /ping reaches a shard of each
generation (two sessions) and is answered exactly once.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any, Final

from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import SimSettings
from tests.integration.gateway.worker_env import worker_env
from tests.integration.generations.shoal_workers import ShoalWorker, shoal_workers
from tests.integration.interactions.answers import answer_of, inject_command
from tests.integration.sim.control.control_api import ControlApi
from tests.integration.sim.gateway.waiting import eventually

if TYPE_CHECKING:
    import pathlib

    import aiohttp

    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator

_INTERACTIONS: Final = 40
_WINDOW_S: Final = 0.2
_WORLD: Final = SimSettings(
    guilds=_INTERACTIONS,
    members_per_guild=3,
    channels_per_guild=2,
    roles_per_guild=1,
    identify_window_s=_WINDOW_S,
    max_concurrency=4,
)
#: (generation, total shards, shards per process): 2 shards in 1 process, then 4 in 2.
_GENERATIONS: Final = ((0, 2, 2), (1, 4, 2))
_SKIPPED: Final = re.compile(
    r'^shoal_commands_total\{(?=[^}]*command="ping")(?=[^}]*outcome="claimed_elsewhere")[^}]*\}'
    r" ([0-9.e+]+)$",
    re.MULTILINE,
)


async def _spawn_generations(
    sim: Simulator, *, redis_url: str, bot_name: str, log_dir: pathlib.Path
) -> list[ShoalWorker]:
    workers: list[ShoalWorker] = []
    for generation, total, per_process in _GENERATIONS:
        for ordinal in range(total // per_process):
            env = worker_env(
                sim,
                redis_url=redis_url,
                bot_name=bot_name,
                total_shards=total,
                shards_per_pod=per_process,
                ordinal=ordinal,
                identify_window_s=_WINDOW_S,
            )
            env["SHOAL_GENERATION"] = str(generation)
            env["SHOAL_POD_NAME"] = f"shoal-g{generation}-{ordinal}"
            log = log_dir / f"worker-g{generation}-{ordinal}.log"
            workers.append(await ShoalWorker.spawn(env, log=log))
    return workers


async def _skipped(workers: list[ShoalWorker], http: aiohttp.ClientSession) -> float:
    """Sum /ping calls each worker dropped because another one claimed them first."""
    pages = await asyncio.gather(*(worker.metrics_text(http) for worker in workers))
    return sum(float(value) for page in pages for value in _SKIPPED.findall(page))


async def test_every_interaction_is_answered_once_when_two_generations_run_as_processes(
    redis_url: str, bot_keys: RedisKeys, http: aiohttp.ClientSession, tmp_path: pathlib.Path
) -> None:
    async with running_simulator(_WORLD) as sim, shoal_workers() as workers:
        workers.extend(
            await _spawn_generations(
                sim, redis_url=redis_url, bot_name=bot_keys.namespace, log_dir=tmp_path
            )
        )
        await asyncio.gather(*(worker.ready(http) for worker in workers))
        control = ControlApi(http, sim)
        # sessions=2: each /ping reaches one shard of each generation (asserted inside).
        injected = await asyncio.gather(
            *(
                inject_command(control, guild_id, "ping", sessions=2)
                for guild_id in sorted(sim.world.guilds)
            )
        )
        answers: list[dict[str, Any]] = [
            await answer_of(control, interaction_id, timeout_s=10.0) for interaction_id in injected
        ]
        skipped = 0.0

        async def poll_skipped() -> None:
            nonlocal skipped
            while skipped < _INTERACTIONS:
                skipped = await _skipped(workers, http)
                await asyncio.sleep(0.05)

        async with asyncio.timeout(10.0):
            await poll_skipped()
        await eventually(
            lambda: sim.stats.interactions_answered >= _INTERACTIONS, "every answer counted"
        )
        stats = sim.stats
    assert len(injected) == _INTERACTIONS
    assert stats.interactions_injected == _INTERACTIONS
    assert stats.interactions_answered == _INTERACTIONS
    assert stats.interactions_double_acknowledged == 0
    assert stats.interactions_late == 0
    assert stats.invalid_sessions == 0
    assert all(answer["response_type"] is not None for answer in answers)
    assert all(answer["acknowledge_attempts"] == 1 for answer in answers)
    # The losing generation saw each one too, and dropped it without a word.
    assert skipped == _INTERACTIONS
