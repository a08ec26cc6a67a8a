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
import base64
import contextlib
import os
import pathlib
import random
import socket
import sys
import uuid
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import pytest

from shoal_sim.discord.server import running_simulator
from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from tests.e2e.kube.kubelet import PodLaunch, SimulatedKubelet, SubprocessHandle
from tests.integration.sim.control.control_api import ControlApi

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from shoal_sim.discord.server import Simulator
    from tests.e2e.kube.fixtures import KubeApi

_REPO_ROOT: Final = pathlib.Path(__file__).resolve().parents[2]
_API: Final = "shoal.dev/v1alpha1"
_WINDOW_S: Final = 0.2
#: 300 guilds at 100 per shard: 3 shards; 700 guilds cross the 200-per-shard cap.
_FIRST_GUILDS: Final = 300
_GROWN_GUILDS: Final = 700
_WAIT_S: Final = 90.0
_WORLD: Final = SimSettings(
    guilds=_FIRST_GUILDS,
    members_per_guild=2,
    channels_per_guild=2,
    roles_per_guild=1,
    identify_window_s=_WINDOW_S,
    max_concurrency=1,
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _secret(namespace: str, name: str, key: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {key: base64.b64encode(value.encode()).decode()},
    }


def _bot(namespace: str, sim: Simulator) -> dict[str, Any]:
    return {
        "apiVersion": _API,
        "kind": "DiscordBot",
        "metadata": {"name": "bot", "namespace": namespace},
        "spec": {
            "image": "ghcr.io/shoal-bot/shoal:e2e",
            "tokenSecretRef": {"name": "bot-token"},
            "intents": ["Guilds", "GuildMessages", "GuildVoiceStates"],  # none privileged
            "discord": {"apiBaseUrl": sim.rest_url, "identifyWindowSeconds": _WINDOW_S},
            "shards": {
                "targetGuildsPerShard": 100,
                "maxGuildsPerShard": 200,
                "shardsPerPod": 2,
                "headroomPercent": 0,
            },
            "redis": {"urlSecretRef": {"name": "bot-redis"}},
            "postgres": {"dsnSecretRef": {"name": "bot-postgres"}},
            "lavalink": {"nodes": 2, "passwordSecretRef": {"name": "bot-lavalink"}},
        },
    }


async def _spawn(
    args: list[str], env: dict[str, str], log: pathlib.Path
) -> asyncio.subprocess.Process:
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shoal",
            *args,
            cwd=_REPO_ROOT,
            env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
        )


def _runner(log_dir: pathlib.Path) -> Callable[[PodLaunch], Any]:
    async def run(launch: PodLaunch) -> SubprocessHandle:
        log = log_dir / f"{launch.pod_name}.log"
        if list(launch.args[:1]) == ["worker"]:
            port = _free_port()
            env = dict(launch.env) | {
                "SHOAL_HTTP_HOST": "127.0.0.1",
                "SHOAL_HTTP_PORT": str(port),
                "SHOAL_LOG_JSON": "false",
            }
            return SubprocessHandle(await _spawn(["worker"], env, log), port)
        if list(launch.args[:1]) == ["sync-commands"]:
            return SubprocessHandle(await _spawn(["sync-commands"], dict(launch.env), log), None)
        # A Lavalink pod: no Lavalink here; a placeholder process stands in for it.
        placeholder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(3600)"
        )
        return SubprocessHandle(placeholder, None)

    return run


@contextlib.asynccontextmanager
async def _operator(
    kubeconfig: pathlib.Path, namespace: str, log: pathlib.Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        "KUBECONFIG": str(kubeconfig),
        "SHOAL_OPERATOR_NAMESPACES": namespace,
        "SHOAL_OPERATOR_STANDALONE": "true",
        "SHOAL_OPERATOR_INTERVAL_S": "0.5",
        "SHOAL_OPERATOR_METRICS_PORT": str(_free_port()),
        "SHOAL_OPERATOR_HEALTH_PORT": str(_free_port()),
    }
    process = await _spawn(["operator"], env, log)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(15):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def _status(kube_api: KubeApi, namespace: str) -> dict[str, Any]:
    bot = await kube_api.get(_API, "discordbots", namespace, "bot")
    return dict(bot.get("status") or {})


async def _until(
    check: Callable[[], Any],
    what: str,
    *,
    log: pathlib.Path,
    timeout_s: float = _WAIT_S,
    state: Callable[[], Any] | None = None,
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            text = await asyncio.to_thread(log.read_text, errors="replace")
            seen = "" if state is None else f"state: {await state()}\n"
            pytest.fail(f"timed out waiting for {what}; {seen}operator log:\n{text[-4000:]}")
        await asyncio.sleep(0.1)


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in status.get("conditions", []) if c["type"] == kind), {})


@pytest.fixture
def namespace() -> str:
    """A namespace of its own, so Redis keys and objects never meet another test's."""
    return f"e2e-{uuid.uuid4().hex[:8]}"


async def _seed(kube_api: KubeApi, namespace: str, redis_url: str) -> None:
    for obj in (
        _secret(namespace, "bot-token", "token", DEFAULT_TOKEN),
        _secret(namespace, "bot-redis", "url", redis_url),
        # Workers read it at start; /ping never touches PostgreSQL.
        _secret(namespace, "bot-postgres", "dsn", "postgresql://unused@127.0.0.1:1/unused"),
        _secret(namespace, "bot-lavalink", "password", "youshallnotpass"),
    ):
        await kube_api.create(obj)


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


async def test_operator_runs_reshards_and_cleans_up_a_discord_bot_when_guilds_grow(
    kube_api: KubeApi,
    kubeconfig: pathlib.Path,
    redis_url: str,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    log = tmp_path / "operator.log"
    async with (
        running_simulator(_WORLD) as sim,
        aiohttp.ClientSession() as http,
        SimulatedKubelet(
            kube_api, runner=_runner(tmp_path), job_runner=_runner(tmp_path), namespace=namespace
        ),
        _operator(kubeconfig, namespace, log),
    ):
        control = ControlApi(http, sim)
        await _seed(kube_api, namespace, redis_url)
        created = await kube_api.create(_bot(namespace, sim))
        uid = created["metadata"]["uid"]

        async def running_with(shards: int, generation: int) -> bool:
            status = await _status(kube_api, namespace)
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
                f"status={await _status(kube_api, namespace)} "
                f"sets={[(s['metadata']['name'], s.get('status')) for s in sets]} "
                f"pods={[p['metadata']['name'] for p in pods]}"
            )

        await _until(
            lambda: running_with(3, 0), "3 shards READY in generation 0", log=log, state=seen
        )
        status = await _status(kube_api, namespace)
        assert _condition(status, "Ready")["status"] == "True"
        assert _condition(status, "Degraded")["status"] == "False"
        assert status["guilds"] == _FIRST_GUILDS
        assert status["maxConcurrency"] == 1
        assert status["observedGeneration"] == created["metadata"]["generation"]

        await _assert_children(kube_api, namespace, uid)

        async def commands_synced() -> bool:
            return (await _status(kube_api, namespace)).get("imageSynced") == (
                "ghcr.io/shoal-bot/shoal:e2e"
            )

        await _until(commands_synced, "the command-sync Job to finish", log=log)

        # Grow past 200 guilds per shard while /ping load runs: a blue/green reshard.
        load = _Load(control, sorted(sim.world.guilds))
        load.start()
        await control.call(
            "POST", "/guilds", json={"count": _GROWN_GUILDS - _FIRST_GUILDS}, expect=201
        )
        await _until(lambda: running_with(7, 1), "7 shards READY in generation 1", log=log)
        await load.stop()
        assert await kube_api.find("apps/v1", "StatefulSet", namespace, "bot-shards-g0") is None
        status = await _status(kube_api, namespace)
        assert status["guilds"] == _GROWN_GUILDS
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

        await _until(all_answered, "every injected /ping answered", log=log, timeout_s=20)
        assert len(load.injected) > 20
        # The simulator's count: the load may be stopped between an injection and its record.
        assert sim.stats.interactions_answered == sim.stats.interactions_injected
        assert sim.stats.interactions_unanswered == 0
        assert sim.stats.interactions_double_acknowledged == 0
        assert sim.stats.interactions_late == 0

        # Deleting the DiscordBot removes everything it owns (owner references + GC).
        await kube_api.delete(_API, "discordbots", namespace, "bot")

        async def cleaned_up() -> bool:
            left = [
                await kube_api.list(api, kind, namespace)
                for api, kind in (
                    ("apps/v1", "StatefulSet"),
                    ("v1", "Service"),
                    ("policy/v1", "PodDisruptionBudget"),
                    ("v1", "ConfigMap"),
                    ("batch/v1", "Job"),
                )
            ]
            return not any(left)

        await _until(cleaned_up, "the bot's objects to be deleted", log=log, timeout_s=20)


async def test_operator_reports_an_invalid_spec_when_a_field_is_out_of_bounds(
    kube_api: KubeApi,
    kubeconfig: pathlib.Path,
    redis_url: str,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    log = tmp_path / "operator.log"
    async with running_simulator(_WORLD) as sim, _operator(kubeconfig, namespace, log):
        await _seed(kube_api, namespace, redis_url)
        bot = _bot(namespace, sim)
        bot["spec"]["shards"]["shardsPerPod"] = 0
        await kube_api.create(bot)

        async def degraded() -> bool:
            return _condition(await _status(kube_api, namespace), "Degraded").get("reason") == (
                "InvalidSpec"
            )

        await _until(degraded, "a Degraded condition", log=log, timeout_s=30)
        status = await _status(kube_api, namespace)
        assert status["phase"] == "Degraded"
        assert "spec.shards.shardsPerPod" in _condition(status, "Degraded")["message"]
        assert await kube_api.list("apps/v1", "StatefulSet", namespace) == []
        events = await kube_api.list("v1", "Event", namespace)
        assert any(e.get("reason") == "InvalidSpec" and e.get("type") == "Warning" for e in events)
