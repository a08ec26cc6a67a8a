"""Acceptance: the operator removes a shard generation no reshard state keeps.

The crash it recovers from: the operator created generation N + 1 and died before saving
``status.reshard``, and the plan no longer wants N + 1. The test plays the crash by applying
generation 1's StatefulSet, Service and PodDisruptionBudget itself (built by
``shoal_operator.children``, owned by the bot) while the real operator
(``python -m shoal operator``) holds the bot steady on generation 0. No kubelet runs: the
objects are what matters, not their pods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from shoal_operator import children
from shoal_operator.spec import parse_spec
from shoal_sim.discord.server import running_simulator
from tests.e2e.operator_scenarios import (
    WORLD,
    bot_manifest,
    fresh_namespace,
    running_operator,
    seed_secrets,
    status_of,
    wait_until,
)

if TYPE_CHECKING:
    import pathlib

    from tests.e2e.kube.fixtures import KubeApi

#: The generation the "crashed" operator left behind (the active one is 0).
_ORPHAN: Final = 1
_KINDS: Final = (
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("policy/v1", "PodDisruptionBudget"),
)


def _generation_objects(bot: dict[str, Any], generation: int) -> list[dict[str, Any]]:
    """Generation ``generation``'s three shard objects, as the operator would apply them."""
    namespace = bot["metadata"]["namespace"]
    spec = parse_spec(bot["spec"])
    return [
        children.adopted(obj, bot)
        for obj in (
            children.shard_stateful_set(
                spec, namespace=namespace, bot="bot", generation=generation, shards=3
            ),
            children.shard_service(namespace=namespace, bot="bot", generation=generation),
            children.shard_disruption_budget(namespace=namespace, bot="bot", generation=generation),
        )
    ]


async def _uids(kube_api: KubeApi, namespace: str, generation: int) -> list[str | None]:
    name = children.shard_set_name("bot", generation)
    found = [await kube_api.find(api, kind, namespace, name) for api, kind in _KINDS]
    return [None if obj is None else obj["metadata"]["uid"] for obj in found]


async def test_operator_removes_an_orphaned_generation_when_no_reshard_keeps_it(
    kube_api: KubeApi, redis_url: str, tmp_path: pathlib.Path
) -> None:
    namespace = fresh_namespace()
    log = tmp_path / "operator.log"
    async with running_simulator(WORLD) as sim, running_operator(kube_api, namespace, log):
        await seed_secrets(kube_api, namespace, redis_url)
        bot = await kube_api.create(bot_manifest(namespace, sim))

        async def steady_on_generation_0() -> bool:
            reshard = (await status_of(kube_api, namespace)).get("reshard") or {}
            return reshard.get("phase") == "Steady" and reshard.get("activeShards") == 3

        await wait_until(steady_on_generation_0, "generation 0 planned with 3 shards", log=log)
        active = await _uids(kube_api, namespace, 0)
        assert None not in active
        for obj in _generation_objects(bot, _ORPHAN):
            await kube_api.create(obj)
        assert None not in await _uids(kube_api, namespace, _ORPHAN)

        async def orphan_gone() -> bool:
            return await _uids(kube_api, namespace, _ORPHAN) == [None, None, None]

        await wait_until(orphan_gone, "generation 1's objects deleted", log=log, timeout_s=15)
        events = [
            event
            for event in await kube_api.list("v1", "Event", namespace)
            if event.get("reason") == "OrphanRemoved"
        ]
        assert [(e["type"], e["involvedObject"]["uid"]) for e in events] == [
            ("Warning", bot["metadata"]["uid"])
        ]
        assert "generation 1" in events[0]["message"]
        assert await _uids(kube_api, namespace, 0) == active  # never deleted, not even once
        status = await status_of(kube_api, namespace)
        assert (status["activeGeneration"], status["reshard"]["phase"]) == (0, "Steady")
        assert "targetGeneration" not in status
