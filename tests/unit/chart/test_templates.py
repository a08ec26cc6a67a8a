"""What the chart's templates render, object by object.

The operator's Deployments and their settings, RBAC scope, the monitors' selectors, the
optional bot, Redis and PostgreSQL, and NOTES.txt.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import pytest
import yaml

from shoal_operator import children
from shoal_operator.settings import operator_settings
from tests.unit.chart.rendering import (
    CHART,
    NAMESPACE,
    RELEASE,
    render,
    render_text,
)
from tests.unit.chart.variants import VARIANTS, env_of, one, render_error, rendered
from tests.unit.operator.crd_admission import ROOT

CLUSTER_KINDS: Final = frozenset({"ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering"})


# --- The operator's Deployment and its settings -------------------------------------------------


def test_operator_deployment_env_parses_as_operator_settings_when_rendered() -> None:
    objects = rendered("namespaced-values")
    active = one(objects, "Deployment", f"{RELEASE}-operator")
    settings = operator_settings(env_of(active))
    assert settings.namespaces == ("bots", "bots-staging")
    assert settings.is_standalone is False
    assert settings.peering_name == f"{RELEASE}-operator"
    assert settings.priority == 100
    assert settings.log_level == "DEBUG"
    assert settings.peering_lifetime_s == 20
    standby = operator_settings(env_of(one(objects, "Deployment", f"{RELEASE}-operator-standby")))
    assert standby.priority == 10
    assert standby.peering_name == settings.peering_name


def test_operator_deployment_uses_only_known_settings_when_rendered() -> None:
    env = env_of(one(rendered("defaults"), "Deployment"))
    known = {"SHOAL_LOG_LEVEL"} | {
        f"SHOAL_OPERATOR_{name}"
        for name in (
            *("NAMESPACES", "PEERING", "PRIORITY", "STANDALONE"),
            *("INTERVAL_S", "METRICS_PORT", "HEALTH_PORT", "PEERING_LIFETIME_S"),
        )
    }
    assert set(env) == known
    settings = operator_settings(env)
    container = one(rendered("defaults"), "Deployment")["spec"]["template"]["spec"]
    ports = {p["name"]: p["containerPort"] for p in container["containers"][0]["ports"]}
    assert ports == {"metrics": settings.metrics_port, "health": settings.health_port}
    assert container["containers"][0]["args"] == ["operator"]


def test_operator_runs_as_the_image_user_without_privileges_when_rendered() -> None:
    pod = one(rendered("defaults"), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == children.SHOAL_UID
    container = pod["containers"][0]["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}


def test_standby_gets_a_lower_priority_and_is_recreated_when_enabled() -> None:
    deployments = [o.body for o in rendered("namespaced-values") if o.kind == "Deployment"]
    assert len(deployments) == 2
    assert all(d["spec"]["strategy"] == {"type": "Recreate"} for d in deployments)
    assert all(d["spec"]["replicas"] == 1 for d in deployments)
    selectors = [json.dumps(d["spec"]["selector"], sort_keys=True) for d in deployments]
    assert len(set(selectors)) == 2  # neither Deployment adopts the other's pod


def test_chart_refuses_a_standby_when_its_priority_is_not_lower() -> None:
    values = {"operator": {"priority": 50, "standby": {"enabled": True, "priority": 50}}}
    assert "must be lower than operator.priority" in render_error(values)


def test_image_is_the_app_version_unless_a_tag_or_digest_is_set_when_rendered() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))

    def image(values: dict[str, Any]) -> str:
        deployment = one(render(values), "Deployment")
        return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])

    assert image({}) == f"ghcr.io/shoal-bot/shoal:{chart['appVersion']}"
    assert image({"image": {"tag": "edge"}}) == "ghcr.io/shoal-bot/shoal:edge"
    digest = "sha256:" + "a" * 64
    assert (
        image({"image": {"tag": "edge", "digest": digest}}) == f"ghcr.io/shoal-bot/shoal@{digest}"
    )


def test_chart_app_version_matches_the_package_when_released() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE)
    assert version is not None
    assert chart["appVersion"] == version[1]


# --- RBAC scope ---------------------------------------------------------------------------------


def test_namespaced_install_renders_nothing_cluster_wide_when_namespaces_are_listed() -> None:
    objects = rendered("namespaced-values")
    assert not [o for o in objects if o.kind in CLUSTER_KINDS]
    roles = {o.body["metadata"]["namespace"] for o in objects if o.kind == "Role"}
    bindings = {o.body["metadata"]["namespace"] for o in objects if o.kind == "RoleBinding"}
    peerings = {o.body["metadata"]["namespace"] for o in objects if o.kind == "KopfPeering"}
    assert roles == bindings == peerings == {"bots", "bots-staging"}
    for binding in (o.body for o in objects if o.kind == "RoleBinding"):
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": f"{RELEASE}-operator", "namespace": NAMESPACE}
        ]


def test_rbac_is_left_out_when_disabled() -> None:
    kinds = {o.kind for o in render({"rbac": {"create": False}})}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def test_rules_grant_no_wildcards_when_rendered() -> None:
    for variant in VARIANTS:
        for obj in rendered(variant):
            for rule in obj.body.get("rules", []):
                for field in ("apiGroups", "resources", "verbs"):
                    assert "*" not in rule[field], f"{variant} {obj.kind}: {rule}"


# --- Scraping: the PodMonitors select what the operator creates ---------------------------------


def test_pod_monitors_select_the_operators_pods_when_enabled() -> None:
    values = {"monitoring": {"podMonitor": {"enabled": True}}}
    monitors = {o.name: o.body for o in render(values) if o.kind == "PodMonitor"}
    shards = monitors[f"{RELEASE}-shards"]["spec"]
    assert shards["selector"]["matchLabels"].items() <= children.bot_labels("b", "shards").items()
    assert shards["podMetricsEndpoints"][0]["port"] == "http"
    lavalink = monitors[f"{RELEASE}-lavalink"]["spec"]
    assert (
        lavalink["selector"]["matchLabels"].items() <= children.bot_labels("b", "lavalink").items()
    )
    assert lavalink["podMetricsEndpoints"][0]["port"] == "lavalink"
    assert shards["namespaceSelector"] == {"any": True}


def test_pod_monitors_follow_the_watched_namespaces_when_listed() -> None:
    values = {
        "operator": {"watchNamespaces": ["bots"]},
        "monitoring": {"podMonitor": {"enabled": True}, "labels": {"release": "kps"}},
    }
    for monitor in (o.body for o in render(values) if o.kind == "PodMonitor"):
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["bots"]}
        assert monitor["metadata"]["labels"]["release"] == "kps"


# --- The optional bot, Redis and PostgreSQL -----------------------------------------------------


def test_discordbot_uses_the_in_chart_stores_and_image_when_trying_it_out() -> None:
    objects = rendered("trial-values")
    spec = one(objects, "DiscordBot")["spec"]
    secrets = {o.name: o.body for o in objects if o.kind == "Secret"}
    redis_ref = spec["redis"]["urlSecretRef"]
    assert secrets[redis_ref["name"]]["stringData"][redis_ref["key"]] == (
        f"redis://{RELEASE}-redis.{NAMESPACE}.svc:6379/0"
    )
    dsn_ref = spec["postgres"]["dsnSecretRef"]
    dsn = secrets[dsn_ref["name"]]["stringData"][dsn_ref["key"]]
    password = secrets[f"{RELEASE}-postgres-password"]["stringData"]["password"]
    assert dsn == f"postgresql://shoal:{password}@{RELEASE}-postgres.{NAMESPACE}.svc:5432/shoal"
    assert len(password) == 32
    assert (
        spec["image"]
        == one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    )


def test_chart_names_the_missing_secret_when_the_bot_has_no_store() -> None:
    values = {"discordBot": {"enabled": True, "spec": {"tokenSecretRef": {"name": "t"}}}}
    assert "discordBot.spec.redis is required" in render_error(values)


def test_chart_refuses_a_bot_no_operator_would_manage_when_namespaces_leave_it_out() -> None:
    values = {
        "operator": {"watchNamespaces": ["bots"]},
        "discordBot": {"enabled": True, "spec": {"tokenSecretRef": {"name": "t"}}},
        "redis": {"enabled": True},
        "postgres": {"enabled": True},
    }
    assert f'Add "{NAMESPACE}" to operator.watchNamespaces' in render_error(values)
    values["operator"] = {"watchNamespaces": ["bots", NAMESPACE]}
    assert one(render(values), "DiscordBot")["metadata"]["namespace"] == NAMESPACE


def test_stores_are_off_when_defaults_are_used() -> None:
    kinds = {o.kind for o in rendered("defaults")}
    assert "StatefulSet" not in kinds
    assert "Secret" not in kinds


# --- NOTES.txt ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_notes_tell_the_next_steps_when_installed(variant: str) -> None:
    notes = render_text(VARIANTS[variant])["shoal/templates/NOTES.txt"]
    assert "kubectl" in notes
    assert "CRDs" in notes
    assert "<no value>" not in notes
    if VARIANTS[variant].get("discordBot", {}).get("enabled"):
        assert "get discordbot" in notes
    else:
        assert "create secret generic" in notes
