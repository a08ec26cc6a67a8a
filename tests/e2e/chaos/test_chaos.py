"""The fleet under faults: ``shoal local up`` with real workers, broken while it serves.

A fleet of 4 shards in 2 real ``shoal worker`` processes, against the Discord simulator,
a Redis and a PostgreSQL of the test's own, under the simulator's load (messages and /ping
interactions); then, one after the other on the same fleet, as an operator would meet
them: a worker SIGKILLed (the local fleet restarts it, as the kubelet would), a worker
frozen past the heartbeat timeout, Redis killed and started again (empty: no
persistence), PostgreSQL killed and started again. A second fleet is resharded by
``--grow`` and loses Redis in the middle.

After each fault: no interaction answered twice; every unanswered one was sent inside the
fault's window (from a deadline before it began until the fleet was READY again); every
shard READY again within the stated bound; at most 20 warning lines in the workers' logs.
Each fault's cost is printed (``pytest -s``) for the record.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING, Final

import pytest

from tests.e2e.chaos.fleet import FaultCost, chaos_fleet

if TYPE_CHECKING:
    from tests.fixtures.restartable import RestartableServer

pytestmark = pytest.mark.timeout(240)

_SHARDS: Final = 4
_FLEET: Final = (
    "--guilds=400",
    f"--shards={_SHARDS}",
    "--shards-per-worker=2",
    "--max-concurrency=4",
    "--identify-window=0.2",
    "--heartbeat-interval=2000",  # a frozen worker's sessions close after 3 s
    "--messages-per-s=20",
    "--interactions-per-s=5",
    "--refresh=0.5",
    "--reshard-interval=1",
)
_FROZEN_S: Final = 5.0  # past the simulator's 1.5 heartbeat intervals
_OUTAGE_S: Final = 4.0
#: The stated bound: every shard READY again within this long of the fault's start.
_READY_BOUND_S: Final = 20.0
#: Lines a person reads for one fault over the whole fleet (up to 4 workers across a
#: reshard): each part says an outage once per worker, not once per event: the servers'
#: health, the levels tap and flush job, and a command that could not run (once a minute).
_MAX_WARNING_LINES: Final = 32


def started_at_text(cost: FaultCost) -> str:
    return f"{cost.name} started at {cost.started_at:.3f}, READY at {cost.ready_at:.3f}"


def _check(cost: FaultCost) -> None:
    print(cost.summary())  # noqa: T201 - the record of what each fault costs
    assert cost.double_acknowledged == 0, f"{started_at_text(cost)}: {cost.answered_twice!r}"
    assert cost.unexplained == (), cost.unexplained
    assert cost.ready_s <= _READY_BOUND_S, cost
    assert len(cost.warning_lines) <= _MAX_WARNING_LINES, "\n".join(cost.warning_lines)
    assert cost.injected > 0, cost  # the load ran through the fault


async def test_fleet_keeps_answering_through_a_killed_worker_a_frozen_one_and_dead_servers(
    restartable_redis: RestartableServer, restartable_postgres: RestartableServer
) -> None:
    async with chaos_fleet(
        redis_url=restartable_redis.url,
        postgres_dsn=restartable_postgres.url,
        shards=_SHARDS,
        arguments=_FLEET,
    ) as fleet:
        await asyncio.sleep(3.0)  # sessions saved (every second) and the load running

        async def kill_worker() -> None:
            os.kill(fleet.pods()["local-1"], signal.SIGKILL)

        killed = await fleet.measure("SIGKILL a worker", kill_worker, disconnects=True)
        _check(killed)
        assert killed.identifies == 0  # its shards RESUME the sessions it saved
        assert killed.resumes == 2
        await fleet.wait_for_line("Worker local-1 exited (killed by SIGKILL); starting it again")

        async def freeze_worker() -> None:
            pid = fleet.pods()["local-0"]
            os.kill(pid, signal.SIGSTOP)
            try:
                await asyncio.sleep(_FROZEN_S)
            finally:
                os.kill(pid, signal.SIGCONT)

        frozen = await fleet.measure("SIGSTOP a worker 5 s", freeze_worker, disconnects=True)
        _check(frozen)
        assert frozen.identifies + frozen.resumes == 2  # one session start or resume a shard

        async def redis_outage() -> None:
            restartable_redis.kill()
            await asyncio.sleep(_OUTAGE_S)
            await asyncio.to_thread(restartable_redis.start_again)

        redis = await fleet.measure("kill Redis 4 s", redis_outage, disconnects=False)
        _check(redis)
        assert redis.identifies == 0
        assert redis.unanswered == 0  # answered without claims by the one active generation

        async def postgres_outage() -> None:
            restartable_postgres.kill()
            await asyncio.sleep(_OUTAGE_S)
            await asyncio.to_thread(restartable_postgres.start_again)

        postgres = await fleet.measure("kill PostgreSQL 4 s", postgres_outage, disconnects=False)
        _check(postgres)
        assert (postgres.identifies, postgres.unanswered) == (0, 0)
        assert "every worker exited" not in fleet.output()
        code = await fleet.stop()
    assert code == 0, fleet.output()


_RESHARDING_FLEET: Final = (
    "--guilds=1700",  # 2 shards at max concurrency 2 (with 10 % headroom); past 2,000, 4
    "--members-per-guild=2",
    "--max-concurrency=2",
    "--shards-per-worker=2",
    "--identify-window=0.2",
    "--heartbeat-interval=2000",
    "--messages-per-s=20",
    "--interactions-per-s=5",
    "--refresh=0.5",
    "--reshard-interval=1",
)


@pytest.mark.parametrize("moment", ["generation 1 starts", "both generations are live"])
async def test_fleet_reshards_through_a_redis_outage_in_the_middle(
    moment: str, restartable_redis: RestartableServer, restartable_postgres: RestartableServer
) -> None:
    async with chaos_fleet(
        redis_url=restartable_redis.url,
        postgres_dsn=restartable_postgres.url,
        shards=2,
        arguments=_RESHARDING_FLEET,
    ) as fleet:
        await fleet.post("/guilds", {"count": 400, "members": 2})  # the bot grows past 2,000
        await fleet.wait_for_line("Started generation 1: 4 shards", timeout_s=60.0)
        if moment == "both generations are live":
            # Every interaction now reaches a shard of each generation; without Redis only
            # the last known active one (0) may answer. The switch to 1 needs Redis: it
            # waits for the outage to end.
            await fleet.wait_ready(timeout_s=30.0, shard_count=4)

        async def redis_outage() -> None:
            restartable_redis.kill()
            await asyncio.sleep(_OUTAGE_S)
            await asyncio.to_thread(restartable_redis.start_again)

        cost = await fleet.measure(
            f"kill Redis as {moment}", redis_outage, disconnects=False, shard_count=4
        )
        _check(cost)
        assert cost.unanswered == 0, cost  # generation 0 answered throughout
        await fleet.wait_for_line("completed", timeout_s=60.0)
        await asyncio.sleep(3.0)  # the old generation drains and stops
        settled = await fleet.measure(
            "after the reshard", _nothing, disconnects=False, shard_count=4
        )
        code = await fleet.stop()
    assert settled.unanswered == 0, settled
    assert settled.double_acknowledged == 0, settled
    assert code == 0, fleet.output()


async def _nothing() -> None:
    """A fault that breaks nothing: the fleet's steady cost, for comparison."""
