"""Acceptance: the chart's RBAC rules are exactly what the operator uses, no more, no less.

One operator (``python -m shoal operator``, run as the chart runs it: kopf peering through
the chart's KopfPeering) goes through every path that reaches the API: a DiscordBot created
and Ready (shard set, Service, PDB, Lavalink set and config, command-sync Job, Events), a spec
change that reshards (a new generation, the old one deleted) and scales Lavalink, Lavalink
switched off (its objects deleted), and the bot deleted. Every request it sent (told apart by
its kubeconfig token) is then compared with the Role the chart renders for a watched
namespace: each call must be allowed by a rule, and each (apiGroup, resource, verb) a rule
grants must have been used. The cluster-wide ClusterRole must grant the same, with
``clusterkopfpeerings`` in place of ``kopfpeerings``.

The StatefulSet controller and kubelet are a SIMULATION (see ``tests.e2e.test_operator``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from shoal_sim.discord.server import running_simulator
from tests.e2e.kube.kubelet import SimulatedKubelet
from tests.e2e.operator_scenarios import (
    API,
    OPERATOR_TOKEN,
    WORLD,
    bot_manifest,
    fresh_namespace,
    pod_runner,
    running_operator,
    seed_secrets,
    status_of,
    wait_deleted,
    wait_until,
)
from tests.unit.chart.rendering import render

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Iterable, Mapping

    from tests.e2e.kube.emulator import ApiCall
    from tests.e2e.kube.fixtures import KubeApi

#: (apiGroup, resource or resource/subresource, verb), the unit of an RBAC grant.
Permission = tuple[str, str, str]


def _granted(rules: Iterable[Mapping[str, Any]]) -> set[Permission]:
    """Every permission a list of PolicyRules grants (wildcards are refused outright)."""
    granted: set[Permission] = set()
    for rule in rules:
        assert not rule.get("resourceNames"), f"resourceNames are not compared: {rule}"
        assert not rule.get("nonResourceURLs"), f"nonResourceURLs are not compared: {rule}"
        for part in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[part], f"a wildcard grants more than the operator uses: {rule}"
        granted |= {
            (group, resource, verb)
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
        }
    return granted


def _used(calls: Iterable[ApiCall]) -> set[Permission]:
    """The permission each resource call needs (a list with ``watch=true`` is a watch)."""
    return {
        (
            call.api_group or "",
            f"{call.resource}/{call.subresource}" if call.subresource else str(call.resource),
            call.verb,
        )
        for call in calls
        if call.verb is not None
    }


def _rules(kind: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    roles = [obj for obj in render(values) if obj.kind == kind]
    assert len(roles) == 1, f"expected one {kind}, got {[r.name for r in roles]}"
    rules: list[dict[str, Any]] = roles[0].body["rules"]
    return rules


def test_chart_rbac_grants_the_same_cluster_wide_when_no_namespaces_are_listed() -> None:
    namespaced = _granted(_rules("Role", {"operator": {"watchNamespaces": ["bots"]}}))
    cluster_wide = _granted(_rules("ClusterRole", {}))

    renamed = {
        (group, "clusterkopfpeerings" if resource == "kopfpeerings" else resource, verb)
        for group, resource, verb in namespaced
    }
    assert cluster_wide == renamed


def _peering_name(namespace: str) -> str:
    """The KopfPeering the chart renders for a watched namespace (the operator uses its name)."""
    peerings = [
        obj
        for obj in render({"operator": {"watchNamespaces": [namespace]}})
        if obj.kind == "KopfPeering"
    ]
    assert [p.body["metadata"]["namespace"] for p in peerings] == [namespace]
    return peerings[0].name


async def _run_every_path(
    kube_api: KubeApi, namespace: str, redis_url: str, tmp_path: pathlib.Path
) -> None:
    """Create, Ready, reshard + Lavalink scale, Lavalink off, delete: every API path."""
    log = tmp_path / "operator.log"
    runner = pod_runner(tmp_path)
    async with (
        running_simulator(WORLD) as sim,
        SimulatedKubelet(kube_api, runner=runner, job_runner=runner, namespace=namespace),
        running_operator(kube_api, namespace, log, peering=_peering_name(namespace)),
    ):
        await seed_secrets(kube_api, namespace, redis_url)
        await kube_api.create(bot_manifest(namespace, sim))

        async def running_with(shards: int, generation: int) -> bool:
            status = await status_of(kube_api, namespace)
            return (
                status.get("phase") == "Running"
                and status.get("readyShards") == shards
                and status.get("activeGeneration") == generation
                and status.get("imageSynced") is not None
            )

        await wait_until(lambda: running_with(3, 0), "3 shards Ready, commands synced", log=log)

        # A reshard (3 -> 5 shards: generation 1, then generation 0 removed) and Lavalink 2 -> 1.
        change = {"shards": {"mode": "Fixed", "count": 5}, "lavalink": {"nodes": 1}}
        await kube_api.patch(API, "discordbots", namespace, "bot", {"spec": change})

        async def resharded_and_scaled() -> bool:
            lavalink = await kube_api.find("apps/v1", "StatefulSet", namespace, "bot-lavalink")
            old = await kube_api.find("apps/v1", "StatefulSet", namespace, "bot-shards-g0")
            return (
                await running_with(5, 1)
                and old is None
                and lavalink is not None
                and lavalink["spec"]["replicas"] == 1
            )

        await wait_until(resharded_and_scaled, "the reshard and the Lavalink scale", log=log)

        await kube_api.patch(
            API, "discordbots", namespace, "bot", {"spec": {"lavalink": {"enabled": False}}}
        )

        async def lavalink_gone() -> bool:
            left = [
                await kube_api.find(api, kind, namespace, name)
                for api, kind, name in (
                    ("apps/v1", "StatefulSet", "bot-lavalink"),
                    ("v1", "Service", "bot-lavalink"),
                    ("v1", "ConfigMap", "bot-lavalink-config"),
                )
            ]
            return left == [None, None, None]

        await wait_until(lavalink_gone, "Lavalink's objects deleted", log=log, timeout_s=30)

        await kube_api.delete(API, "discordbots", namespace, "bot")

        await wait_deleted(kube_api, namespace, log=log)


@pytest.mark.timeout(120)  # a whole lifecycle with a reshard of real worker processes
async def test_chart_rbac_is_exactly_what_the_operator_calls_when_it_runs_every_path(
    kube_api: KubeApi, redis_url: str, tmp_path: pathlib.Path
) -> None:
    namespace = fresh_namespace()
    await _run_every_path(kube_api, namespace, redis_url, tmp_path)

    calls = [c for c in kube_api.emulator.calls if c.verb is not None]  # resource calls
    # Only the operator was given no token of the test client's: an anonymous call is one of
    # its calls that dropped its credentials (a real API server answers 401 or 403).
    anonymous = [c for c in calls if c.bearer_token is None]
    operator_calls = [c for c in calls if c.bearer_token == OPERATOR_TOKEN]
    assert operator_calls, "the operator's calls were not recorded"
    outside = {(c.method, c.path) for c in operator_calls if c.namespace != namespace}
    assert outside == set(), "a namespaced Role allows nothing outside its namespace"

    granted = _granted(_rules("Role", {"operator": {"watchNamespaces": [namespace]}}))
    used = _used(operator_calls)
    findings = {
        "calls sent without the operator's credentials": sorted(_used(anonymous)),
        "calls the rules do not allow": sorted(used - granted),
        "rules no call used": sorted(granted - used),
    }
    assert findings == {key: [] for key in findings}, f"{findings}; every call: {sorted(used)}"
