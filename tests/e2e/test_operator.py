"""Acceptance: the real operator (``python -m shoal operator``, kopf) end to end.

Against the in-memory Kubernetes API (``tests.e2e.kube``), the Discord simulator and a
real Redis. The StatefulSet controller and the kubelet are a SIMULATION
(:class:`~tests.e2e.kube.kubelet.SimulatedKubelet`): each shard pod it "runs" is a real
``python -m shoal worker`` process with the pod's resolved environment; a Lavalink pod is
a placeholder process (there is no Lavalink here) and the command-sync Job runs the real
``python -m shoal sync-commands`` against the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from typing import TYPE_CHECKING

import aiohttp
import pytest
from redis.asyncio import Redis

from shoal.storage.redis_keys import RedisKeys
from shoal.storage.shard_registry import read_registry
from shoal_operator import children
from shoal_sim.discord.server import running_simulator
from tests.e2e.kube.kubelet import SimulatedKubelet
from tests.e2e.operator_scenarios import (
    API,
    FIRST_GUILDS,
    GROWN_GUILDS,
    WORLD,
    bot_manifest,
    condition,
    fresh_namespace,
    pod_runner,
    running_operator,
    seed_secrets,
    status_of,
    wait_deleted,
    wait_until,
)
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    import pathlib

    from tests.e2e.kube.fixtures import KubeApi


@pytest.fixture
def namespace() -> str:
    """A namespace of its own, so Redis keys and objects never meet another test's."""
    return fresh_namespace()


class _Load:
    """Injects /ping into random guilds at a steady rate until stopped; remembers the ids."""

    def __init__(self, control: ControlApi, guild_ids: list[int]) -> None:
        self._control = control
        self._guild_ids = guild_ids
        self.injected: list[str] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        rng = random.Random(7)  # noqa: S311 - picking guilds, not secrets
        while True:
            body = {"type": "command", "guild_id": str(rng.choice(self._guild_ids)), "name": "ping"}
            reply = await self._control.call("POST", "/interactions", json=body, expect=201)
            self.injected.append(str(reply["id"]))
            await asyncio.sleep(0.1)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _assert_children(kube_api: KubeApi, namespace: str, uid: str) -> None:
    """Generation 0's StatefulSet, Service and PDB, and Lavalink, as the spec asks."""
    shards = await kube_api.get("apps/v1", "StatefulSet", namespace, "bot-shards-g0")
    assert shards["spec"]["replicas"] == 2  # 3 shards, 2 per pod
    owner = shards["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("DiscordBot", uid, True)
    env = {e["name"]: e for e in shards["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SHOAL_TOTAL_SHARDS"]["value"] == "3"
    assert env["SHOAL_GENERATION"]["value"] == "0"
    assert env["SHOAL_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "bot-token"
    service = await kube_api.get("v1", "Service", namespace, "bot-shards-g0")
    assert service["spec"]["clusterIP"] == "None"
    budget = await kube_api.get("policy/v1", "PodDisruptionBudget", namespace, "bot-shards-g0")
    assert budget["spec"]["maxUnavailable"] == 1
    lavalink = await kube_api.get("apps/v1", "StatefulSet", namespace, "bot-lavalink")
    assert lavalink["spec"]["replicas"] == 2
    assert lavalink["metadata"]["ownerReferences"][0]["uid"] == uid
    await kube_api.get("v1", "ConfigMap", namespace, "bot-lavalink-config")


# About 30 s alone; the suite-wide 60 s leaves too little room on a loaded 2-core CI runner.
@pytest.mark.timeout(120)
async def test_operator_runs_reshards_and_cleans_up_a_discord_bot_when_guilds_grow(
    kube_api: KubeApi,
    redis_url: str,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    log = tmp_path / "operator.log"
    async with (
        running_simulator(WORLD) as sim,
        aiohttp.ClientSession() as http,
        SimulatedKubelet(
            kube_api,
            runner=pod_runner(tmp_path),
            job_runner=pod_runner(tmp_path),
            namespace=namespace,
        ),
        running_operator(kube_api, namespace, log) as operator,
        Redis.from_url(redis_url) as redis,
    ):
        control = ControlApi(http, sim)
        await seed_secrets(kube_api, namespace, redis_url)
        created = await kube_api.create(bot_manifest(namespace, sim))
        uid = created["metadata"]["uid"]

        async def running_with(shards: int, generation: int) -> bool:
            status = await status_of(kube_api, namespace)
            return (
                status.get("phase") == "Running"
                and status.get("currentShards") == shards
                and status.get("readyShards") == shards
                and status.get("activeGeneration") == generation
            )

        async def seen() -> str:
            sets = await kube_api.list("apps/v1", "StatefulSet", namespace)
            pods = await kube_api.list("v1", "Pod", namespace)
            return (
                f"status={await status_of(kube_api, namespace)} "
                f"sets={[(s['metadata']['name'], s.get('status')) for s in sets]} "
                f"pods={[p['metadata']['name'] for p in pods]}"
            )

        await wait_until(
            lambda: running_with(3, 0), "3 shards READY in generation 0", log=log, state=seen
        )
        status = await status_of(kube_api, namespace)
        assert condition(status, "Ready")["status"] == "True"
        assert condition(status, "Degraded")["status"] == "False"
        assert status["guilds"] == FIRST_GUILDS
        assert status["maxConcurrency"] == 1
        assert status["observedGeneration"] == created["metadata"]["generation"]

        await _assert_children(kube_api, namespace, uid)

        async def commands_synced() -> bool:
            return (await status_of(kube_api, namespace)).get("imageSynced") == (
                "ghcr.io/shoal-bot/shoal:e2e"
            )

        await wait_until(commands_synced, "the command-sync Job to finish", log=log)

        # Grow past 200 guilds per shard while /ping load runs: a blue/green reshard. The
        # operator is frozen (SIGSTOP) until all 400 new guilds are in the shard registry:
        # a pass in between would plan from a partial count (say 6 shards for 560 guilds,
        # which also holds at 700), and this test is about the plan for 700.
        load = _Load(control, sorted(sim.world.guilds))
        load.start()
        await _grow_while_frozen(operator, control, redis, namespace, log)
        await wait_until(
            lambda: running_with(7, 1), "7 shards READY in generation 1", log=log, state=seen
        )
        await load.stop()
        assert await kube_api.find("apps/v1", "StatefulSet", namespace, "bot-shards-g0") is None
        status = await status_of(kube_api, namespace)
        assert status["guilds"] == GROWN_GUILDS
        assert status["reshard"]["phase"] == "Steady"
        assert "lastReshardTime" in status
        reasons = {
            event.get("reason")
            for event in await kube_api.list("v1", "Event", namespace)
            if event.get("involvedObject", {}).get("uid") == uid
        }
        assert {"ReshardStarted", "ActiveGenerationSwitched", "ReshardCompleted"} <= reasons

        async def all_answered() -> bool:
            return sim.stats.interactions_answered >= len(load.injected)

        await wait_until(all_answered, "every injected /ping answered", log=log, timeout_s=20)
        assert len(load.injected) > 20
        # The simulator's count: the load may be stopped between an injection and its record.
        assert sim.stats.interactions_answered == sim.stats.interactions_injected
        assert sim.stats.interactions_unanswered == 0
        assert sim.stats.interactions_double_acknowledged == 0
        assert sim.stats.interactions_late == 0

        # Deleting the DiscordBot removes everything it owns (owner references + GC).
        await kube_api.delete(API, "discordbots", namespace, "bot")

        await wait_deleted(kube_api, namespace, log=log)


async def _grow_while_frozen(
    operator: asyncio.subprocess.Process,
    control: ControlApi,
    redis: Redis,
    namespace: str,
    log: pathlib.Path,
) -> None:
    """Add the new guilds with the operator stopped until the registry counts them all."""
    keys = RedisKeys(children.redis_namespace_for(namespace, "bot"))

    async def registry_total() -> bool:
        entries = await read_registry(redis, keys)
        return sum(e.guild_count for e in entries if e.generation == 0) == GROWN_GUILDS

    operator.send_signal(signal.SIGSTOP)
    try:
        await control.call(
            "POST", "/guilds", json={"count": GROWN_GUILDS - FIRST_GUILDS}, expect=201
        )
        await wait_until(registry_total, "the registry to count every new guild", log=log)
    finally:
        operator.send_signal(signal.SIGCONT)


async def test_operator_reports_an_invalid_spec_when_a_field_is_out_of_bounds(
    kube_api: KubeApi,
    redis_url: str,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    log = tmp_path / "operator.log"
    async with running_simulator(WORLD) as sim, running_operator(kube_api, namespace, log):
        await seed_secrets(kube_api, namespace, redis_url)
        bot = bot_manifest(namespace, sim)
        bot["spec"]["shards"]["shardsPerPod"] = 0
        await kube_api.create(bot)

        async def degraded() -> bool:
            return condition(await status_of(kube_api, namespace), "Degraded").get("reason") == (
                "InvalidSpec"
            )

        await wait_until(degraded, "a Degraded condition", log=log, timeout_s=30)
        status = await status_of(kube_api, namespace)
        assert status["phase"] == "Degraded"
        assert "spec.shards.shardsPerPod" in condition(status, "Degraded")["message"]
        assert await kube_api.list("apps/v1", "StatefulSet", namespace) == []
        events = await kube_api.list("v1", "Event", namespace)
        assert any(e.get("reason") == "InvalidSpec" and e.get("type") == "Warning" for e in events)
