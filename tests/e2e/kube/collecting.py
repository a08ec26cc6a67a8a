"""Garbage collection decisions: dependents whose owners or Namespace are gone, and orphaning.

Owns the pure choices of background cascading deletion through ``ownerReferences`` (an object
all of whose owners are gone), of Namespace deletion (every object in a Namespace that is
gone) and of ``propagationPolicy: Orphan`` (the dependents lose that owner's reference). Does
not own deleting or writing them (``tests.e2e.kube.writing``).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Final

import kmock

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from tests.e2e.kube.kinds import JsonObject, KindInfo

__all__ = ["doomed_objects", "dropping_owner"]

_NAMESPACES: Final = kmock.resource("", "v1", "namespaces")


def doomed_objects(
    objects: kmock.ObjectsArray, kinds: Mapping[kmock.resource, KindInfo]
) -> list[tuple[KindInfo, JsonObject]]:
    """Live objects not yet being deleted whose owners are all gone or whose Namespace is gone."""
    live = [
        (kinds[r], stored.raw)
        for (r, _, _), stored in objects.items()
        if not stored.deleted and r in kinds
    ]
    uids = {obj["metadata"]["uid"] for _, obj in live}
    gone_namespaces = {
        key[2] for key, stored in objects.items() if key[0] == _NAMESPACES and stored.deleted
    } - {obj["metadata"]["name"] for info, obj in live if info.resource == _NAMESPACES}
    return [
        (info, obj)
        for info, obj in live
        if not obj["metadata"].get("deletionTimestamp")
        if _is_orphaned(obj, uids) or obj["metadata"].get("namespace") in gone_namespaces
    ]


def dropping_owner(
    objects: kmock.ObjectsArray, owner_uid: str
) -> Iterator[tuple[kmock.resource, JsonObject, JsonObject]]:
    """``(resource, stored, patched)`` for each live dependent of ``owner_uid``, lazily.

    ``patched`` is the stored object without that owner's reference. Each object is read when
    it is reached, so the caller may write the previous one in between.
    """
    for (resource, _, _), stored in list(objects.items()):
        if stored.deleted:
            continue
        obj = stored.raw
        refs = obj["metadata"].get("ownerReferences") or []
        kept = [ref for ref in refs if ref.get("uid") != owner_uid]
        if len(kept) != len(refs):
            patched = copy.deepcopy(obj)
            patched["metadata"]["ownerReferences"] = kept or None
            if not kept:
                del patched["metadata"]["ownerReferences"]
            yield resource, obj, patched


def _is_orphaned(obj: Mapping[str, Any], live_uids: set[str]) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return bool(refs) and all(ref.get("uid") not in live_uids for ref in refs)
