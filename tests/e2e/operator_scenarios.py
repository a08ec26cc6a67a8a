"""What the operator's e2e tests share: the world, the objects they create, the processes.

Owns the simulated Discord world, the Secrets and DiscordBot the tests create, the runner the
SIMULATED kubelet starts pods with (real ``python -m shoal worker`` and ``sync-commands``
processes, a placeholder for Lavalink), and ``running_operator``: the real
``python -m shoal operator`` run the way the Helm chart runs it (kopf peering through a
KopfPeering object, not standalone), with a kubeconfig token of its own so its API calls can
be told apart from the tests' and from other operators' (``ApiCall.bearer_token``). Does not
own any assertion about the outcome: the tests do that.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import pathlib
import sys
import uuid
from typing import TYPE_CHECKING, Any, Final

import pytest

from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from tests.e2e.kube.kubelet import PodLaunch, SubprocessHandle
from tests.fixtures.ports import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from shoal_sim.discord.server import Simulator
    from tests.e2e.kube.fixtures import KubeApi

__all__ = [
    "API",
    "FIRST_GUILDS",
    "GROWN_GUILDS",
    "OPERATOR_TOKEN",
    "PEERING",
    "WORLD",
    "bot_manifest",
    "condition",
    "fresh_namespace",
    "pod_runner",
    "running_operator",
    "seed_secrets",
    "status_of",
    "wait_deleted",
    "wait_until",
]

_REPO_ROOT: Final = pathlib.Path(__file__).resolve().parents[2]
API: Final = "shoal.dev/v1alpha1"
_WINDOW_S: Final = 0.2
#: 300 guilds at 100 per shard: 3 shards; 700 guilds cross the 200-per-shard cap.
FIRST_GUILDS: Final = 300
GROWN_GUILDS: Final = 700
_WAIT_S: Final = 90.0
WORLD: Final = SimSettings(
    guilds=FIRST_GUILDS,
    members_per_guild=2,
    channels_per_guild=2,
    roles_per_guild=1,
    identify_window_s=_WINDOW_S,
    max_concurrency=1,
)
#: The bearer token in the operator's kubeconfig: its calls are the ones carrying it.
OPERATOR_TOKEN: Final = "shoal-operator-token"  # noqa: S105 - nothing checks it
#: The KopfPeering the operators coordinate through (not kopf's default name, so the
#: SHOAL_OPERATOR_PEERING setting is what makes it work).
PEERING: Final = "shoal-e2e"
# How long an operator may take to stop on SIGTERM before it is killed.
_STOP_TIMEOUT_S: Final = 15.0


def fresh_namespace() -> str:
    """A namespace of its own, so Redis keys and objects never meet another test's."""
    return f"e2e-{uuid.uuid4().hex[:8]}"


def _secret(namespace: str, name: str, key: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {key: base64.b64encode(value.encode()).decode()},
    }


def bot_manifest(namespace: str, sim: Simulator) -> dict[str, Any]:
    """The DiscordBot ``bot``: 100 guilds per shard, 2 shards per pod, 2 Lavalink nodes."""
    return {
        "apiVersion": API,
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


async def seed_secrets(kube_api: KubeApi, namespace: str, redis_url: str) -> None:
    """Create the Secrets ``bot_manifest`` refers to."""
    for obj in (
        _secret(namespace, "bot-token", "token", DEFAULT_TOKEN),
        _secret(namespace, "bot-redis", "url", redis_url),
        # Workers read it at start; /ping never touches PostgreSQL.
        _secret(namespace, "bot-postgres", "dsn", "postgresql://unused@127.0.0.1:1/unused"),
        _secret(namespace, "bot-lavalink", "password", "youshallnotpass"),
    ):
        await kube_api.create(obj)


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


def pod_runner(log_dir: pathlib.Path) -> Callable[[PodLaunch], Any]:
    """How the SIMULATED kubelet runs a pod; its logs go to ``log_dir``.

    A real worker or sync-commands process, or a placeholder for Lavalink (there is none).
    """

    async def run(launch: PodLaunch) -> SubprocessHandle:
        log = log_dir / f"{launch.pod_name}.log"
        if list(launch.args[:1]) == ["worker"]:
            port = free_port()
            env = dict(launch.env) | {
                "SHOAL_HTTP_HOST": "127.0.0.1",
                "SHOAL_HTTP_PORT": str(port),
                "SHOAL_LOG_JSON": "false",
            }
            return SubprocessHandle(await _spawn(["worker"], env, log), port)
        if list(launch.args[:1]) == ["sync-commands"]:
            return SubprocessHandle(await _spawn(["sync-commands"], dict(launch.env), log), None)
        placeholder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import time; time.sleep(3600)"
        )
        return SubprocessHandle(placeholder, None)

    return run


def _peering(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "kopf.dev/v1",
        "kind": "KopfPeering",
        "metadata": {"name": name, "namespace": namespace},
    }


@contextlib.asynccontextmanager
async def running_operator(  # the API, where, and how the chart would configure it
    kube_api: KubeApi,
    namespace: str,
    log: pathlib.Path,
    *,
    peering: str = PEERING,
    priority: int = 0,
    token: str = OPERATOR_TOKEN,
    peering_lifetime_s: float | None = None,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``python -m shoal operator`` on ``namespace`` as the chart does; stop it on exit.

    Peering as in the chart: not standalone, through the KopfPeering ``peering`` in the
    namespace (created here when absent, as the chart creates it before the operator starts),
    with kopf's default peering lifetime unless ``peering_lifetime_s`` is given. Its
    kubeconfig (next to ``log``, so one per log) carries ``token``: give each of several
    operators its own to tell their calls apart.
    """
    if await kube_api.find("kopf.dev/v1", "KopfPeering", namespace, peering) is None:
        await kube_api.create(_peering(namespace, peering))
    kubeconfig = kube_api.write_kubeconfig(log.with_suffix(".kubeconfig"), token=token)
    env = {
        "KUBECONFIG": str(kubeconfig),
        "SHOAL_OPERATOR_NAMESPACES": namespace,
        "SHOAL_OPERATOR_STANDALONE": "false",
        "SHOAL_OPERATOR_PEERING": peering,
        "SHOAL_OPERATOR_PRIORITY": str(priority),
        "SHOAL_OPERATOR_INTERVAL_S": "0.5",
        "SHOAL_OPERATOR_METRICS_PORT": str(free_port()),
        "SHOAL_OPERATOR_HEALTH_PORT": str(free_port()),
    }
    if peering_lifetime_s is not None:
        env["SHOAL_OPERATOR_PEERING_LIFETIME_S"] = str(peering_lifetime_s)
    process = await _spawn(["operator"], env, log)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(_STOP_TIMEOUT_S):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


async def status_of(kube_api: KubeApi, namespace: str) -> dict[str, Any]:
    """The DiscordBot ``bot``'s status (empty when it has none)."""
    bot = await kube_api.get(API, "discordbots", namespace, "bot")
    return dict(bot.get("status") or {})


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    """The status condition of type ``kind`` (empty when absent)."""
    return next((c for c in status.get("conditions", []) if c["type"] == kind), {})


async def wait_until(
    check: Callable[[], Any],
    what: str,
    *,
    log: pathlib.Path,
    timeout_s: float = _WAIT_S,
    state: Callable[[], Any] | None = None,
) -> None:
    """Poll ``check`` until it is true; fail with ``what``, ``state`` and the log's tail."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            text = await asyncio.to_thread(log.read_text, errors="replace")
            seen = "" if state is None else f"state: {await state()}\n"
            pytest.fail(f"timed out waiting for {what}; {seen}operator log:\n{text[-4000:]}")
        await asyncio.sleep(0.1)


_CHILDREN: Final = (
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("policy/v1", "PodDisruptionBudget"),
    ("v1", "ConfigMap"),
    ("batch/v1", "Job"),
)


async def wait_deleted(
    kube_api: KubeApi, namespace: str, *, log: pathlib.Path, timeout_s: float = 30.0
) -> None:
    """Wait until the DiscordBot ``bot`` and every child the operator made are gone."""

    async def gone() -> bool:
        if await kube_api.find(API, "discordbots", namespace, "bot") is not None:
            return False
        return not any([await kube_api.list(api, kind, namespace) for api, kind in _CHILDREN])

    async def left() -> list[tuple[str, str]]:
        found = [
            await kube_api.list(a, k, namespace) for a, k in (*_CHILDREN, (API, "discordbots"))
        ]
        return [(o["kind"], o["metadata"]["name"]) for objs in found for o in objs]

    await wait_until(
        gone, "the bot and its objects deleted", log=log, timeout_s=timeout_s, state=left
    )
