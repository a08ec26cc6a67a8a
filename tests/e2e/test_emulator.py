"""The in-memory Kubernetes API behaves like a real one where the operator depends on it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import kopf
import pytest

from tests.e2e.kube.demo_operator import WIDGET_KIND, register
from tests.e2e.kube.emulator import ApiCall
from tests.e2e.kube.fixtures import TEST_CLIENT_TOKEN, KubeApiError, running_kopf

if TYPE_CHECKING:
    from pathlib import Path

    from tests.e2e.kube.fixtures import KubeApi

_NS: Final = "default"
_BOT_API: Final = "shoal.dev/v1alpha1"


def _config_map(name: str, **metadata: Any) -> dict[str, Any]:  # noqa: ANN401  # metadata fields
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": _NS, **metadata},
        "data": {"k": "v"},
    }


def _bot(name: str) -> dict[str, Any]:
    return {
        "apiVersion": _BOT_API,
        "kind": "DiscordBot",
        "metadata": {"name": name, "namespace": _NS},
        "spec": {"shards": 2},
        "status": {"ignored": "on create"},
    }


def _owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
    }


async def test_emulator_stamps_metadata_when_object_is_created(kube_api: KubeApi) -> None:
    first = await kube_api.create(_config_map("a"))
    second = await kube_api.create(_config_map("b"))

    meta = first["metadata"]
    assert set(meta) >= {"uid", "resourceVersion", "generation", "creationTimestamp"}
    assert meta["generation"] == 1
    assert meta["uid"] != second["metadata"]["uid"]
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert await kube_api.get("v1", "ConfigMap", _NS, "a") == first


async def test_emulator_bumps_generation_only_when_spec_changes(kube_api: KubeApi) -> None:
    bot = await kube_api.create(_bot("gen"))
    versions = [int(bot["metadata"]["resourceVersion"])]

    spec_changed = await kube_api.patch(_BOT_API, "DiscordBot", _NS, "gen", {"spec": {"shards": 4}})
    labelled = await kube_api.patch(
        _BOT_API, "DiscordBot", _NS, "gen", {"metadata": {"labels": {"a": "b"}}}
    )
    status = await kube_api.patch(
        _BOT_API, "DiscordBot", _NS, "gen", {"status": {"ready": 1}}, subresource="status"
    )
    versions.extend(int(o["metadata"]["resourceVersion"]) for o in (spec_changed, labelled, status))

    assert [o["metadata"]["generation"] for o in (bot, spec_changed, labelled, status)] == [
        1,
        2,
        2,
        2,
    ]
    assert versions == sorted(set(versions))


async def test_emulator_generates_a_name_when_only_generate_name_is_given(
    kube_api: KubeApi,
) -> None:
    created = await kube_api.create(_config_map("", generateName="job-"))

    name = created["metadata"]["name"]
    assert name.startswith("job-")
    assert len(name) == len("job-") + 5
    assert (await kube_api.get("v1", "ConfigMap", _NS, name))["metadata"]["uid"] == created[
        "metadata"
    ]["uid"]


async def test_emulator_keeps_status_when_main_resource_is_patched(kube_api: KubeApi) -> None:
    created = await kube_api.create(_bot("main"))
    await kube_api.patch(
        _BOT_API, "DiscordBot", _NS, "main", {"status": {"ready": 1}}, subresource="status"
    )

    patched = await kube_api.patch(
        _BOT_API, "DiscordBot", _NS, "main", {"spec": {"shards": 3}, "status": {"ready": 99}}
    )

    assert "status" not in created
    assert patched["status"] == {"ready": 1}
    assert patched["spec"] == {"shards": 3}


async def test_emulator_changes_only_status_when_status_subresource_is_patched(
    kube_api: KubeApi,
) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "sts", "namespace": _NS},
        "spec": {"replicas": 1},
    }
    await kube_api.create(sts)

    patched = await kube_api.patch(
        "apps/v1",
        "StatefulSet",
        _NS,
        "sts",
        {"spec": {"replicas": 5}, "metadata": {"labels": {"x": "y"}}, "status": {"replicas": 1}},
        subresource="status",
    )

    assert patched["spec"] == {"replicas": 1}
    assert "labels" not in patched["metadata"]
    assert patched["status"] == {"replicas": 1}


async def test_emulator_answers_422_when_json_patch_test_fails(kube_api: KubeApi) -> None:
    created = await kube_api.create(_config_map("jp"))
    stale: list[dict[str, Any]] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "0"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x"]},
    ]
    fresh = [{**stale[0], "value": created["metadata"]["resourceVersion"]}, stale[1]]

    with pytest.raises(KubeApiError) as failure:
        await kube_api.patch("v1", "ConfigMap", _NS, "jp", stale, patch_type="json")
    patched = await kube_api.patch("v1", "ConfigMap", _NS, "jp", fresh, patch_type="json")

    assert failure.value.status == 422
    assert patched["metadata"]["finalizers"] == ["x"]


async def test_emulator_answers_409_when_merge_patch_carries_a_stale_resource_version(
    kube_api: KubeApi,
) -> None:
    await kube_api.create(_config_map("cas"))

    with pytest.raises(KubeApiError) as failure:
        await kube_api.patch(
            "v1",
            "ConfigMap",
            _NS,
            "cas",
            {"metadata": {"resourceVersion": "0"}, "data": {"k": "w"}},
        )

    assert failure.value.status == 409


async def _watch(kube_api: KubeApi, resource_version: str, count: int) -> list[tuple[str, str]]:
    url = kube_api.object_url("v1", "ConfigMap", _NS)
    params = {"watch": "true", "resourceVersion": resource_version}
    session = kube_api._session  # noqa: SLF001  # a raw stream: the helpers only do requests
    events: list[tuple[str, str]] = []
    async with session.get(url, params=params) as response:
        while len(events) < count:
            line = await response.content.readline()
            if line.strip():
                event = json.loads(line)
                events.append((event["type"], event["object"]["metadata"]["name"]))
    return events


async def test_emulator_replays_only_newer_events_when_watch_gives_resource_version(
    kube_api: KubeApi,
) -> None:
    await kube_api.create(_config_map("old"))
    listed = await kube_api._call("GET", kube_api.object_url("v1", "ConfigMap", _NS))  # noqa: SLF001
    await kube_api.create(_config_map("new"))
    await kube_api.delete("v1", "ConfigMap", _NS, "old")

    since_list = await _watch(kube_api, listed["metadata"]["resourceVersion"], count=2)
    from_scratch = await _watch(kube_api, "0", count=1)

    assert since_list == [("ADDED", "new"), ("DELETED", "old")]
    assert from_scratch == [("ADDED", "new")]


async def test_emulator_keeps_object_until_finalizers_are_removed_when_deleted(
    kube_api: KubeApi,
) -> None:
    await kube_api.create(_config_map("fin", finalizers=["shoal.dev/test"]))

    deleting = await kube_api.delete("v1", "ConfigMap", _NS, "fin")
    still_there = await kube_api.get("v1", "ConfigMap", _NS, "fin")
    await kube_api.patch("v1", "ConfigMap", _NS, "fin", {"metadata": {"finalizers": None}})

    assert deleting["metadata"]["deletionTimestamp"]
    assert still_there["metadata"]["deletionTimestamp"] == deleting["metadata"]["deletionTimestamp"]
    assert await kube_api.find("v1", "ConfigMap", _NS, "fin") is None


async def test_emulator_collects_dependents_when_their_only_owners_are_gone(
    kube_api: KubeApi,
) -> None:
    owner = await kube_api.create(_config_map("owner"))
    other = await kube_api.create(_config_map("other-owner"))
    child = await kube_api.create(_config_map("child", ownerReferences=[_owner_ref(owner)]))
    await kube_api.create(_config_map("grandchild", ownerReferences=[_owner_ref(child)]))
    await kube_api.create(
        _config_map("shared", ownerReferences=[_owner_ref(owner), _owner_ref(other)])
    )

    await kube_api.delete("v1", "ConfigMap", _NS, "owner")

    names = [cm["metadata"]["name"] for cm in await kube_api.list("v1", "ConfigMap", _NS)]
    assert names == ["other-owner", "shared"]


async def test_emulator_orphans_dependents_when_propagation_policy_is_orphan(
    kube_api: KubeApi,
) -> None:
    owner = await kube_api.create(_config_map("owner"))
    await kube_api.create(_config_map("child", ownerReferences=[_owner_ref(owner)]))

    await kube_api.delete("v1", "ConfigMap", _NS, "owner", propagation_policy="Orphan")

    child = await kube_api.get("v1", "ConfigMap", _NS, "child")
    assert "ownerReferences" not in child["metadata"]


async def test_emulator_deletes_contents_when_namespace_is_deleted(kube_api: KubeApi) -> None:
    await kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": _NS}})
    await kube_api.create(_config_map("inside"))

    await kube_api.delete("v1", "Namespace", None, _NS)

    assert await kube_api.list("v1", "ConfigMap") == []


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=bot", ["a", "b"]),
        ("app==bot,tier!=web", ["a"]),
        ("tier in (web, db)", ["b", "c"]),
        ("tier notin (web)", ["a", "c"]),
        ("tier", ["b", "c"]),
        ("!tier", ["a"]),
    ],
)
async def test_emulator_filters_list_when_label_selector_is_given(
    kube_api: KubeApi, selector: str, expected: list[str]
) -> None:
    await kube_api.create(_config_map("a", labels={"app": "bot"}))
    await kube_api.create(_config_map("b", labels={"app": "bot", "tier": "web"}))
    await kube_api.create(_config_map("c", labels={"tier": "db"}))

    found = await kube_api.list("v1", "ConfigMap", _NS, label_selector=selector)

    assert [cm["metadata"]["name"] for cm in found] == expected


async def test_emulator_records_calls_in_rbac_terms_when_serving(kube_api: KubeApi) -> None:
    await kube_api.create(_bot("rbac"))
    await kube_api.patch(
        _BOT_API, "DiscordBot", _NS, "rbac", {"status": {"a": 1}}, subresource="status"
    )

    assert kube_api.emulator.calls[-1] == ApiCall(
        method="PATCH",
        path=f"/apis/shoal.dev/v1alpha1/namespaces/{_NS}/discordbots/rbac/status",
        verb="patch",
        api_group="shoal.dev",
        resource="discordbots",
        subresource="status",
        namespace=_NS,
        bearer_token=TEST_CLIENT_TOKEN,
    )
    assert kube_api.emulator.calls[-2].verb == "create"


async def test_kopf_reconciles_and_gc_cleans_up_when_run_against_emulator(
    kube_api: KubeApi, kubeconfig: Path
) -> None:
    assert kubeconfig.name == "kubeconfig"  # the fixture set KUBECONFIG to it
    kube_api.emulator.register_kind(WIDGET_KIND)
    registry = kopf.OperatorRegistry()
    register(registry)
    settings = kopf.OperatorSettings()
    settings.scanning.disabled = True
    widget = {
        "apiVersion": WIDGET_KIND.api_version,
        "kind": WIDGET_KIND.kind,
        "metadata": {"name": "w1", "namespace": _NS},
        "spec": {"greeting": "hello"},
    }

    async def handled() -> dict[str, Any] | None:
        obj = await kube_api.get(WIDGET_KIND.api_version, WIDGET_KIND.kind, _NS, "w1")
        return obj if obj.get("status", {}).get("configMap") else None

    async def config_map_gone() -> bool:
        return await kube_api.find("v1", "ConfigMap", _NS, "w1-config") is None

    args = ["run", "--standalone", "--all-namespaces"]
    async with running_kopf(args, registry=registry, settings=settings):
        created = await kube_api.create(widget)
        handled_widget = await kube_api.wait_until(handled)
        config_map = await kube_api.get("v1", "ConfigMap", _NS, "w1-config")
        await kube_api.delete(WIDGET_KIND.api_version, WIDGET_KIND.kind, _NS, "w1")
        await kube_api.wait_until(config_map_gone)

    assert handled_widget["status"] == {"configMap": "w1-config", "observedGeneration": 1}
    assert config_map["data"] == {"greeting": "hello"}
    assert config_map["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    assert any(
        call.subresource == "status" and call.verb == "patch" for call in kube_api.emulator.calls
    )
