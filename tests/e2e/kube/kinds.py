"""The resources the Kubernetes emulator serves, as discovery describes them.

Owns :class:`KindInfo` (group, version, plural, kind, scope, whether ``status`` is a
subresource), the built-in kinds the operator touches, the verbs every resource advertises,
and reading a CustomResourceDefinition into kinds. Does not own serving them
(``tests.e2e.kube.emulator``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Final

import kmock

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["BUILTIN_KINDS", "VERBS", "JsonObject", "KindInfo", "kinds_of_crd"]

JsonObject = dict[str, Any]

# The verbs every emulated resource advertises in discovery (what a real API server lists).
VERBS: Final = frozenset(
    {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class KindInfo:
    """One resource the emulator serves, as discovery describes it."""

    group: str
    """API group; empty for the core group."""
    version: str
    """API version within the group, e.g. ``v1``."""
    plural: str
    """Plural resource name used in URLs, e.g. ``statefulsets``."""
    kind: str
    """The ``kind`` of its objects, e.g. ``StatefulSet``."""
    is_namespaced: bool
    """Whether objects live in a namespace."""
    has_status: bool
    """Whether ``status`` is a separate subresource: main writes keep it, /status writes only
    change it."""

    @property
    def api_version(self) -> str:
        """The ``apiVersion`` of its objects, e.g. ``apps/v1`` or ``v1``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> kmock.resource:
        """The kmock resource key."""
        return kmock.resource(self.group, self.version, self.plural)


BUILTIN_KINDS: Final = (
    KindInfo("", "v1", "namespaces", "Namespace", is_namespaced=False, has_status=True),
    KindInfo("", "v1", "secrets", "Secret", is_namespaced=True, has_status=False),
    KindInfo("", "v1", "configmaps", "ConfigMap", is_namespaced=True, has_status=False),
    KindInfo("", "v1", "services", "Service", is_namespaced=True, has_status=True),
    KindInfo("", "v1", "pods", "Pod", is_namespaced=True, has_status=True),
    KindInfo("", "v1", "events", "Event", is_namespaced=True, has_status=False),
    KindInfo("events.k8s.io", "v1", "events", "Event", is_namespaced=True, has_status=False),
    KindInfo("apps", "v1", "statefulsets", "StatefulSet", is_namespaced=True, has_status=True),
    KindInfo("apps", "v1", "deployments", "Deployment", is_namespaced=True, has_status=True),
    KindInfo(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        is_namespaced=True,
        has_status=True,
    ),
    KindInfo("batch", "v1", "jobs", "Job", is_namespaced=True, has_status=True),
    KindInfo("coordination.k8s.io", "v1", "leases", "Lease", is_namespaced=True, has_status=False),
    # kopf's peering CRDs declare no status subresource: kopf writes their status in the body.
    KindInfo("kopf.dev", "v1", "kopfpeerings", "KopfPeering", is_namespaced=True, has_status=False),
    KindInfo(
        "kopf.dev",
        "v1",
        "clusterkopfpeerings",
        "ClusterKopfPeering",
        is_namespaced=False,
        has_status=False,
    ),
    KindInfo(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        is_namespaced=False,
        has_status=True,
    ),
)


def kinds_of_crd(crd: Mapping[str, Any]) -> list[KindInfo]:
    """One kind per served version of a CustomResourceDefinition manifest (a parsed YAML)."""
    spec = crd["spec"]
    names = spec["names"]
    return [
        KindInfo(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            kind=names["kind"],
            is_namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            has_status="status" in (version.get("subresources") or {}),
        )
        for version in spec["versions"]
        if version.get("served", True)
    ]
