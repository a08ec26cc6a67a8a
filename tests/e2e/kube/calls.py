"""The emulator's requests in RBAC terms, error answers, and the paths kmock cannot parse.

Owns :class:`ApiCall` (one served request as RBAC rules see it: verb, group, resource,
subresource, namespace, bearer token), describing a kmock request as one, the Kubernetes error
answer, and parsing ``/api/v1/namespaces[/<name>[/status|/finalize]]``, which kmock 0.8's path
parser cannot address. Does not own serving requests (``tests.e2e.kube.emulator``).
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, Final

import kmock
from kmock._internal import rendering

if TYPE_CHECKING:
    import re
    from collections.abc import Mapping

    import aiohttp.web

__all__ = ["ApiCall", "api_error", "describe_call", "parse_namespace_request"]


@dataclasses.dataclass(frozen=True, slots=True)
class ApiCall:
    """One request the emulator served, in the terms RBAC rules use."""

    method: str
    """HTTP method, upper case."""
    path: str
    """URL path without the query."""
    verb: str | None
    """RBAC verb (get, list, watch, create, update, patch, delete, deletecollection); None for
    discovery and other non-resource URLs."""
    api_group: str | None
    """API group of the resource ('' for core); None for non-resource URLs."""
    resource: str | None
    """Plural resource name; None for non-resource URLs."""
    subresource: str | None
    """Subresource such as ``status``, if any."""
    namespace: str | None
    """Namespace of the request; None when cluster-wide."""
    bearer_token: str | None = None
    """The ``Authorization: Bearer`` token sent, if any: who called (nothing is authenticated
    here, but a test that gives each client its own token can tell their calls apart, as RBAC
    tells subjects apart)."""


def api_error(status: int, reason: str, message: str) -> kmock.KubernetesError:
    """The error a real API server answers with ``status``, ``reason`` and ``message``."""
    return kmock.KubernetesError(status=status, reason=reason, message=message, details={})


def describe_call(request: kmock.Request) -> ApiCall:
    """Describe a served request as an :class:`ApiCall`."""
    resource = request.resource
    is_resource = resource is not None and resource.plural is not None
    verb: str | None = None
    if is_resource:
        verb = _VERB_BY_METHOD.get((request.method.value, request.name is not None))
        if verb in {"get", "list"} and request.params.get("watch") in {"true", "1"}:
            verb = "watch"
    return ApiCall(
        method=request.method.value,
        path=request.url.path,
        verb=verb,
        api_group=resource.group if is_resource and resource is not None else None,
        resource=resource.plural if is_resource and resource is not None else None,
        subresource=request.subresource,
        namespace=request.namespace,
        bearer_token=_bearer_token(request.headers),
    )


def _bearer_token(headers: Mapping[str, str]) -> str | None:
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


_VERB_BY_METHOD: Final[dict[tuple[str, bool], str]] = {
    ("GET", True): "get",
    ("GET", False): "list",
    ("POST", False): "create",
    ("PATCH", True): "patch",
    ("PUT", True): "update",
    ("DELETE", True): "delete",
    ("DELETE", False): "deletecollection",
}


async def parse_namespace_request(
    raw_request: aiohttp.web.BaseRequest, match: re.Match[str], *, request_id: int
) -> kmock.Request:
    """Parse a request under ``/api/v1/namespaces`` matched by ``match`` (name, subresource)."""
    body = await raw_request.read()
    data: Any = json.loads(body) if body else None
    method = kmock.method(raw_request.method)
    name, subresource = match.group(1), match.group(2)
    is_watch = raw_request.query.get("watch") in {"true", "1"}
    action: kmock.action | None
    if method == kmock.method.GET:
        action = (
            kmock.action.WATCH if is_watch else kmock.action.FETCH if name else kmock.action.LIST
        )
    else:
        action = {
            "POST": kmock.action.CREATE,
            "PATCH": kmock.action.UPDATE,
            "DELETE": kmock.action.DELETE,
        }.get(raw_request.method)
    return rendering.Request(
        id=request_id,
        raw_request=raw_request,
        url=raw_request.url,
        method=raw_request.method,
        params=dict(raw_request.query),
        headers=dict(raw_request.headers),
        cookies=dict(raw_request.cookies),
        data=data,
        body=body,
        text=body.decode(errors="replace"),
        action=action,
        resource=kmock.resource("", "v1", "namespaces"),
        namespace=None,
        name=name,
        subresource=subresource,
    )
