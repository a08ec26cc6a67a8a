"""Writing objects as a real API server does: stamping, status, finalizers and collection.

Owns :class:`ObjectWriter`: creating (uid, a global ``resourceVersion``, ``generation``,
``creationTimestamp``, ``generateName``), storing a patch result or a replacement (the
server's metadata kept, ``status`` apart when it is a subresource, 409 on a stale
``resourceVersion``, a no-op write changing nothing, ``generation`` bumped only by a change
of desired state), deleting (finalizers and ``deletionTimestamp``), orphaning and background
garbage collection, each change emitted as a watch event. Its callers hold the emulator's
lock. Does not own HTTP, patches or selectors (``tests.e2e.kube.emulator``).
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import uuid
from typing import TYPE_CHECKING, Any, Final

from tests.e2e.kube.calls import api_error
from tests.e2e.kube.collecting import doomed_objects, dropping_owner

if TYPE_CHECKING:
    from collections.abc import Mapping

    import kmock

    from tests.e2e.kube.kinds import JsonObject, KindInfo
    from tests.e2e.kube.watching import EventLog

__all__ = ["ObjectWriter"]

# Kubernetes' generateName alphabet: no vowels (no words) and no look-alike characters.
_GENERATE_NAME_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
_GENERATE_NAME_SUFFIX_LEN: Final = 5
# Top-level keys that never count as a change of the object's desired state (generation).
_NON_GENERATION_KEYS: Final = frozenset({"metadata", "status", "apiVersion", "kind"})
# Metadata the server owns: a client cannot change it through a patch or a replace.
_SERVER_METADATA: Final = (
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "name",
    "namespace",
)


class ObjectWriter:
    """Every effective write to the emulator's objects, stamped and emitted as an event."""

    __slots__ = ("_events", "_kinds", "_objects", "_resource_version")

    def __init__(
        self,
        objects: kmock.ObjectsArray,
        kinds: Mapping[kmock.resource, KindInfo],
        events: EventLog,
    ) -> None:
        """Write into kmock's ``objects``, for the registered ``kinds``, emitting ``events``."""
        self._objects = objects
        self._kinds = kinds
        self._events = events
        self._resource_version = 0

    @property
    def resource_version(self) -> int:
        """The latest resourceVersion handed out."""
        return self._resource_version

    def _next_version(self) -> str:
        self._resource_version += 1
        return str(self._resource_version)

    async def create(self, info: KindInfo, namespace: str | None, body: JsonObject) -> JsonObject:
        """Store a new object from ``body``, stamped; 409 if a live one has its name."""
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if info.is_namespaced:
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        ns = meta.get("namespace")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generate_name(info, ns, meta["generateName"])
        if not meta.get("name"):
            raise api_error(422, "Invalid", "metadata.name or metadata.generateName is required")
        key = (info.resource, ns, meta["name"])
        if key in self._objects and not self._objects[key].deleted:
            raise api_error(409, "AlreadyExists", f'{info.plural} "{meta["name"]}" already exists')
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(field, None)
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=self._next_version(),
            generation=1,
            creationTimestamp=_now(),
        )
        obj["apiVersion"], obj["kind"] = info.api_version, info.kind
        if info.has_status:
            obj.pop("status", None)  # a real server ignores status on create (subresource)
        if key in self._objects:
            self._objects[key].create(obj)
        else:
            self._objects[key] = obj
        await self._events.emit(info.resource, "ADDED", obj)
        return copy.deepcopy(obj)

    def _generate_name(self, info: KindInfo, namespace: str | None, prefix: str) -> str:
        while True:
            suffix = "".join(
                secrets.choice(_GENERATE_NAME_ALPHABET) for _ in range(_GENERATE_NAME_SUFFIX_LEN)
            )
            key = (info.resource, namespace, prefix + suffix)
            if key not in self._objects or self._objects[key].deleted:
                return prefix + suffix

    async def write(
        self, info: KindInfo, current: JsonObject, wanted: JsonObject, subresource: str | None
    ) -> JsonObject:
        """Store ``wanted`` as the new state of ``current`` (a patch result or a replacement)."""
        new = _separate_status(info, current, wanted, subresource)
        meta = new.setdefault("metadata", {})
        asked_rv = meta.get("resourceVersion")
        if asked_rv is not None and asked_rv != current["metadata"]["resourceVersion"]:
            raise api_error(
                409, "Conflict", "the object has been modified; apply to the latest version"
            )
        for field in _SERVER_METADATA:
            if field in current["metadata"]:
                meta[field] = current["metadata"][field]
            else:
                meta.pop(field, None)
        meta["resourceVersion"] = current["metadata"]["resourceVersion"]
        new["apiVersion"], new["kind"] = info.api_version, info.kind
        if new == current:
            return copy.deepcopy(current)  # a no-op write changes nothing, as in Kubernetes
        if _desired_state(new, info) != _desired_state(current, info):
            meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
        meta["resourceVersion"] = self._next_version()
        key = (info.resource, meta.get("namespace"), meta["name"])
        self._objects[key].history.append(new)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return await self._remove(info, new)
        await self._events.emit(info.resource, "MODIFIED", new)
        return copy.deepcopy(new)

    async def delete(self, info: KindInfo, current: JsonObject) -> JsonObject:
        """Remove ``current``, or mark it with ``deletionTimestamp`` while it has finalizers."""
        meta = current["metadata"]
        if not meta.get("finalizers"):
            return await self._remove(info, current)
        if meta.get("deletionTimestamp"):
            return copy.deepcopy(current)
        new = copy.deepcopy(current)
        new["metadata"].update(
            deletionTimestamp=_now(),
            deletionGracePeriodSeconds=0,
            resourceVersion=self._next_version(),
        )
        self._objects[info.resource, meta.get("namespace"), meta["name"]].history.append(new)
        await self._events.emit(info.resource, "MODIFIED", new)
        return copy.deepcopy(new)

    async def _remove(self, info: KindInfo, current: JsonObject) -> JsonObject:
        gone = copy.deepcopy(current)
        gone["metadata"]["resourceVersion"] = self._next_version()
        self._objects[
            info.resource, gone["metadata"].get("namespace"), gone["metadata"]["name"]
        ].delete()
        await self._events.emit(info.resource, "DELETED", gone)
        return gone

    async def orphan_dependents(self, owner_uid: str) -> None:
        """Drop ``owner_uid`` from the ``ownerReferences`` of every object it owns."""
        for resource, obj, patched in dropping_owner(self._objects, owner_uid):
            await self.write(self._kinds[resource], obj, patched, None)

    async def collect_garbage(self) -> None:
        """Background cascade: delete dependents whose owners are all gone, until nothing changes.

        Also deletes every object in a Namespace that is gone (namespace lifecycle).
        """
        while True:
            doomed = doomed_objects(self._objects, self._kinds)
            if not doomed:
                return
            for info, obj in doomed:
                await self.delete(info, obj)


def _separate_status(
    info: KindInfo, current: JsonObject, wanted: JsonObject, subresource: str | None
) -> JsonObject:
    """What a write may change: only status through /status, never status through the main."""
    if subresource not in (None, "status") or (subresource == "status" and not info.has_status):
        raise api_error(404, "NotFound", f"no subresource {subresource!r} on {info.plural}")
    new = copy.deepcopy(wanted)
    if subresource == "status":
        new = {**copy.deepcopy(current), "status": new.get("status")}
        if new["status"] is None:
            del new["status"]
    elif info.has_status:
        new.pop("status", None)
        if "status" in current:
            new["status"] = copy.deepcopy(current["status"])
    return new


def _desired_state(obj: Mapping[str, Any], info: KindInfo) -> dict[str, Any]:
    ignored = _NON_GENERATION_KEYS if info.has_status else _NON_GENERATION_KEYS - {"status"}
    return {key: value for key, value in obj.items() if key not in ignored}


def _now() -> str:
    return dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
