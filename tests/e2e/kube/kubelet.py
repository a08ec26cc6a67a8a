"""A SIMULATION of the StatefulSet controller, the Job controller and the kubelet, for e2e tests.

Owns the fake "cluster side" of workloads in the in-memory API: for every StatefulSet with N
replicas it creates Pods ``<sts>-0..N-1`` (owner reference to the StatefulSet, the template's
labels and annotations, a ``controller-revision-hash`` label), starts one real local process
per Pod through a pluggable async runner (given the Pod's name, the first container's resolved
environment, command and args), marks the Pod Ready once a readiness check passes (by default
an HTTP GET of the container's ``readinessProbe.httpGet.path`` on the port the runner reports),
and writes the StatefulSet's status. Scaling down, deleting a Pod or the StatefulSet (its Pods
go through the API's garbage collector) stops the processes with SIGTERM. Jobs, if a job runner
is given, run their first container to completion and are marked Complete or Failed.

Not a real rollout and not a real kubelet: no scheduling, images, volumes, resource limits,
probes other than readiness, restarts of crashed processes, PodDisruptionBudgets, or
``podManagementPolicy``/``updateStrategy``. A changed Pod template is rolled out crudely:
when every Pod is Ready, the highest-ordinal stale Pod is deleted and recreated. Job Pods are
not created as objects. It knows nothing of Shoal (it must not import ``shoal_operator``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import aiohttp

from tests.e2e.kube.fixtures import KubeApiError

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self

    from tests.e2e.kube.fixtures import KubeApi

__all__ = [
    "PodLaunch",
    "PodRunner",
    "ProcessHandle",
    "ReadinessCheck",
    "SimulatedKubelet",
    "SubprocessHandle",
]

_logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]

_STS_API: Final = "apps/v1"
_REVISION_LABEL: Final = "controller-revision-hash"
_POD_NAME_LABEL: Final = "statefulset.kubernetes.io/pod-name"
# How often pods that are not Ready yet are probed again (there is no API write to wake us).
_PROBE_INTERVAL_S: Final = 0.05
_VAR_REFERENCE: Final = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


@dataclasses.dataclass(frozen=True, slots=True)
class PodLaunch:
    """What a runner needs to start a Pod's (first) container as a local process."""

    namespace: str
    """The Pod's namespace."""
    pod_name: str
    """The Pod's name, e.g. ``bot-shards-0``."""
    env: Mapping[str, str]
    """The container's environment, resolved (values, Secret/ConfigMap keys, field refs)."""
    command: Sequence[str]
    """The container's ``command`` with ``$(VAR)`` references expanded."""
    args: Sequence[str]
    """The container's ``args`` with ``$(VAR)`` references expanded."""
    container: Mapping[str, Any]
    """The raw container spec (for ports, probes)."""


class ProcessHandle(Protocol):
    """A running container process, as a runner returns it."""

    @property
    def port(self) -> int | None:
        """The local port where its readiness probe is served, if any."""
        ...

    async def stop(self) -> None:
        """Send SIGTERM and wait until the process is gone."""
        ...

    async def wait(self) -> int:
        """Wait for the process to exit on its own; return its exit code."""
        ...


PodRunner = Callable[[PodLaunch], Awaitable[ProcessHandle]]
"""Starts a Pod's container as a local process."""
ReadinessCheck = Callable[[PodLaunch, ProcessHandle], Awaitable[bool]]
"""Whether a started Pod is Ready now."""


class SubprocessHandle:
    """``ProcessHandle`` over an ``asyncio`` subprocess.

    Args:
        process: the started process.
        port: where it serves its readiness probe, if anywhere.
        stop_timeout_s: how long to wait after SIGTERM before SIGKILL.
    """

    def __init__(
        self, process: asyncio.subprocess.Process, port: int | None, *, stop_timeout_s: float = 10.0
    ) -> None:
        self.process = process
        self._port = port
        self._stop_timeout_s = stop_timeout_s

    @property
    def port(self) -> int | None:
        """The local port where its readiness probe is served, if any."""
        return self._port

    async def stop(self) -> None:
        """Send SIGTERM, then SIGKILL if it outlives the timeout; wait until it is gone."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), self._stop_timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
        await self.process.wait()

    async def wait(self) -> int:
        """Wait for the process to exit; return its exit code."""
        return await self.process.wait()


@dataclasses.dataclass(slots=True)
class _RunningPod:
    uid: str
    launch: PodLaunch
    handle: ProcessHandle
    is_ready: bool = False


class SimulatedKubelet:
    """Plays the StatefulSet/Job controllers and the kubelet against the emulator (see module doc).

    Use as ``async with SimulatedKubelet(kube_api, runner=...) as kubelet:``; leaving stops every
    process it started.

    Args:
        api: the emulator's client (``kube_api`` fixture).
        runner: starts a Pod's process.
        readiness: decides when a started Pod is Ready; by default an HTTP GET of the
            container's readinessProbe path on ``handle.port`` (Ready at once without a probe).
        job_runner: runs a Job's container; without one, Jobs are left alone.
        namespace: only act in this namespace (all when None).
    """

    def __init__(
        self,
        api: KubeApi,
        *,
        runner: PodRunner,
        readiness: ReadinessCheck | None = None,
        job_runner: PodRunner | None = None,
        namespace: str | None = None,
    ) -> None:
        self._api = api
        self._runner = runner
        self._readiness = readiness
        self._job_runner = job_runner
        self._namespace = namespace
        self._pods: dict[tuple[str, str], _RunningPod] = {}
        self._jobs: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._pass_lock = asyncio.Lock()  # one pass at a time: background and explicit

    @property
    def running_pods(self) -> list[str]:
        """Names of the Pods whose processes run, sorted."""
        return sorted(name for _, name in self._pods)

    def handle(self, namespace: str, pod_name: str) -> ProcessHandle:
        """The process handle of a running Pod."""
        return self._pods[namespace, pod_name].handle

    async def __aenter__(self) -> Self:
        """Start the background reconciliation."""
        self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run(), name="simulated-kubelet")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop reconciling and stop every process started (SIGTERM)."""
        tasks = [task for task in (self._task, *self._jobs.values()) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(pod.handle.stop() for pod in self._pods.values()))
        self._pods.clear()
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            change = asyncio.ensure_future(self._api.emulator.wait_for_change())
            try:
                await self.reconcile()
            except Exception:
                _logger.exception("simulated kubelet pass failed; retrying on the next change")
            has_unready = any(not pod.is_ready for pod in self._pods.values())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(change, _PROBE_INTERVAL_S if has_unready else None)

    async def reconcile(self) -> None:
        """One pass over StatefulSets, Pods and Jobs (the background task runs it on changes).

        Tests may await it to settle what needs no API write to notice (a stopped process).
        """
        async with self._pass_lock:
            await self._reconcile_all()

    async def _reconcile_all(self) -> None:
        for sts in await self._api.list(_STS_API, "StatefulSet", self._namespace):
            if not sts["metadata"].get("deletionTimestamp"):
                await self._reconcile_statefulset(sts)
        await self._forget_vanished_pods()
        if self._job_runner is not None:
            for job in await self._api.list("batch/v1", "Job", self._namespace):
                self._start_job(job, self._job_runner)

    async def _reconcile_statefulset(self, sts: JsonObject) -> None:
        meta, spec = sts["metadata"], sts.get("spec", {})
        namespace, name = meta["namespace"], meta["name"]
        replicas = int(spec.get("replicas", 1))
        revision = _revision_of(spec.get("template", {}))
        pods = {
            pod["metadata"]["name"]: pod
            for pod in await self._api.list("v1", "Pod", namespace)
            if any(
                ref.get("uid") == meta["uid"] for ref in pod["metadata"].get("ownerReferences", [])
            )
        }
        for ordinal in range(replicas):
            pod_name = f"{name}-{ordinal}"
            if pod_name not in pods:
                pods[pod_name] = await self._create_pod(sts, pod_name, revision)
        for pod_name in sorted(pods, key=_ordinal, reverse=True):
            if _ordinal(pod_name) >= replicas:
                await self._delete_pod(namespace, pods.pop(pod_name))
        for pod in pods.values():
            await self._ensure_running(pod)
        await self._roll_one_stale_pod(namespace, pods, revision)
        await self._write_statefulset_status(sts, pods, revision)

    async def _create_pod(self, sts: JsonObject, pod_name: str, revision: str) -> JsonObject:
        meta, template = sts["metadata"], sts.get("spec", {}).get("template", {})
        template_meta = template.get("metadata", {})
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "namespace": meta["namespace"],
                "labels": {
                    **template_meta.get("labels", {}),
                    _POD_NAME_LABEL: pod_name,
                    _REVISION_LABEL: revision,
                },
                "annotations": dict(template_meta.get("annotations", {})),
                "ownerReferences": [
                    {
                        "apiVersion": _STS_API,
                        "kind": "StatefulSet",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {
                **template.get("spec", {}),
                "hostname": pod_name,
                "subdomain": sts.get("spec", {}).get("serviceName", ""),
            },
        }
        return await self._api.create(pod)

    async def _ensure_running(self, pod: JsonObject) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        running = self._pods.get(key)
        if running is not None and running.uid != meta["uid"]:  # the Pod was replaced
            await self._pods.pop(key).handle.stop()
            running = None
        if running is None:
            try:
                launch = await self._launch_of(pod)
            except _ConfigMissingError as exc:
                _logger.warning("pod %s/%s waits for its config: %s", *key, exc)
                return
            handle = await self._runner(launch)
            running = self._pods[key] = _RunningPod(meta["uid"], launch, handle)
        if not running.is_ready and await self._is_ready(running):
            running.is_ready = True
            await self._api.patch(
                "v1", "Pod", key[0], key[1], {"status": _ready_status()}, subresource="status"
            )

    async def _is_ready(self, running: _RunningPod) -> bool:
        if self._readiness is not None:
            return await self._readiness(running.launch, running.handle)
        probe = running.launch.container.get("readinessProbe", {}).get("httpGet")
        if probe is None:
            return True
        port = running.handle.port if running.handle.port is not None else probe.get("port")
        url = f"http://127.0.0.1:{port}{probe.get('path', '/')}"
        assert self._session is not None  # set on entry; reconcile runs inside
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=1.0)) as response:
                return 200 <= response.status < 400  # Kubernetes' probe success range
        except (aiohttp.ClientError, TimeoutError):
            return False

    def _is_pod_ready(self, namespace: str, pod_name: str) -> bool:
        running = self._pods.get((namespace, pod_name))
        return running is not None and running.is_ready

    async def _delete_pod(self, namespace: str, pod: JsonObject) -> None:
        name = pod["metadata"]["name"]
        running = self._pods.pop((namespace, name), None)
        if running is not None:
            await running.handle.stop()
        with contextlib.suppress(KubeApiError):
            await self._api.delete("v1", "Pod", namespace, name)

    async def _forget_vanished_pods(self) -> None:
        for namespace, name in list(self._pods):
            pod = await self._api.find("v1", "Pod", namespace, name)
            if pod is None or pod["metadata"]["uid"] != self._pods[namespace, name].uid:
                await self._pods.pop((namespace, name)).handle.stop()

    async def _roll_one_stale_pod(
        self, namespace: str, pods: dict[str, JsonObject], revision: str
    ) -> None:
        if not all(self._is_pod_ready(namespace, n) for n in pods):
            return
        stale = [
            n for n, p in pods.items() if p["metadata"]["labels"].get(_REVISION_LABEL) != revision
        ]
        if stale:
            victim = max(stale, key=_ordinal)
            await self._delete_pod(namespace, pods.pop(victim))

    async def _write_statefulset_status(
        self, sts: JsonObject, pods: Mapping[str, JsonObject], revision: str
    ) -> None:
        meta = sts["metadata"]
        namespace = meta["namespace"]
        ready = sum(1 for n in pods if self._is_pod_ready(namespace, n))
        updated = sum(
            1 for p in pods.values() if p["metadata"]["labels"].get(_REVISION_LABEL) == revision
        )
        status = {
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "currentReplicas": updated,
            "updatedReplicas": updated,
            "currentRevision": revision,
            "updateRevision": revision,
            "observedGeneration": meta.get("generation", 1),
        }
        if sts.get("status") != status:
            with contextlib.suppress(KubeApiError):  # deleted meanwhile
                await self._api.patch(
                    _STS_API,
                    "StatefulSet",
                    namespace,
                    meta["name"],
                    {"status": status},
                    subresource="status",
                )

    def _start_job(self, job: JsonObject, job_runner: PodRunner) -> None:
        meta = job["metadata"]
        key = (meta["namespace"], meta["name"])
        status = job.get("status", {})
        if key in self._jobs or status.get("succeeded") or status.get("failed"):
            return
        self._jobs[key] = asyncio.create_task(self._run_job(job, job_runner), name=f"job-{key[1]}")

    async def _run_job(self, job: JsonObject, job_runner: PodRunner) -> None:
        meta = job["metadata"]
        template = job.get("spec", {}).get("template", {})
        pod_like = {
            "metadata": {"name": f"{meta['name']}-job", "namespace": meta["namespace"], "uid": ""},
            "spec": template.get("spec", {}),
        }
        launch = await self._launch_of(pod_like)
        handle = await job_runner(launch)
        try:
            exit_code = await handle.wait()
        finally:
            await handle.stop()
        outcome = "Complete" if exit_code == 0 else "Failed"
        status = {
            "succeeded" if exit_code == 0 else "failed": 1,
            "conditions": [{"type": outcome, "status": "True"}],
        }
        with contextlib.suppress(KubeApiError):
            await self._api.patch(
                "batch/v1",
                "Job",
                meta["namespace"],
                meta["name"],
                {"status": status},
                subresource="status",
            )

    async def _launch_of(self, pod: JsonObject) -> PodLaunch:
        meta = pod["metadata"]
        container = pod.get("spec", {}).get("containers", [{}])[0]
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(await self._env_from(meta["namespace"], source))
        for var in container.get("env", []):
            value = await self._env_value(pod, var)
            if value is not None:
                env[var["name"]] = _expand(value, env)
        return PodLaunch(
            namespace=meta["namespace"],
            pod_name=meta["name"],
            env=env,
            command=tuple(_expand(part, env) for part in container.get("command", [])),
            args=tuple(_expand(part, env) for part in container.get("args", [])),
            container=container,
        )

    async def _env_value(self, pod: JsonObject, var: Mapping[str, Any]) -> str | None:
        if "value" in var:
            return str(var["value"])
        source = var.get("valueFrom", {})
        namespace = pod["metadata"]["namespace"]
        if "fieldRef" in source:
            return _field_value(pod, source["fieldRef"]["fieldPath"])
        for ref_key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            if ref_key in source:
                ref = source[ref_key]
                data = await self._config_data(
                    kind, namespace, ref["name"], is_optional=ref.get("optional", False)
                )
                if ref["key"] not in data and not ref.get("optional", False):
                    raise _ConfigMissingError(f"{kind} {ref['name']!r} has no key {ref['key']!r}")
                return data.get(ref["key"])
        return None

    async def _env_from(self, namespace: str, source: Mapping[str, Any]) -> dict[str, str]:
        prefix = source.get("prefix", "")
        for ref_key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            if ref_key in source:
                ref = source[ref_key]
                data = await self._config_data(
                    kind, namespace, ref["name"], is_optional=ref.get("optional", False)
                )
                return {prefix + key: value for key, value in data.items()}
        return {}

    async def _config_data(
        self, kind: str, namespace: str, name: str, *, is_optional: bool
    ) -> dict[str, str]:
        obj = await self._api.find("v1", kind, namespace, name)
        if obj is None:
            if is_optional:
                return {}
            raise _ConfigMissingError(f"{kind} {name!r} not found")
        if kind == "Secret":
            decoded = {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
            return {**decoded, **obj.get("stringData", {})}
        return dict(obj.get("data", {}))


class _ConfigMissingError(Exception):
    """A Secret or ConfigMap a container needs is missing: the Pod waits.

    A real kubelet reports CreateContainerConfigError and retries likewise.
    """


def _ordinal(pod_name: str) -> int:
    return int(pod_name.rsplit("-", 1)[1])


def _revision_of(template: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _ready_status() -> JsonObject:
    return {
        "phase": "Running",
        "podIP": "127.0.0.1",
        "conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": "True"},
            {"type": "Ready", "status": "True"},
        ],
    }


def _field_value(pod: Mapping[str, Any], path: str) -> str | None:
    meta = pod["metadata"]
    simple: dict[str, str | None] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "status.podIP": "127.0.0.1",
        "spec.nodeName": "simulated-node",
    }
    if path in simple:
        return simple[path]
    if match := re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path):
        value = meta.get(match.group(1), {}).get(match.group(2))
        return None if value is None else str(value)
    return None


def _expand(text: str, env: Mapping[str, str]) -> str:
    """Expand ``$(VAR)`` references to variables defined earlier, as the kubelet does."""
    return _VAR_REFERENCE.sub(lambda m: env.get(m.group(1), m.group(0)), text)
