"""The Kubernetes objects a DiscordBot owns, built from its spec: pure functions, no I/O.

One generation of shards is a StatefulSet (``<bot>-shards-g<generation>``, pods
``...-<ordinal>`` so the worker reads its ordinal from its name), a headless Service of
the same name and a PodDisruptionBudget. Lavalink is a StatefulSet with a headless
Service (each node addressable: sessions belong to one pod) and a ConfigMap holding its
``application.yml``. A Job syncs the application commands once per image. The operator
adopts every object (owner reference to the DiscordBot) when it applies it.

Owns names, labels and specs. Does not own when an object is created or deleted
(``shoal_operator.reconciling``) nor how many shards or nodes there are
(``shoal.planning``).
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    from shoal_operator.spec import BotSpec, Resources, SecretKeyRef

__all__ = [
    "GENERATION_LABEL",
    "HTTP_PORT",
    "LAVALINK_PORT",
    "MAX_BOT_NAME_LENGTH",
    "SHOAL_UID",
    "adopted",
    "bot_labels",
    "command_sync_job",
    "command_sync_job_name",
    "generation_labels",
    "lavalink_config_map",
    "lavalink_name",
    "lavalink_node_addresses",
    "lavalink_service",
    "lavalink_stateful_set",
    "redis_namespace_for",
    "shard_disruption_budget",
    "shard_service",
    "shard_set_name",
    "shard_stateful_set",
]

#: The label carrying a shard object's generation (the operator finds orphans by it).
GENERATION_LABEL: Final = "shoal.dev/generation"
#: The worker's health and metrics port (``SHOAL_HTTP_PORT``).
HTTP_PORT: Final = 8080
#: Lavalink's HTTP and websocket port.
LAVALINK_PORT: Final = 2333
#: ``<bot>-shards-g<generation>`` must leave room for ``-<ordinal>`` and the
#: ``controller-revision-hash`` label Kubernetes adds to StatefulSet pods (63 characters).
MAX_BOT_NAME_LENGTH: Final = 40
#: Grace before SIGKILL: the worker closes its shards resumably and flushes sessions.
_WORKER_GRACE_S: Final = 30
#: The non-root user of the Shoal image (see the Dockerfile).
SHOAL_UID: Final = 10001
#: The user of Lavalink's image.
_LAVALINK_UID: Final = 322
_MANAGER: Final = "shoal-operator"
_DNS_LABEL: Final = re.compile(r"[^a-z0-9-]+")
_MAX_DNS_LABEL: Final = 63


def bot_labels(bot: str, component: str) -> dict[str, str]:
    """Return the standard labels of an object of ``component`` belonging to ``bot``."""
    return {
        "app.kubernetes.io/name": "shoal",
        "app.kubernetes.io/instance": bot,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": _MANAGER,
        "shoal.dev/bot": bot,
    }


def generation_labels(bot: str, generation: int) -> dict[str, str]:
    """Return the labels of generation ``generation``'s shard objects (also its selector)."""
    return bot_labels(bot, "shards") | {GENERATION_LABEL: str(generation)}


def shard_set_name(bot: str, generation: int) -> str:
    """Return the StatefulSet, Service and PDB name of ``bot``'s shards of ``generation``."""
    return f"{bot}-shards-g{generation}"


def lavalink_name(bot: str) -> str:
    """Return the Lavalink StatefulSet's and headless Service's name."""
    return f"{bot}-lavalink"


def redis_namespace_for(namespace: str, bot: str) -> str:
    """Return the Redis key namespace (``SHOAL_BOT_NAME``) of ``bot`` in ``namespace``.

    Two bots of the same name in two namespaces may share a Redis, so both names go in;
    a DNS label (the worker checks it). ``<namespace>-<bot>`` when that names one pair
    only; otherwise (a ``-`` or ``.`` in either name: ``a-b``/``c`` and ``a``/``b-c``
    would meet) or when too long, shortened and suffixed with a digest of the exact pair.
    """
    joined = f"{namespace}-{bot}"
    name = _DNS_LABEL.sub("-", joined.lower()).strip("-")
    if name == joined and name.count("-") == 1 and len(name) <= _MAX_DNS_LABEL:
        return name
    # "/" appears in neither name, so the digest tells every pair apart.
    digest = hashlib.sha256(f"{namespace}/{bot}".encode()).hexdigest()[:10]
    return f"{name[: _MAX_DNS_LABEL - 11].rstrip('-')}-{digest}"


def _secret_env(name: str, ref: SecretKeyRef) -> dict[str, object]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def _resources(resources: Resources) -> dict[str, object]:
    out: dict[str, object] = {}
    if resources.requests:
        out["requests"] = dict(resources.requests)
    if resources.limits:
        out["limits"] = dict(resources.limits)
    return out


def _restricted_container_security(uid: int) -> dict[str, object]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _common_env(spec: BotSpec, *, namespace: str, bot: str) -> list[dict[str, object]]:
    return [
        _secret_env("SHOAL_TOKEN", spec.token_secret),
        {"name": "SHOAL_REST_URL", "value": spec.discord.api_base_url},
        {"name": "SHOAL_INTENTS", "value": str(spec.intents)},
        {"name": "SHOAL_IDENTIFY_WINDOW_S", "value": f"{spec.discord.identify_window_s:g}"},
        {"name": "SHOAL_BOT_NAME", "value": redis_namespace_for(namespace, bot)},
        _secret_env("SHOAL_REDIS_URL", spec.redis_secret),
        _secret_env("SHOAL_POSTGRES_DSN", spec.postgres_secret),
        {"name": "SHOAL_LOG_LEVEL", "value": spec.workers.log_level},
        {"name": "SHOAL_LOG_JSON", "value": "true"},
    ]


def shard_stateful_set(
    spec: BotSpec, *, namespace: str, bot: str, generation: int, shards: int
) -> dict[str, object]:
    """Return generation ``generation``'s StatefulSet running ``shards`` shards in all.

    Pods start in parallel (the cluster-wide identify gate paces IDENTIFYs, not the
    StatefulSet); each gets the total, its share and the generation in its environment
    and its ordinal from its name. An init container applies migrations (safe when many
    run at once).
    """
    name = shard_set_name(bot, generation)
    labels = generation_labels(bot, generation)
    per_pod = spec.shards.shards_per_pod
    env = [
        *_common_env(spec, namespace=namespace, bot=bot),
        {"name": "SHOAL_TOTAL_SHARDS", "value": str(shards)},
        {"name": "SHOAL_SHARDS_PER_POD", "value": str(per_pod)},
        {"name": "SHOAL_GENERATION", "value": str(generation)},
        {"name": "SHOAL_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "SHOAL_HTTP_PORT", "value": str(HTTP_PORT)},
    ]
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(HTTP_PORT),
        "prometheus.io/path": "/metrics",
        **spec.workers.pod_annotations,
    }
    worker: dict[str, object] = {
        "name": "worker",
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "args": ["worker"],
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "env": env,
        "livenessProbe": {
            "httpGet": {"path": "/livez", "port": "http"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 2,
        },
        "resources": _resources(spec.workers.resources),
        "securityContext": _restricted_container_security(SHOAL_UID),
    }
    migrate: dict[str, object] = {
        "name": "migrate",
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "args": ["migrate"],
        "env": [
            _secret_env("SHOAL_POSTGRES_DSN", spec.postgres_secret),
            {"name": "SHOAL_LOG_JSON", "value": "true"},
        ],
        "securityContext": _restricted_container_security(SHOAL_UID),
    }
    pod_spec: dict[str, object] = {
        "terminationGracePeriodSeconds": _WORKER_GRACE_S,
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [migrate],
        "containers": [worker],
    }
    if spec.workers.node_selector:
        pod_spec["nodeSelector"] = dict(spec.workers.node_selector)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "serviceName": name,
            "replicas": math.ceil(shards / per_pod),
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": pod_spec,
            },
        },
    }


def shard_service(*, namespace: str, bot: str, generation: int) -> dict[str, object]:
    """Return the headless Service that gives each shard pod of ``generation`` a DNS name."""
    name = shard_set_name(bot, generation)
    labels = generation_labels(bot, generation)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": labels,
            "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http"}],
        },
    }


def shard_disruption_budget(*, namespace: str, bot: str, generation: int) -> dict[str, object]:
    """Return the PDB letting voluntary disruptions take one shard pod at a time.

    A pod's shards RESUME on its replacement; two at once would only slow that down.
    """
    name = shard_set_name(bot, generation)
    labels = generation_labels(bot, generation)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
    }


def command_sync_job_name(bot: str, image: str) -> str:
    """Return the command-sync Job's name for ``image`` (one Job per image)."""
    return f"{bot}-sync-{hashlib.sha256(image.encode()).hexdigest()[:10]}"


def command_sync_job(spec: BotSpec, *, namespace: str, bot: str) -> dict[str, object]:
    """Return the Job registering every module's commands with Discord (``sync-commands``)."""
    labels = bot_labels(bot, "command-sync")
    container: dict[str, object] = {
        "name": "sync-commands",
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "args": ["sync-commands"],
        "env": _common_env(spec, namespace=namespace, bot=bot),
        "securityContext": _restricted_container_security(SHOAL_UID),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": command_sync_job_name(bot, spec.image),
            "namespace": namespace,
            "labels": labels,
            "annotations": {"shoal.dev/image": spec.image},
        },
        "spec": {
            "backoffLimit": 4,
            "ttlSecondsAfterFinished": 86_400,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                },
            },
        },
    }


_LAVALINK_CONFIG: Final = """\
server:
  port: 2333
  address: 0.0.0.0
lavalink:
  server:
    sources:
      youtube: false
      bandcamp: true
      soundcloud: true
      twitch: true
      vimeo: true
      http: true
      local: false
    bufferDurationMs: 400
    frameBufferDurationMs: 5000
    playerUpdateInterval: 5
    resamplingQuality: LOW
    trackStuckThresholdMs: 10000
metrics:
  prometheus:
    enabled: true
    endpoint: /metrics
logging:
  level:
    root: INFO
    lavalink: INFO
"""


def lavalink_config_map(*, namespace: str, bot: str) -> dict[str, object]:
    """Return the ConfigMap with Lavalink's ``application.yml`` (the password comes from env)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{lavalink_name(bot)}-config",
            "namespace": namespace,
            "labels": bot_labels(bot, "lavalink"),
        },
        "data": {"application.yml": _LAVALINK_CONFIG},
    }


def lavalink_stateful_set(
    spec: BotSpec, *, namespace: str, bot: str, nodes: int
) -> dict[str, object]:
    """Return the Lavalink StatefulSet with ``nodes`` replicas, probed on TCP 2333."""
    lavalink = spec.lavalink
    if lavalink.password_secret is None:
        msg = "spec.lavalink.passwordSecretRef is required when Lavalink is enabled"
        raise ValueError(msg)
    name = lavalink_name(bot)
    labels = bot_labels(bot, "lavalink")
    config = f"{name}-config"
    probe = {"tcpSocket": {"port": "lavalink"}, "periodSeconds": 10}
    container: dict[str, object] = {
        "name": "lavalink",
        "image": lavalink.image,
        "ports": [{"name": "lavalink", "containerPort": LAVALINK_PORT, "protocol": "TCP"}],
        "env": [
            {"name": "SERVER_PORT", "value": str(LAVALINK_PORT)},
            _secret_env("LAVALINK_SERVER_PASSWORD", lavalink.password_secret),
            {"name": "_JAVA_OPTIONS", "value": f"-Xmx{lavalink.java_heap}"},
        ],
        "volumeMounts": [
            {
                "name": "config",
                "mountPath": "/opt/Lavalink/application.yml",
                "subPath": "application.yml",
                "readOnly": True,
            },
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - the JVM's scratch space, an emptyDir
        ],
        "startupProbe": probe | {"failureThreshold": 30},
        "readinessProbe": probe,
        "livenessProbe": probe | {"failureThreshold": 3},
        "resources": _resources(lavalink.resources),
        "securityContext": _restricted_container_security(_LAVALINK_UID),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "serviceName": name,
            "replicas": nodes,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(LAVALINK_PORT),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "config", "configMap": {"name": config}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def lavalink_service(*, namespace: str, bot: str) -> dict[str, object]:
    """Return the headless Service giving each Lavalink node its own DNS name."""
    name = lavalink_name(bot)
    labels = bot_labels(bot, "lavalink")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": False,
            "selector": labels,
            "ports": [{"name": "lavalink", "port": LAVALINK_PORT, "targetPort": "lavalink"}],
        },
    }


def lavalink_node_addresses(*, namespace: str, bot: str, nodes: int) -> list[str]:
    """Return ``host:port`` of every Lavalink node, through the headless Service's DNS."""
    name = lavalink_name(bot)
    return [f"{name}-{i}.{name}.{namespace}.svc:{LAVALINK_PORT}" for i in range(nodes)]


def adopted(obj: dict[str, Any], owner: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``obj`` owned by ``owner`` (the DiscordBot): deleted with it, by the GC."""
    metadata = obj["metadata"]
    metadata["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    return obj
