"""The operator's Kubernetes client authenticates like kubectl: the kubeconfig's bearer token.

A tiny aiohttp app stands in for the API server and records the ``Authorization`` header of
each request (it serves one Secret). Without the token a real API server answers 401, so
every call on the bot's children would fail.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import aiohttp.web
import pytest
import yaml
from kubernetes.config import kube_config

from shoal_operator.kube import KubeApi

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

_TOKEN = "e2e-operator-token"  # noqa: S105 - a test credential for a loopback stand-in


@pytest.fixture
async def api_server() -> AsyncIterator[tuple[str, list[str | None]]]:
    seen: list[str | None] = []

    async def secret(request: aiohttp.web.Request) -> aiohttp.web.Response:
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != f"Bearer {_TOKEN}":
            return aiohttp.web.json_response({"message": "Unauthorized"}, status=401)
        value = base64.b64encode(b"s3cret").decode()
        return aiohttp.web.json_response({"data": {"token": value}})

    app = aiohttp.web.Application()
    app.router.add_get("/api/v1/namespaces/{namespace}/secrets/{name}", secret)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def _kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": _TOKEN}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def test_kube_api_sends_the_kubeconfig_bearer_token_when_calling(
    api_server: tuple[str, list[str | None]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, seen = api_server
    config = str(_kubeconfig(tmp_path / "config", server))
    monkeypatch.setenv("KUBECONFIG", config)
    # The client reads KUBECONFIG once, at import: point its default there too.
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", config)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    api = await KubeApi.from_environment()
    try:
        assert await api.read_secret_key("bots", "bot-token", "token") == "s3cret"
        assert await api.read_secret_key("bots", "bot-token", "token") == "s3cret"
    finally:
        await api.close()
    assert seen == [f"Bearer {_TOKEN}", f"Bearer {_TOKEN}"]
