"""A SIMULATION of the StatefulSet controller, the Job controller and the kubelet, for e2e tests.

Owns the fake "cluster side" of workloads in the in-memory API: for every StatefulSet with N
replicas it creates Pods ``<sts>-0..N-1`` (shapes in ``tests.e2e.kube.statefulsets``), starts
one real local process per Pod through a pluggable async runner (given the Pod's name, the
first container's resolved environment, command and args: ``tests.e2e.kube.launching`` and
``tests.e2e.kube.processes``), marks the Pod Ready once a readiness check passes (by default
an HTTP GET of the container's ``readinessProbe.httpGet.path`` on the port the runner reports),
and writes the StatefulSet's status. Scaling down, deleting a Pod or the StatefulSet (its Pods
go through the API's garbage collector) stops the processes with SIGTERM. Jobs, if a job runner
is given, run their first container to completion and are marked Complete or Failed
(``tests.e2e.kube.jobs``).

Not a real rollout and not a real kubelet: no scheduling, images, volumes, resource limits,
probes other than readiness, restarts of crashed processes, PodDisruptionBudgets, or
``podManagementPolicy``/``updateStrategy``. A changed Pod template is rolled out crudely:
when every Pod is Ready, the highest-ordinal stale Pod is deleted and recreated. Job Pods are
not created as objects. It knows nothing of Shoal (it must not import ``shoal_operator``).
The process-side names are re-exported here, where the tests import them from.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import TYPE_CHECKING, Final

import aiohttp

from tests.e2e.kube.fixtures import KubeApiError
from tests.e2e.kube.jobs import is_job_finished, run_job
from tests.e2e.kube.launching import ConfigMissingError, launch_of
from tests.e2e.kube.processes import (
    PodLaunch,
    PodRunner,
    ProcessHandle,
    ReadinessCheck,
    SubprocessHandle,
)
from tests.e2e.kube.statefulsets import (
    STS_API,
    ordinal_of,
    pod_for,
    ready_pod_status,
    revision_of,
    stale_pod_names,
    statefulset_status,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType
    from typing import Self

    from tests.e2e.kube.fixtures import KubeApi
    from tests.e2e.kube.kinds import JsonObject

__all__ = [
    "PodLaunch",
    "PodRunner",
    "ProcessHandle",
    "ReadinessCheck",
    "SimulatedKubelet",
    "SubprocessHandle",
]

_logger = logging.getLogger(__name__)

# How often pods that are not Ready yet are probed again (there is no API write to wake us).
_PROBE_INTERVAL_S: Final = 0.05


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
        for sts in await self._api.list(STS_API, "StatefulSet", self._namespace):
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
        revision = revision_of(spec.get("template", {}))
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
        for pod_name in sorted(pods, key=ordinal_of, reverse=True):
            if ordinal_of(pod_name) >= replicas:
                await self._delete_pod(namespace, pods.pop(pod_name))
        for pod in pods.values():
            await self._ensure_running(pod)
        await self._roll_one_stale_pod(namespace, pods, revision)
        await self._write_statefulset_status(sts, pods, revision)

    async def _create_pod(self, sts: JsonObject, pod_name: str, revision: str) -> JsonObject:
        return await self._api.create(pod_for(sts, pod_name, revision))

    async def _ensure_running(self, pod: JsonObject) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        running = self._pods.get(key)
        if running is not None and running.uid != meta["uid"]:  # the Pod was replaced
            await self._pods.pop(key).handle.stop()
            running = None
        if running is None:
            try:
                launch = await launch_of(self._api, pod)
            except ConfigMissingError as exc:
                _logger.warning("pod %s/%s waits for its config: %s", *key, exc)
                return
            handle = await self._runner(launch)
            running = self._pods[key] = _RunningPod(meta["uid"], launch, handle)
        if not running.is_ready and await self._is_ready(running):
            running.is_ready = True
            await self._api.patch(
                "v1", "Pod", key[0], key[1], {"status": ready_pod_status()}, subresource="status"
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
        if stale := stale_pod_names(pods, revision):
            victim = max(stale, key=ordinal_of)
            await self._delete_pod(namespace, pods.pop(victim))

    async def _write_statefulset_status(
        self, sts: JsonObject, pods: Mapping[str, JsonObject], revision: str
    ) -> None:
        meta = sts["metadata"]
        namespace = meta["namespace"]
        ready = sum(1 for n in pods if self._is_pod_ready(namespace, n))
        status = statefulset_status(sts, pods, revision, ready=ready)
        if sts.get("status") != status:
            with contextlib.suppress(KubeApiError):  # deleted meanwhile
                await self._api.patch(
                    STS_API,
                    "StatefulSet",
                    namespace,
                    meta["name"],
                    {"status": status},
                    subresource="status",
                )

    def _start_job(self, job: JsonObject, job_runner: PodRunner) -> None:
        meta = job["metadata"]
        key = (meta["namespace"], meta["name"])
        if key in self._jobs or is_job_finished(job):
            return
        self._jobs[key] = asyncio.create_task(
            run_job(self._api, job, job_runner), name=f"job-{key[1]}"
        )
