"""Removing shard generations: the one a reshard leaves behind, and orphans.

A generation's shard objects are a StatefulSet, a headless Service and a
PodDisruptionBudget of one name (``children.shard_set_name``). The reshard machine
removes the old generation itself (``RemoveGeneration``); a generation it created but
never recorded (the operator crashed before saving ``status.reshard``) is an orphan that
no later step would remove, so every pass lists the bot's shard StatefulSets and removes
the generations the new state keeps neither active nor as target
(:func:`shoal.planning.resharding.orphaned_generations`).

Owns that listing and the deletes. Does not own which generations to keep
(``shoal.planning.resharding``) nor Events and metrics (the caller's).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from shoal.planning.resharding import orphaned_generations
from shoal_operator import children
from shoal_operator.kube import resource_of

if TYPE_CHECKING:
    from shoal.planning.resharding import ReshardState
    from shoal_operator.kube import KubeApi

__all__ = ["remove_generation", "remove_orphaned_generations"]

_LOG = logging.getLogger(__name__)
_STATEFUL_SET = resource_of("apps/v1", "StatefulSet")
_SERVICE = resource_of("v1", "Service")
_PDB = resource_of("policy/v1", "PodDisruptionBudget")


async def remove_generation(kube: KubeApi, namespace: str, bot: str, generation: int) -> None:
    """Delete ``generation``'s shard objects (nothing to do for those already gone).

    The StatefulSet goes last: the orphan search lists StatefulSets, so a removal cut
    short is found and finished by a later pass.
    """
    name = children.shard_set_name(bot, generation)
    for resource in (_PDB, _SERVICE, _STATEFUL_SET):
        await kube.delete(resource, namespace, name)


async def remove_orphaned_generations(
    kube: KubeApi, namespace: str, bot: str, state: ReshardState
) -> list[int]:
    """Remove the generations ``state`` (the one about to be saved) does not keep.

    Returns:
        The generations removed, in ascending order.
    """
    sets = await kube.list(_STATEFUL_SET, namespace, children.bot_labels(bot, "shards"))
    existing: set[int] = set()
    for shard_set in sets:
        metadata = shard_set.get("metadata") or {}
        if metadata.get("deletionTimestamp"):
            continue  # being deleted already (the machine's own removal, or a cascade)
        try:
            existing.add(int((metadata.get("labels") or {})[children.GENERATION_LABEL]))
        except (KeyError, TypeError, ValueError):
            continue  # not a set the operator made: leave it alone
    orphans = sorted(orphaned_generations(existing, state))
    for generation in orphans:
        _LOG.warning(
            "removing orphaned shard generation %d of %s (active generation %d)",
            generation,
            bot,
            state.active_generation,
            extra={"bot": bot, "namespace": namespace, "generation": generation},
        )
        await remove_generation(kube, namespace, bot, generation)
    return orphans
