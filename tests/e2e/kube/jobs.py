"""The SIMULATED Job controller: run one Job's first container to completion, write its outcome.

Owns running a Job as a single local process (through the kubelet's pluggable job runner) and
marking it Complete (``succeeded: 1``) or Failed (``failed: 1``). This is a SIMULATION for e2e
tests: no Job Pods as objects, no retries, ``backoffLimit``, parallelism, completions or
deadlines. Does not own deciding which Jobs to start nor tracking their tasks
(``tests.e2e.kube.kubelet``).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from tests.e2e.kube.fixtures import KubeApiError
from tests.e2e.kube.launching import launch_of

if TYPE_CHECKING:
    from tests.e2e.kube.fixtures import KubeApi
    from tests.e2e.kube.kinds import JsonObject
    from tests.e2e.kube.processes import PodRunner

__all__ = ["is_job_finished", "run_job"]


def is_job_finished(job: JsonObject) -> bool:
    """Whether the Job's status already says it succeeded or failed."""
    status = job.get("status", {})
    return bool(status.get("succeeded") or status.get("failed"))


async def run_job(api: KubeApi, job: JsonObject, job_runner: PodRunner) -> None:
    """Run ``job``'s first container through ``job_runner``; write Complete or Failed.

    Raises:
        ConfigMissingError: a Secret or ConfigMap the container needs is missing.
    """
    meta = job["metadata"]
    template = job.get("spec", {}).get("template", {})
    pod_like = {
        "metadata": {"name": f"{meta['name']}-job", "namespace": meta["namespace"], "uid": ""},
        "spec": template.get("spec", {}),
    }
    launch = await launch_of(api, pod_like)
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
        await api.patch(
            "batch/v1",
            "Job",
            meta["namespace"],
            meta["name"],
            {"status": status},
            subresource="status",
        )
