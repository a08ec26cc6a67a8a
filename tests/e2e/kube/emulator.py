"""An in-memory Kubernetes API server for e2e tests: kmock's emulator with the gaps filled.

Owns the API semantics the operator's tests rely on: metadata stamping (uid, a global
``resourceVersion`` bumped on every effective write, ``generation``, ``creationTimestamp``),
``generateName``, a ``status`` subresource kept apart from the main resource, merge and JSON
patches (a failed ``test`` op answers 422), PUT, watches replayed from the requested
``resourceVersion`` (the real event history, so a DELETED missed between list and watch is
replayed too), label and field selectors, finalizers with ``deletionTimestamp``, background
garbage collection through ``ownerReferences`` (and Namespace deletion), discovery for the
built-in kinds the operator touches and for CRDs, and a log of every call for RBAC checks.

The parts it composes: ``kinds`` (what it serves), ``calls`` (the request log, error answers,
Namespace paths), ``patching``, ``selecting``, ``watching`` (event history and buses),
``writing`` (stamping, status, finalizers) and ``collecting`` (garbage collection decisions).
The names tests use are re-exported here.

Does not own: schema validation, pruning, defaulting, CEL, server-side apply, admission,
authentication, RBAC enforcement, or any controller (see ``tests.e2e.kube.kubelet``).

What kmock 0.8 does differently from a real API server, found while writing this (beyond the
gaps listed in ``/work/shared/reference/kubernetes-testing.md``):

- Its path parser cannot address the Namespace resource itself: ``/api/v1/namespaces``
  crashes the parser and ``/api/v1/namespaces/<name>`` parses as a namespace with no
  resource. ``__call__`` is overridden to parse these paths itself.
- Its watch takes the snapshot and then subscribes to the event bus, so an event written in
  between is lost; here the bus is marked under the same lock as the snapshot.
- PUT has no action in kmock; it is served as a full replace (``update`` in RBAC terms).
- A no-op write (the patched object equals the stored one) changes nothing, bumps no
  ``resourceVersion`` and emits no event, as in Kubernetes.
- Strategic merge patches are applied as JSON merge patches (lists are replaced, not merged
  by key). Foreground deletion is served as background deletion. A watch with a label
  selector does not turn "stopped matching" into DELETED.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

import attrs
import kmock
from typing_extensions import override

from tests.e2e.kube.calls import ApiCall, api_error, describe_call, parse_namespace_request
from tests.e2e.kube.kinds import BUILTIN_KINDS, VERBS, JsonObject, KindInfo, kinds_of_crd
from tests.e2e.kube.patching import PatchError, apply_json_patch, apply_merge_patch
from tests.e2e.kube.selecting import LabelSelector, is_selected, selector_of
from tests.e2e.kube.watching import EventLog, stream_until
from tests.e2e.kube.writing import ObjectWriter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    import aiohttp.web

__all__ = [
    "BUILTIN_KINDS",
    "ApiCall",
    "KindInfo",
    "KubeEmulator",
    "LabelSelector",
    "apply_json_patch",
    "apply_merge_patch",
]


@attrs.define(kw_only=True)
class KubeEmulator(kmock.KubernetesEmulator):
    """kmock's ``KubernetesEmulator`` with the semantics the operator relies on (see module doc).

    Enter it (``async with``) and serve it with ``kmock.Server(emulator)``; objects are kept in
    kmock's ``objects`` array, so kmock's assertions on ``emulator.objects[...]`` still work.
    """

    is_builtins_registered: bool = True
    """Register ``BUILTIN_KINDS`` at construction."""

    calls: list[ApiCall] = attrs.field(factory=list, init=False)
    """Every request served, in order (for comparing the operator's calls with RBAC rules)."""

    _kinds: dict[kmock.resource, KindInfo] = attrs.field(factory=dict, init=False)
    _events: EventLog = attrs.field(factory=EventLog, init=False)
    _writer: ObjectWriter = attrs.field(init=False)

    @override
    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._writer = ObjectWriter(self.objects, self._kinds, self._events)
        self.fallback[kmock.method.PUT] << self._serve_replace
        if self.is_builtins_registered:
            for info in BUILTIN_KINDS:
                self.register_kind(info)

    # --- Registration and lookup ---

    def register_kind(self, info: KindInfo) -> None:
        """Serve a resource: discovery lists it (with ``/status`` if it has one)."""
        self._kinds[info.resource] = info
        self.resources[info.resource] = kmock.ResourceInfo(
            namespaced=info.is_namespaced,
            kind=info.kind,
            singular=info.kind.lower(),
            verbs=VERBS,
            subresources={"status"} if info.has_status else set(),
        )

    def register_crd(self, crd: Mapping[str, Any]) -> list[KindInfo]:
        """Serve every served version of a CustomResourceDefinition manifest (a parsed YAML)."""
        names = crd["spec"]["names"]
        kinds = kinds_of_crd(crd)
        for info in kinds:
            self.register_kind(info)
            resource_info = self.resources[info.resource]
            resource_info.shortnames = set(names.get("shortNames", []))
            resource_info.categories = set(names.get("categories", []))
        return kinds

    def find_kind(self, api_version: str, kind_or_plural: str) -> KindInfo:
        """The registered resource for an apiVersion and a kind or plural name.

        Raises:
            LookupError: if no such resource is registered.
        """
        group, _, version = api_version.rpartition("/")
        for info in self._kinds.values():
            if (info.group, info.version) == (group, version) and kind_or_plural in (
                info.kind,
                info.plural,
            ):
                return info
        raise LookupError(f"no resource {kind_or_plural!r} in {api_version!r}")

    @override
    async def _serve_version(self, request: kmock.Request) -> kmock.Payload:
        payload = await super()._serve_version(request)
        if isinstance(payload, dict) and payload.get("groupVersion", "").startswith("/"):
            payload["groupVersion"] = payload["groupVersion"][1:]  # core is "v1", not "/v1"
        return payload

    # --- Direct access for tests and simulated controllers (no HTTP) ---

    @property
    def resource_version(self) -> int:
        """The latest resourceVersion handed out."""
        return self._writer.resource_version

    def live_objects(self, info: KindInfo, namespace: str | None = None) -> list[JsonObject]:
        """Copies of the live objects of a resource (in a namespace, or all), sorted by name."""
        found = [
            copy.deepcopy(obj.raw)
            for (resource, ns, _), obj in self.objects.items()
            if resource == info.resource and not obj.deleted
            if namespace is None or ns == namespace
        ]
        return sorted(
            found, key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"])
        )

    async def wait_for_change(self) -> None:
        """Return after the next effective write (any resource)."""
        await self._events.wait_for_change()

    # --- Request entry points ---

    @override
    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # kmock's path parser cannot address the Namespace resource; serve those paths with a
        # request parsed here, otherwise defer to kmock entirely.
        match = re.fullmatch(
            r"/api/v1/namespaces(?:/([^/]+))?(?:/(status|finalize))?/?", raw_request.path
        )
        if match is None:
            return await super().__call__(raw_request)
        await raw_request.read()
        try:
            request = await parse_namespace_request(
                raw_request, match, request_id=len(self._requests)
            )
            self._requests.append(request)
            return await self._handle(request)
        except Exception as exc:  # noqa: BLE001  # rendered like kmock renders any failure
            return await self._render_error(exc)

    @override
    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        self.calls.append(describe_call(request))
        # Skip KubernetesEmulator._handle: its state changes are replaced by the _serve_* below.
        return await super(kmock.KubernetesEmulator, self)._handle(request)

    @override
    async def _serve_list(self, request: kmock.Request) -> kmock.Payload:
        info = self._kind_of(request)
        selector = selector_of(request)
        async with self._lock:
            items = [
                obj
                for obj in self.live_objects(info, request.namespace)
                if is_selected(obj, request, selector)
            ]
            version = str(self._writer.resource_version)
        return {
            "apiVersion": info.api_version,
            "kind": f"{info.kind}List",
            "metadata": {"resourceVersion": version},
            "items": items,
        }

    @override
    async def _serve_watch(self, request: kmock.Request) -> AsyncIterator[kmock.Payload]:
        yield b""  # send the headers now, as kmock does, so the client sees the stream open
        info = self._kind_of(request)
        selector = selector_of(request)
        since = request.params.get("resourceVersion") or "0"
        timeout_s = (
            float(request.params["timeoutSeconds"]) if "timeoutSeconds" in request.params else None
        )
        async with self._lock:
            bus = self._events.bus(info.resource)
            mark = await bus.mark()  # under the lock: nothing written after the replay is lost
            replay = self._replay(info, request, since)
        try:
            for event in replay:
                if is_selected(event["object"], request, selector):
                    yield event
            async for event in stream_until(bus.stream(since=mark), timeout_s):
                if is_selected(event["object"], request, selector):
                    yield event
        finally:
            await bus.unmark(mark)

    @override
    async def _serve_fetch(self, request: kmock.Request) -> kmock.Payload:
        info = self._kind_of(request)
        async with self._lock:
            return copy.deepcopy(self._get_live(info, request.namespace, request.name))

    @override
    async def _serve_create(self, request: kmock.Request) -> kmock.Payload:
        info = self._kind_of(request)
        if request.subresource is not None:
            raise api_error(405, "MethodNotAllowed", f"cannot create {request.subresource!r}")
        if not isinstance(request.data, dict):
            raise api_error(400, "BadRequest", "the body must be a JSON object")
        async with self._lock:
            created = await self._writer.create(info, request.namespace, request.data)
            await self._writer.collect_garbage()
        if info.resource == kmock.resource(
            "apiextensions.k8s.io", "v1", "customresourcedefinitions"
        ):
            self.register_crd(created)
        return created

    @override
    async def _serve_update(self, request: kmock.Request) -> kmock.Payload:
        info = self._kind_of(request)
        content_type = request.headers.get("Content-Type", "application/merge-patch+json")
        async with self._lock:
            current = self._get_live(info, request.namespace, request.name)
            try:
                if content_type.startswith("application/json-patch+json"):
                    patched = apply_json_patch(current, request.data)
                elif content_type.startswith(
                    ("application/merge-patch+json", "application/strategic-merge-patch+json")
                ):
                    patched = apply_merge_patch(current, request.data)
                else:
                    raise api_error(
                        415, "UnsupportedMediaType", f"unsupported patch {content_type!r}"
                    )
            except PatchError as exc:
                raise api_error(422, "Invalid", f"the patch cannot be applied: {exc}") from exc
            if not isinstance(patched, dict):
                raise api_error(422, "Invalid", "the patched object is not a JSON object")
            result = await self._writer.write(info, current, patched, request.subresource)
            await self._writer.collect_garbage()
        return result

    async def _serve_replace(self, request: kmock.Request) -> kmock.Payload:
        info = self._kind_of(request)
        if request.name is None or not isinstance(request.data, dict):
            raise api_error(405, "MethodNotAllowed", "PUT needs an object URL and a JSON object")
        async with self._lock:
            current = self._get_live(info, request.namespace, request.name)
            result = await self._writer.write(info, current, request.data, request.subresource)
            await self._writer.collect_garbage()
        return result

    @override
    async def _serve_delete(self, request: kmock.Request) -> kmock.Payload:
        info = self._kind_of(request)
        if request.name is None:
            raise api_error(405, "MethodNotAllowed", "deletecollection is not emulated")
        body = request.data if isinstance(request.data, dict) else {}
        policy = request.params.get("propagationPolicy") or body.get("propagationPolicy")
        async with self._lock:
            current = self._get_live(info, request.namespace, request.name)
            if policy == "Orphan":
                await self._writer.orphan_dependents(current["metadata"]["uid"])
            result = await self._writer.delete(info, current)
            await self._writer.collect_garbage()
        return result

    # --- State changes (all called under self._lock) ---

    def _kind_of(self, request: kmock.Request) -> KindInfo:
        resource = request.resource
        if resource is None or resource not in self._kinds:
            raise api_error(404, "NotFound", f"the server could not find the resource {resource!r}")
        return self._kinds[resource]

    def _get_live(self, info: KindInfo, namespace: str | None, name: str | None) -> JsonObject:
        key = (info.resource, namespace if info.is_namespaced else None, name or "")
        if key not in self.objects or self.objects[key].deleted:
            raise api_error(404, "NotFound", f'{info.plural} "{name}" not found')
        return self.objects[key].raw

    def _replay(self, info: KindInfo, request: kmock.Request, since: str) -> list[JsonObject]:
        if since == "0":  # "any version": the current state as ADDED, as a real server does
            objs = self.live_objects(info, request.namespace)
            return [{"type": "ADDED", "object": obj} for obj in objs]
        try:
            since_rv = int(since)
        except ValueError as exc:
            raise api_error(400, "BadRequest", f"bad resourceVersion {since!r}") from exc
        return self._events.since(info.resource, since_rv)
