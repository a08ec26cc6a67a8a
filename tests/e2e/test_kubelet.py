"""The simulated StatefulSet controller and kubelet run, probe, report and stop real processes."""

from __future__ import annotations

import asyncio
import base64
import signal
import sys
from typing import TYPE_CHECKING, Any, Final

from tests.e2e.kube.kubelet import PodLaunch, SimulatedKubelet, SubprocessHandle

if TYPE_CHECKING:
    from tests.e2e.kube.fixtures import KubeApi

# A pod's "container": an HTTP server on a free port (printed first) answering 200 on /readyz.
_SERVER: Final = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""
_NS: Final = "bots"


class _Runner:
    def __init__(self) -> None:
        self.launches: dict[str, PodLaunch] = {}
        self.handles: dict[str, SubprocessHandle] = {}

    async def __call__(self, launch: PodLaunch) -> SubprocessHandle:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _SERVER, env=dict(launch.env), stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        port = int(await process.stdout.readline())
        handle = SubprocessHandle(process, port)
        self.launches[launch.pod_name] = launch
        self.handles[launch.pod_name] = handle
        return handle


def _statefulset(replicas: int) -> dict[str, Any]:
    container = {
        "name": "worker",
        "image": "shoal:test",
        "command": ["shoal"],
        "args": ["worker", "--pod=$(POD_NAME)"],
        "env": [
            {"name": "PLAIN", "value": "1"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "bot", "key": "token"}}},
            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "bot", "key": "mode"}}},
        ],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "bot", "namespace": _NS},
        "spec": {
            "replicas": replicas,
            "serviceName": "bot",
            "selector": {"matchLabels": {"app": "bot"}},
            "template": {
                "metadata": {"labels": {"app": "bot"}},
                "spec": {"containers": [container]},
            },
        },
    }


async def _create_config(kube_api: KubeApi) -> None:
    token = base64.b64encode(b"s3cret").decode()
    await kube_api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "bot", "namespace": _NS},
            "data": {"token": token},
        }
    )
    await kube_api.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "bot", "namespace": _NS},
            "data": {"mode": "test"},
        }
    )


async def _sts_status(kube_api: KubeApi) -> dict[str, Any]:
    sts = await kube_api.get("apps/v1", "StatefulSet", _NS, "bot")
    status: dict[str, Any] = sts.get("status", {})
    return status


async def test_simulated_kubelet_runs_ready_pods_when_statefulset_is_created(
    kube_api: KubeApi,
) -> None:
    await _create_config(kube_api)
    runner = _Runner()
    async with SimulatedKubelet(kube_api, runner=runner):
        sts = await kube_api.create(_statefulset(replicas=2))

        async def all_ready() -> dict[str, Any] | None:
            status = await _sts_status(kube_api)
            return status if status.get("readyReplicas") == 2 else None

        status = await kube_api.wait_until(all_ready)
        pods = await kube_api.list("v1", "Pod", _NS, label_selector="app=bot")

    assert status == {
        "replicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
        "currentReplicas": 2,
        "updatedReplicas": 2,
        "currentRevision": status["currentRevision"],
        "updateRevision": status["currentRevision"],
        "observedGeneration": 1,
    }
    assert [pod["metadata"]["name"] for pod in pods] == ["bot-0", "bot-1"]
    for pod in pods:
        assert pod["metadata"]["ownerReferences"][0]["uid"] == sts["metadata"]["uid"]
        assert pod["status"]["phase"] == "Running"
        assert {"type": "Ready", "status": "True"} in pod["status"]["conditions"]
    launch = runner.launches["bot-1"]
    assert launch.env == {
        "PLAIN": "1",
        "POD_NAME": "bot-1",
        "POD_NS": _NS,
        "TOKEN": "s3cret",
        "MODE": "test",
    }
    assert (list(launch.command), list(launch.args)) == (["shoal"], ["worker", "--pod=bot-1"])
    assert all(handle.process.returncode is not None for handle in runner.handles.values())


async def test_simulated_kubelet_stops_processes_when_statefulset_scales_down_or_is_deleted(
    kube_api: KubeApi,
) -> None:
    await _create_config(kube_api)
    runner = _Runner()
    async with SimulatedKubelet(kube_api, runner=runner) as kubelet:
        await kube_api.create(_statefulset(replicas=2))

        async def ready_replicas_are(count: int) -> bool:
            status = await _sts_status(kube_api)
            return status.get("readyReplicas") == count and status.get("replicas") == count

        await kube_api.wait_until(lambda: ready_replicas_are(2))
        await kube_api.patch("apps/v1", "StatefulSet", _NS, "bot", {"spec": {"replicas": 1}})
        await kube_api.wait_until(lambda: ready_replicas_are(1))
        assert runner.handles["bot-1"].process.returncode == -signal.SIGTERM
        assert kubelet.running_pods == ["bot-0"]

        await kube_api.delete("apps/v1", "StatefulSet", _NS, "bot")

        async def no_pods() -> bool:
            return not await kube_api.list("v1", "Pod", _NS)

        await kube_api.wait_until(no_pods)
        await kubelet.reconcile()  # the pods are gone: this pass has stopped their processes
        assert kubelet.running_pods == []
        assert runner.handles["bot-0"].process.returncode == -signal.SIGTERM
