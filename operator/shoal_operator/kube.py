"""The operator's Kubernetes API client: get, create, merge-patch, delete and list by label.

kopf watches DiscordBots and patches their status; the children (StatefulSets, Services,
...) are written here. The ``kubernetes`` package loads the connection (in-cluster
service account or ``KUBECONFIG``) and aiohttp makes the calls, so nothing blocks the
event loop (the ``kubernetes`` client itself is synchronous). Only the kinds in
:data:`RESOURCES` are reachable: that table is also what the Helm chart's RBAC rules
are checked against.

Owns the HTTP calls and their errors. Does not own what to write (``children``) or when
(``reconciling``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import math
import ssl
import time
from typing import TYPE_CHECKING, Any, Final, Self, cast

import aiohttp
import orjson
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["RESOURCES", "KubeApi", "KubeError", "Resource", "resource_of"]

_MERGE_PATCH: Final = "application/merge-patch+json"
_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)
#: How often the token is looked at again: the kubelet rotates a projected service-account
#: token well before it expires (after 80% of its lifetime, at least an hour).
_TOKEN_RECHECK_S: Final = 60.0


@dataclasses.dataclass(frozen=True, slots=True)
class Resource:
    """A kind the operator writes, and where its objects live in the API."""

    api_version: str
    """``group/version`` (``v1`` for the core group)."""
    kind: str
    """The kind, as in an object's ``kind``."""
    plural: str
    """The resource name in URLs (and RBAC rules)."""

    @property
    def group(self) -> str:
        """The API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]

    def collection_path(self, namespace: str) -> str:
        """Return the URL path of the namespaced collection."""
        prefix = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        return f"{prefix}/namespaces/{namespace}/{self.plural}"


#: Every kind the operator reads or writes through this client.
RESOURCES: Final = (
    Resource("v1", "Secret", "secrets"),
    Resource("v1", "ConfigMap", "configmaps"),
    Resource("v1", "Service", "services"),
    Resource("apps/v1", "StatefulSet", "statefulsets"),
    Resource("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    Resource("batch/v1", "Job", "jobs"),
)
_BY_KIND: Final = {(r.api_version, r.kind): r for r in RESOURCES}


def resource_of(api_version: str, kind: str) -> Resource:
    """Return the :class:`Resource` of ``kind``; KeyError for a kind the operator never uses."""
    return _BY_KIND[api_version, kind]


class KubeError(RuntimeError):
    """The API server refused a call; ``status`` is its HTTP status."""

    def __init__(self, status: int, method: str, path: str, message: str) -> None:
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status


class KubeApi:
    """Calls the Kubernetes API over one aiohttp session."""

    def __init__(
        self,
        host: str,
        *,
        authorization: Callable[[], str | None],
        ssl_context: ssl.SSLContext | bool,
    ) -> None:
        """Talk to ``host`` with ``ssl_context``, authorized by what ``authorization`` returns.

        ``authorization`` gives the ``Authorization`` header's value (None: send none). It
        may read a file (a service account's token, which the kubelet rotates), so it runs
        in a thread, at most once per :data:`_TOKEN_RECHECK_S`.
        """
        self._host = host.rstrip("/")
        self._authorization_source = authorization
        self._authorization: str | None = None
        self._authorization_read_at = -math.inf
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    async def from_environment(cls) -> Self:
        """Connect as the pod's service account, or as ``KUBECONFIG``'s current context."""
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_incluster_config(  # type: ignore[no-untyped-call] # kubernetes is untyped
                client_configuration=configuration
            )
        except k8s_config.ConfigException:
            await asyncio.to_thread(k8s_config.load_kube_config, client_configuration=configuration)

        def authorization() -> str | None:
            # kubernetes keeps the token as api_key["BearerToken"] ("Bearer ..."), and its
            # refresh hook re-reads a rotated service-account token or an expired exec one.
            return configuration.get_api_key_with_prefix("BearerToken", alias="authorization")

        context: ssl.SSLContext | bool = False
        if configuration.host.startswith("https://"):
            context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
            if configuration.cert_file:
                context.load_cert_chain(configuration.cert_file, configuration.key_file)
            if not configuration.verify_ssl:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        return cls(configuration.host, authorization=authorization, ssl_context=context)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        return self._session

    async def _authorization_header(self) -> dict[str, str]:
        now = time.monotonic()
        if now - self._authorization_read_at >= _TOKEN_RECHECK_S:
            self._authorization = await asyncio.to_thread(self._authorization_source)
            self._authorization_read_at = now
        return {} if self._authorization is None else {"Authorization": self._authorization}

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        data = None if body is None else orjson.dumps(body)
        headers = await self._authorization_header()
        if data is not None:
            headers["Content-Type"] = content_type
        async with self._http().request(
            method, self._host + path, data=data, headers=headers, params=params, ssl=self._ssl
        ) as response:
            raw = await response.read()
            if response.status == 404:  # noqa: PLR2004 - HTTP Not Found
                return None
            if response.status >= 400:  # noqa: PLR2004 - HTTP errors
                message = raw.decode(errors="replace")[:500]
                with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
                    message = str(orjson.loads(raw).get("message", message))
                raise KubeError(response.status, method, path, message)
            return cast("dict[str, Any]", orjson.loads(raw)) if raw else {}

    async def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        """Return the object, or None when it does not exist."""
        return await self._call("GET", f"{resource.collection_path(namespace)}/{name}")

    async def list(
        self, resource: Resource, namespace: str, labels: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """Return the objects in ``namespace`` carrying every label in ``labels``."""
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        reply = await self._call(
            "GET", resource.collection_path(namespace), params={"labelSelector": selector}
        )
        items = [] if reply is None else reply.get("items") or []
        # Filter again: a selector the server ignored must not widen what is deleted.
        return [
            item
            for item in items
            if all(
                (item.get("metadata", {}).get("labels") or {}).get(key) == value
                for key, value in labels.items()
            )
        ]

    async def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create ``obj``, or merge-patch the existing one with it; return the result."""
        resource = resource_of(obj["apiVersion"], obj["kind"])
        metadata = obj["metadata"]
        namespace, name = metadata["namespace"], metadata["name"]
        path = f"{resource.collection_path(namespace)}/{name}"
        existing = await self._call("GET", path)
        if existing is None:
            try:
                created = await self._call(
                    "POST", resource.collection_path(namespace), body=dict(obj)
                )
            except KubeError as error:
                if error.status != 409:  # noqa: PLR2004 - created meanwhile: patch it instead
                    raise
            else:
                return created or {}
        patched = await self._call("PATCH", path, body=dict(obj), content_type=_MERGE_PATCH)
        return patched or {}

    async def delete(self, resource: Resource, namespace: str, name: str) -> bool:
        """Delete the object and, in the background, what it owns; False when absent."""
        reply = await self._call(
            "DELETE",
            f"{resource.collection_path(namespace)}/{name}",
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
        )
        return reply is not None

    async def read_secret_key(self, namespace: str, name: str, key: str) -> str | None:
        """Return one decoded key of a Secret, or None when the Secret or key is missing."""
        secret = await self.get(resource_of("v1", "Secret"), namespace, name)
        if secret is None:
            return None
        value = (secret.get("data") or {}).get(key)
        if value is None:
            string = (secret.get("stringData") or {}).get(key)
            return None if string is None else str(string)
        return base64.b64decode(value).decode()
