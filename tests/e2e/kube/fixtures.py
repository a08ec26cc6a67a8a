"""pytest fixtures and an HTTP client for the in-memory Kubernetes API of the e2e tests.

Owns the ``kube_api`` fixture (a ``KubeEmulator`` served on a free loopback port, with the
chart's CRDs registered: DiscordBot and kopf's peering kinds), ``KubeApi`` (small async
helpers over aiohttp that tests and the simulated kubelet use to talk to it like any client
would, plus a kubeconfig writer for kopf and the ``kubernetes`` client) and ``running_kopf``
(kopf's ``KopfRunner`` from async tests, stopped without blocking the loop that serves the
API). Does not own the API semantics (``tests.e2e.kube.emulator``) nor any controller
(``tests.e2e.kube.kubelet``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

import aiohttp
import kmock
import kubernetes
import pytest
import pytest_asyncio
import yaml
from kopf.testing import KopfRunner

from tests.e2e.kube.emulator import KindInfo, KubeEmulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

    import kopf

__all__ = [
    "KOPF_PEERING_CRD_PATH",
    "SHOAL_CRD_PATH",
    "TEST_CLIENT_TOKEN",
    "KubeApi",
    "KubeApiError",
    "kube_api",
    "kubeconfig",
    "running_kopf",
]

T = TypeVar("T")
JsonObject = dict[str, Any]

_CHART_CRDS: Final = Path(__file__).resolve().parents[3] / "charts" / "shoal" / "crds"
SHOAL_CRD_PATH: Final = _CHART_CRDS / "discordbots.shoal.dev.yaml"
#: kopf's KopfPeering and ClusterKopfPeering, as the chart installs them.
KOPF_PEERING_CRD_PATH: Final = _CHART_CRDS / "kopf-peering.yaml"
#: The bearer token of ``KubeApi``'s own calls (tests, simulated kubelet): tells them apart
#: from the calls of processes given a kubeconfig (``ApiCall.bearer_token``).
TEST_CLIENT_TOKEN: Final = "e2e-test-client"  # noqa: S105 - nothing checks it
_PATCH_CONTENT_TYPES: Final = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}
# How long kopf may take to stop once asked; it cancels its tasks, so this is generous.
_KOPF_STOP_TIMEOUT_S: Final = 30.0


class KubeApiError(Exception):
    """The API answered with an error status; ``status`` and the Status ``body`` say which."""

    def __init__(self, status: int, body: Any) -> None:  # noqa: ANN401  # any JSON the API sent
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class KubeApi:
    """The emulator as tests see it: its URL, a kubeconfig writer and async HTTP helpers.

    Args:
        emulator: the running emulator (for direct inspection: ``calls``, ``objects``).
        url: its base URL, e.g. ``http://127.0.0.1:41234``.
        session: the aiohttp session the helpers use (owned by the caller).
    """

    def __init__(self, emulator: KubeEmulator, url: str, session: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.url = url.rstrip("/")
        self._session = session

    def write_kubeconfig(self, path: Path, *, token: str = "emulator-token") -> Path:  # noqa: S107 - a dummy
        """Write a kubeconfig for this API (plain HTTP, ``token``) and return its path.

        Nothing checks the token, but every call records it (``ApiCall.bearer_token``): give a
        client its own to tell its calls apart.
        """
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {"token": token}}],
            "contexts": [
                {
                    "name": "emulator",
                    "context": {"cluster": "emulator", "user": "emulator", "namespace": "default"},
                }
            ],
            "current-context": "emulator",
        }
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # JSON is valid YAML
        return path

    def register_crd_file(self, path: Path) -> list[KindInfo]:
        """Serve the custom resources defined by a CRD manifest file (one or more documents)."""
        documents = yaml.safe_load_all(path.read_text(encoding="utf-8"))
        return [info for crd in documents if crd for info in self.emulator.register_crd(crd)]

    def object_url(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str | None = None,
        subresource: str | None = None,
    ) -> str:
        """The URL of an object (or of its collection when ``name`` is None)."""
        info = self.emulator.find_kind(api_version, kind)
        root = f"/apis/{info.api_version}" if info.group else f"/api/{info.version}"
        scope = f"/namespaces/{namespace}" if info.is_namespaced and namespace else ""
        tail = "".join(f"/{part}" for part in (name, subresource) if part)
        return f"{self.url}{root}{scope}/{info.plural}{tail}"

    async def create(self, obj: Mapping[str, Any]) -> JsonObject:
        """Create an object (namespace from its metadata) and return what the API stored."""
        namespace = obj.get("metadata", {}).get("namespace")
        url = self.object_url(obj["apiVersion"], obj["kind"], namespace)
        return await self._call("POST", url, json_body=obj)

    async def get(
        self, api_version: str, kind: str, namespace: str | None, name: str
    ) -> JsonObject:
        """Fetch an object; raise ``KubeApiError`` (404) if absent. ``kind`` may be the plural."""
        return await self._call("GET", self.object_url(api_version, kind, namespace, name))

    async def find(
        self, api_version: str, kind: str, namespace: str | None, name: str
    ) -> JsonObject | None:
        """Fetch an object, or None if absent."""
        try:
            return await self.get(api_version, kind, namespace, name)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def patch(  # an object's address plus the patch and how to send it
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        subresource: str | None = None,
        patch_type: Literal["merge", "json", "strategic"] = "merge",
    ) -> JsonObject:
        """Patch an object (or its ``status`` subresource) and return the result."""
        url = self.object_url(api_version, kind, namespace, name, subresource)
        headers = {"Content-Type": _PATCH_CONTENT_TYPES[patch_type]}
        return await self._call("PATCH", url, json_body=patch, headers=headers)

    async def delete(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        name: str,
        *,
        propagation_policy: Literal["Background", "Foreground", "Orphan"] | None = None,
    ) -> JsonObject:
        """Delete an object; return it as last seen (with deletionTimestamp if finalizers hold)."""
        url = self.object_url(api_version, kind, namespace, name)
        body = {"propagationPolicy": propagation_policy} if propagation_policy else None
        return await self._call("DELETE", url, json_body=body)

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
    ) -> list[JsonObject]:
        """List objects (in a namespace or all), optionally by a label selector."""
        params = {"labelSelector": label_selector} if label_selector else None
        url = self.object_url(api_version, kind, namespace)
        result = await self._call("GET", url, params=params)
        items: list[JsonObject] = result["items"]
        return items

    async def wait_until(
        self, check: Callable[[], Awaitable[T | None]], *, timeout_s: float = 10.0
    ) -> T:
        """Re-run ``check`` after every write to the API until it returns a truthy value.

        Raises:
            TimeoutError: if it never does within ``timeout_s``.
        """
        async with asyncio.timeout(timeout_s):
            while True:
                change = asyncio.ensure_future(self.emulator.wait_for_change())
                try:
                    result = await check()
                    if result:
                        return result
                    await change
                finally:
                    change.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await change

    async def _call(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,  # noqa: ANN401  # any JSON
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> JsonObject:
        data = None if json_body is None else json.dumps(json_body)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        async with self._session.request(
            method, url, data=data, headers=all_headers, params=params
        ) as response:
            body = await response.json(content_type=None)
            if response.status >= 400:  # HTTP's client and server error classes
                raise KubeApiError(response.status, body)
            result: JsonObject = body
            return result


@pytest_asyncio.fixture
async def kube_api() -> AsyncIterator[KubeApi]:
    """A fresh in-memory Kubernetes API on a free loopback port, serving the chart's CRDs.

    The DiscordBot CRD and kopf's peering CRDs, from the chart's files.
    """
    async with (
        KubeEmulator() as emulator,
        kmock.Server(emulator) as server,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {TEST_CLIENT_TOKEN}"}) as session,
    ):
        api = KubeApi(emulator, str(server.url), session)
        api.register_crd_file(SHOAL_CRD_PATH)
        api.register_crd_file(KOPF_PEERING_CRD_PATH)
        yield api


@pytest.fixture
def kubeconfig(kube_api: KubeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig for ``kube_api``, set as ``KUBECONFIG`` for kopf and the ``kubernetes`` client.

    The ``kubernetes`` package reads ``KUBECONFIG`` once, when first imported, into
    ``kube_config.KUBE_CONFIG_DEFAULT_LOCATION``; that default is patched too, or a client
    imported earlier in the session would keep looking at ``~/.kube/config``.
    """
    path = kube_api.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.setattr(kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    return path


@contextlib.asynccontextmanager
async def running_kopf(
    args: Sequence[str],
    *,
    registry: kopf.OperatorRegistry | None = None,
    settings: kopf.OperatorSettings | None = None,
) -> AsyncIterator[KopfRunner]:
    """Run ``kopf <args>`` in kopf's test thread while this loop keeps serving the API.

    ``KopfRunner.__exit__`` joins the operator's thread; called directly from a coroutine it
    would block the loop the operator is talking to, so it runs in a worker thread. Set
    ``KUBECONFIG`` (see ``KubeApi.write_kubeconfig``) before entering.
    """
    runner = KopfRunner(
        list(args), registry=registry, settings=settings, timeout=_KOPF_STOP_TIMEOUT_S
    )
    runner.__enter__()  # the exit must run in a thread, so no `with` here
    try:
        yield runner
    finally:
        await asyncio.to_thread(runner.__exit__, None, None, None)
