"""A tiny kopf operator that proves the emulator carries a real kopf end to end.

Owns nothing of Shoal: on creating a ``Widget`` (``e2e.shoal.dev/v1``, a test-only custom
resource) it creates a ConfigMap adopted through ``kopf.adopt`` (owner reference, namespace,
labels) with the ``kubernetes`` client, and records the ConfigMap's name in the Widget's
status. Deletion needs no handler: the API's garbage collector removes the ConfigMap.

Handlers go into a registry the caller passes (not kopf's global one), so each test runs its
own operator however many run in one process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import kopf
import kubernetes

from tests.e2e.kube.emulator import KindInfo

if TYPE_CHECKING:
    import logging

__all__ = ["WIDGET_KIND", "register"]

WIDGET_KIND: Final = KindInfo(
    "e2e.shoal.dev", "v1", "widgets", "Widget", is_namespaced=True, has_status=True
)


def register(registry: kopf.OperatorRegistry) -> None:
    """Register the Widget handlers into ``registry``."""
    resource = (WIDGET_KIND.group, WIDGET_KIND.version, WIDGET_KIND.plural)

    # A fresh registry lacks kopf's default login handlers: log in from KUBECONFIG explicitly.
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:  # noqa: ANN401  # kopf's kwargs
        return kopf.login_via_client(**kwargs)

    @kopf.on.create(*resource, registry=registry)
    def create_config_map(
        *,
        body: kopf.Body,
        spec: kopf.Spec,
        name: str,
        namespace: str | None,
        patch: kopf.Patch,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        **_: Any,  # noqa: ANN401  # kopf passes many more keyword arguments
    ) -> None:
        config_map: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{name}-config"},
            "data": {"greeting": str(spec.get("greeting", ""))},
        }
        kopf.adopt(config_map, owner=body)
        with kubernetes.client.ApiClient() as client:
            core = kubernetes.client.CoreV1Api(client)
            core.create_namespaced_config_map(namespace, config_map)  # type: ignore[arg-type]  # the client also takes plain dicts
        logger.info("created ConfigMap %s", config_map["metadata"]["name"])
        patch.status["configMap"] = config_map["metadata"]["name"]
        patch.status["observedGeneration"] = body.metadata.get("generation")

    @kopf.on.delete(*resource, registry=registry, optional=True)
    def forget(**_: Any) -> None:  # noqa: ANN401  # kopf passes many keyword arguments
        """Nothing to do: owner references make the API delete the ConfigMap."""
