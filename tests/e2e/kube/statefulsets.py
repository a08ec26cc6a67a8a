"""The SIMULATED StatefulSet controller's pure shapes: Pod manifests, revisions and status.

Owns what the simulated controller writes and how it names things, as data in and data out:
the Pod made for an ordinal (owner reference, the template's labels and annotations, the
``controller-revision-hash`` and ``statefulset.kubernetes.io/pod-name`` labels, hostname and
subdomain), the revision hash of a Pod template, a Pod's ordinal, which Pods are stale, the
status of a Ready Pod and of a StatefulSet. This is a SIMULATION for e2e tests, not the real
controller's revision history (a revision is a hash of the template alone). Does not own the
API calls nor the processes (``tests.e2e.kube.kubelet``).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tests.e2e.kube.kinds import JsonObject

__all__ = [
    "STS_API",
    "ordinal_of",
    "pod_for",
    "ready_pod_status",
    "revision_of",
    "stale_pod_names",
    "statefulset_status",
]

STS_API: Final = "apps/v1"
_REVISION_LABEL: Final = "controller-revision-hash"
_POD_NAME_LABEL: Final = "statefulset.kubernetes.io/pod-name"


def ordinal_of(pod_name: str) -> int:
    """The ordinal of a StatefulSet Pod, e.g. 2 for ``bot-shards-2``."""
    return int(pod_name.rsplit("-", 1)[1])


def revision_of(template: Mapping[str, Any]) -> str:
    """A short hash of a Pod template: Pods of another revision are stale."""
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def pod_for(sts: JsonObject, pod_name: str, revision: str) -> JsonObject:
    """The Pod ``pod_name`` the StatefulSet ``sts`` owns, from its template at ``revision``."""
    meta, template = sts["metadata"], sts.get("spec", {}).get("template", {})
    template_meta = template.get("metadata", {})
    return {
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
                    "apiVersion": STS_API,
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


def stale_pod_names(pods: Mapping[str, JsonObject], revision: str) -> list[str]:
    """Names of the Pods not made from the template at ``revision``."""
    return [n for n, p in pods.items() if p["metadata"]["labels"].get(_REVISION_LABEL) != revision]


def ready_pod_status() -> JsonObject:
    """The status of a Running, Ready Pod on the simulated node."""
    return {
        "phase": "Running",
        "podIP": "127.0.0.1",
        "conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "ContainersReady", "status": "True"},
            {"type": "Ready", "status": "True"},
        ],
    }


def statefulset_status(
    sts: JsonObject, pods: Mapping[str, JsonObject], revision: str, *, ready: int
) -> JsonObject:
    """The status of ``sts`` owning ``pods``, ``ready`` of them Ready."""
    updated = len(pods) - len(stale_pod_names(pods, revision))
    return {
        "replicas": len(pods),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "currentReplicas": updated,
        "updatedReplicas": updated,
        "currentRevision": revision,
        "updateRevision": revision,
        "observedGeneration": sts["metadata"].get("generation", 1),
    }
