"""Resolving a Pod's first container into a :class:`PodLaunch`, as the SIMULATED kubelet does.

Owns reading the container's environment (plain values, ``envFrom`` and ``valueFrom`` over
Secrets and ConfigMaps, the ``fieldRef`` paths a simulated node can answer), expanding
``$(VAR)`` references in values, ``command`` and ``args``, and :class:`ConfigMissingError`
for a Secret or ConfigMap that is not there yet. This is a SIMULATION for e2e tests: no
``resourceFieldRef``, no volumes, no image defaults. Does not own starting the process
(``tests.e2e.kube.processes``) nor which Pods run (``tests.e2e.kube.kubelet``).
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any, Final

from tests.e2e.kube.processes import PodLaunch

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tests.e2e.kube.fixtures import KubeApi
    from tests.e2e.kube.kinds import JsonObject

__all__ = ["ConfigMissingError", "launch_of"]

_VAR_REFERENCE: Final = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigMissingError(Exception):
    """A Secret or ConfigMap a container needs is missing: the Pod waits.

    A real kubelet reports CreateContainerConfigError and retries likewise.
    """


async def launch_of(api: KubeApi, pod: JsonObject) -> PodLaunch:
    """The launch of ``pod``'s first container, its environment read through ``api``.

    Raises:
        ConfigMissingError: a Secret, ConfigMap or key it needs (and not optionally) is missing.
    """
    meta = pod["metadata"]
    container = pod.get("spec", {}).get("containers", [{}])[0]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(await _env_from(api, meta["namespace"], source))
    for var in container.get("env", []):
        value = await _env_value(api, pod, var)
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


async def _env_value(api: KubeApi, pod: JsonObject, var: Mapping[str, Any]) -> str | None:
    if "value" in var:
        return str(var["value"])
    source = var.get("valueFrom", {})
    namespace = pod["metadata"]["namespace"]
    if "fieldRef" in source:
        return _field_value(pod, source["fieldRef"]["fieldPath"])
    for ref_key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
        if ref_key in source:
            ref = source[ref_key]
            data = await _config_data(
                api, kind, namespace, ref["name"], is_optional=ref.get("optional", False)
            )
            if ref["key"] not in data and not ref.get("optional", False):
                raise ConfigMissingError(f"{kind} {ref['name']!r} has no key {ref['key']!r}")
            return data.get(ref["key"])
    return None


async def _env_from(api: KubeApi, namespace: str, source: Mapping[str, Any]) -> dict[str, str]:
    prefix = source.get("prefix", "")
    for ref_key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
        if ref_key in source:
            ref = source[ref_key]
            data = await _config_data(
                api, kind, namespace, ref["name"], is_optional=ref.get("optional", False)
            )
            return {prefix + key: value for key, value in data.items()}
    return {}


async def _config_data(
    api: KubeApi, kind: str, namespace: str, name: str, *, is_optional: bool
) -> dict[str, str]:
    obj = await api.find("v1", kind, namespace, name)
    if obj is None:
        if is_optional:
            return {}
        raise ConfigMissingError(f"{kind} {name!r} not found")
    if kind == "Secret":
        decoded = {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
        return {**decoded, **obj.get("stringData", {})}
    return dict(obj.get("data", {}))


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
