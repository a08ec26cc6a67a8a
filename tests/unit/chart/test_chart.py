"""The Helm chart renders, lints and validates, with its defaults and every ci/*-values.yaml.

No cluster and no helm binary: helm-python-sdk renders and lints (the Helm v4 SDK), and
kubernetes-validate checks every built-in object strictly (unknown fields are errors) for
the oldest supported, a middle and the newest bundled Kubernetes version. Custom resources
have no schema there: a DiscordBot is admitted against the CRD (defaults, schema, CEL), and
the kopf and Prometheus operator kinds are checked for their required shape.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Final, cast

import helm_python
import jsonschema  # type: ignore[import-untyped]  # types-jsonschema is not a dev dependency
import kubernetes_validate  # type: ignore[import-untyped]  # the package ships no type hints
import pytest
import yaml

from shoal_operator import children
from shoal_operator.settings import operator_settings
from tests.unit.chart.monitoring_schemas import MONITORING_SCHEMAS
from tests.unit.chart.rendering import (
    CHART,
    CI_VALUES,
    NAMESPACE,
    RELEASE,
    RenderedObject,
    lint,
    load_values,
    render,
    render_text,
)
from tests.unit.operator.crd_admission import ROOT, admit, crd_schema

if TYPE_CHECKING:
    from pathlib import Path

#: Oldest supported (Chart.yaml kubeVersion), a middle one, and the newest bundled.
KUBE_VERSIONS: Final = ("1.29", "1.33", kubernetes_validate.latest_version())
#: Kinds kubernetes-validate has no schema for, and the API group each must belong to.
CUSTOM_KINDS: Final = {
    "DiscordBot": "shoal.dev/v1alpha1",
    "KopfPeering": "kopf.dev/v1",
    "ClusterKopfPeering": "kopf.dev/v1",
    "PodMonitor": "monitoring.coreos.com/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}
CLUSTER_KINDS: Final = frozenset({"ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering"})
STANDARD_LABELS: Final = (
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
)
#: Every values variant: the defaults and each ci/*-values.yaml.
VARIANTS: Final[dict[str, dict[str, Any]]] = {"defaults": {}} | {
    path.stem: load_values(path) for path in CI_VALUES
}
#: Everything optional switched on at once (the union of the variants' features).
EVERYTHING: Final = {
    "redis": {"enabled": True},
    "postgres": {"enabled": True},
    "discordBot": {"enabled": True, "spec": {"tokenSecretRef": {"name": "t"}}},
    "monitoring": {
        "serviceMonitor": {"enabled": True},
        "podMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "grafanaDashboards": {"enabled": True},
    },
    "operator": {"standby": {"enabled": True}},
}


def _rendered(variant: str) -> list[RenderedObject]:
    return render(VARIANTS[variant])


def _one(objects: list[RenderedObject], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o.body for o in objects if o.kind == kind and (name is None or o.name == name)]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def _env(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item["value"] for item in container["env"]}


# --- Rendering and lint -------------------------------------------------------------------------


def test_ci_values_cover_the_variants_when_listed() -> None:
    assert {path.stem for path in CI_VALUES} == {
        "default-values",
        "namespaced-values",
        "production-values",
        "trial-values",
    }


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_chart_renders_objects_with_the_standard_labels_when_values_vary(variant: str) -> None:
    objects = _rendered(variant)
    assert objects
    for obj in objects:
        labels = obj.body["metadata"].get("labels", {})
        missing = [key for key in STANDARD_LABELS if key not in labels]
        assert not missing, f"{obj.kind}/{obj.name} lacks {missing}"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        if obj.kind not in CLUSTER_KINDS:
            assert obj.body["metadata"].get("namespace"), f"{obj.kind}/{obj.name}"


def test_chart_renders_nothing_twice_when_everything_is_enabled() -> None:
    objects = render(EVERYTHING)
    keys = [(o.kind, o.body["metadata"].get("namespace"), o.name) for o in objects]
    assert len(keys) == len(set(keys))
    assert {o.kind for o in objects} >= {
        "Deployment", "DiscordBot", "PodMonitor", "ServiceMonitor", "PrometheusRule",
        "ConfigMap", "StatefulSet", "Secret",
    }  # fmt: skip


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_chart_lints_clean_when_strict(variant: str, kube_version: str) -> None:
    report = lint(VARIANTS[variant], kube_version=f"v{kube_version}.0")
    assert report["errors"] == []
    # Severity 1 is INFO (only "icon is recommended": there is no project icon yet).
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert problems == []


def test_lint_reports_errors_when_a_template_is_broken(tmp_path: Path) -> None:
    # Guards the test above: the linter must see template errors through this binding.
    broken = tmp_path / "shoal"
    chart = helm_python.Chart.load(CHART)
    try:
        chart.save_dir(tmp_path)
    finally:
        chart.close()
    (broken / "templates" / "broken.yaml").write_text("{{ .Values.nope.deeper }}\n")
    report = helm_python.lint(broken, {}, strict=True, kube_version="v1.29.0")
    assert report["errors"] or any(m["severity"] == 3 for m in report["messages"])


# --- Strict validation of every object ----------------------------------------------------------


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_object_validates_strictly_when_rendered(variant: str, kube_version: str) -> None:
    for obj in _rendered(variant):
        if obj.kind in CUSTOM_KINDS:
            assert obj.body["apiVersion"] == CUSTOM_KINDS[obj.kind], obj.kind
            if obj.kind in MONITORING_SCHEMAS:
                _validate_monitoring(obj)
            continue
        try:
            kubernetes_validate.validate(obj.body, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj.template} {obj.kind}/{obj.name} on {kube_version}: {error}")


def _validate_monitoring(obj: RenderedObject) -> None:
    validator = jsonschema.Draft202012Validator(MONITORING_SCHEMAS[obj.kind])
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj.body)]
    assert not problems, f"{obj.template} {obj.kind}/{obj.name}: {problems}"


def test_monitoring_objects_follow_the_prometheus_operator_api_when_all_enabled() -> None:
    monitoring = [o for o in render(EVERYTHING) if o.kind in MONITORING_SCHEMAS]
    assert {o.kind for o in monitoring} == set(MONITORING_SCHEMAS)
    for obj in monitoring:
        _validate_monitoring(obj)


def test_monitoring_schema_refuses_a_misspelt_field_when_validating() -> None:
    # Guards the tests above: a typo in a template must not pass as an unknown field.
    values = {"monitoring": {"podMonitor": {"enabled": True}}}
    monitor = next(o for o in render(values) if o.kind == "PodMonitor")
    spec = monitor.body["spec"]
    spec["podMetricEndpoints"] = spec.pop("podMetricsEndpoints")
    with pytest.raises(AssertionError, match="podMetricEndpoints"):
        _validate_monitoring(monitor)


@pytest.mark.parametrize("variant", ["production-values", "trial-values"])
def test_rendered_discordbot_is_admitted_by_the_crd_when_enabled(variant: str) -> None:
    bot = _one(_rendered(variant), "DiscordBot")
    admitted = cast("dict[str, Any]", admit(bot))
    repository = VARIANTS[variant].get("image", {}).get("repository", "ghcr.io/shoal-bot/shoal")
    assert admitted["spec"]["image"].startswith(repository)


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("discordbot-*.yaml")))
def test_sample_bot_spec_is_accepted_as_values_and_admitted_when_rendered(example: Path) -> None:
    sample = load_values(example)
    values = {"discordBot": {"enabled": True, "name": "sample", "spec": sample["spec"]}}
    bot = _one(render(values), "DiscordBot")
    assert bot["spec"] == sample["spec"]
    admit(bot)


def test_every_kind_validates_when_its_schema_is_bundled() -> None:
    # Everything but the custom kinds must have a schema: a typo in apiVersion would
    # otherwise slip through as "unknown".
    kinds = {o.kind for o in render(EVERYTHING)} - set(CUSTOM_KINDS)
    assert kinds == {
        "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Secret", "Service",
        "ServiceAccount", "StatefulSet",
    }  # fmt: skip


# --- values.schema.json -------------------------------------------------------------------------


def _schema_error(values: dict[str, Any]) -> str:
    with pytest.raises(helm_python.HelmError) as caught:
        render(values)
    return str(caught.value)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"operatorr": {}}, "additional properties 'operatorr'"),
        ({"operator": {"logLevel": "LOUD"}}, "/operator/logLevel"),
        ({"operator": {"watchNamespaces": ["Bad_Namespace"]}}, "/operator/watchNamespaces/0"),
        ({"operator": {"watchNamespaces": ["a", "a"]}}, "/operator/watchNamespaces"),
        ({"operator": {"reconcileIntervalSeconds": 0}}, "/operator/reconcileIntervalSeconds"),
        ({"operator": {"metricsPort": 80}}, "/operator/metricsPort"),
        ({"image": {"digest": "sha256:short"}}, "/image/digest"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"monitoring": {"podMonitor": {"interval": "often"}}}, "/monitoring/podMonitor/interval"),
        (
            {"monitoring": {"prometheusRule": {"thresholds": {"identifyBudgetRatio": 2}}}},
            "identifyBudgetRatio",
        ),
        ({"discordBot": {"spec": {"shards": {"mode": "Huge"}}}}, "/discordBot/spec/shards/mode"),
        ({"discordBot": {"spec": {"replicas": 3}}}, "additional properties 'replicas'"),
        ({"redis": {"persistence": {"size": "lots"}}}, "/redis/persistence/size"),
        ({"postgres": {"database": "Robert'); DROP TABLE"}}, "/postgres/database"),
        ({"fullnameOverride": "x" * 41}, "/fullnameOverride"),
    ],
)
def test_values_schema_rejects_bad_values_when_rendering(
    values: dict[str, Any], fragment: str
) -> None:
    assert fragment in _schema_error(values)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_values_schema_accepts_the_ci_values_when_validated(variant: str) -> None:
    chart = helm_python.Chart.load(CHART)
    try:
        chart.validate_schema(chart.merge_values(VARIANTS[variant]))
    finally:
        chart.close()


def test_values_schema_forbids_unknown_keys_when_walked() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    loose: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        if node.get("type") == "object" and "properties" in node:
            if node.get("additionalProperties") is not False:
                loose.append(path)
            for key, child in node["properties"].items():
                walk(child, f"{path}.{key}")

    walk(schema, "")
    assert loose == []


def test_values_schema_matches_the_crd_when_describing_the_bot_spec() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    in_values = schema["properties"]["discordBot"]["properties"]["spec"]
    in_crd = cast("dict[str, Any]", crd_schema())["properties"]["spec"]
    # The chart fills in image, redis and postgres, so the values drop `required`; and they
    # refuse unknown fields (as strict field validation would) where the CRD prunes them.
    assert "required" not in in_values
    assert _without_closed_objects(in_values)["properties"] == in_crd["properties"]


def _without_closed_objects(node: object) -> Any:  # noqa: ANN401 - JSON of any shape
    if isinstance(node, dict):
        return {
            key: _without_closed_objects(value)
            for key, value in node.items()
            if not (key == "additionalProperties" and value is False)
        }
    if isinstance(node, list):
        return [_without_closed_objects(value) for value in node]
    return node


def test_values_yaml_documents_every_key_when_compared_with_the_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))

    def keys(node: dict[str, Any], path: str = "") -> set[str]:
        found = set()
        for key, child in node.items():
            found.add(f"{path}.{key}")
            if isinstance(child, dict) and f"{path}.{key}" != ".discordBot.spec":
                found |= keys(child, f"{path}.{key}")
        return found

    def schema_keys(node: dict[str, Any], path: str = "") -> set[str]:
        found = set()
        for key, child in node.get("properties", {}).items():
            found.add(f"{path}.{key}")
            if child.get("type") == "object" and f"{path}.{key}" != ".discordBot.spec":
                found |= schema_keys(child, f"{path}.{key}")
        return found

    # Maps of free-form keys (labels, resources, ...) have no properties in the schema.
    documented = schema_keys(schema) - {".global"}
    assert documented <= keys(defaults) | _free_form_children(defaults)
    assert keys(defaults) - _free_form_children(defaults) <= documented


def _free_form_children(defaults: dict[str, Any]) -> set[str]:
    free = ("resources", "labels", "annotations", "affinity", "nodeSelector", "podLabels")
    found: set[str] = set()

    def walk(node: dict[str, Any], path: str) -> None:
        for key, child in node.items():
            if isinstance(child, dict):
                if key in free:
                    found.update(_all_keys(child, f"{path}.{key}"))
                else:
                    walk(child, f"{path}.{key}")

    walk(defaults, "")
    return found


def _all_keys(node: dict[str, Any], path: str) -> set[str]:
    found = set()
    for key, child in node.items():
        found.add(f"{path}.{key}")
        if isinstance(child, dict):
            found |= _all_keys(child, f"{path}.{key}")
    return found


# --- The operator's Deployment and its settings -------------------------------------------------


def test_operator_deployment_env_parses_as_operator_settings_when_rendered() -> None:
    objects = _rendered("namespaced-values")
    active = _one(objects, "Deployment", f"{RELEASE}-operator")
    settings = operator_settings(_env(active))
    assert settings.namespaces == ("bots", "bots-staging")
    assert settings.is_standalone is False
    assert settings.peering_name == f"{RELEASE}-operator"
    assert settings.priority == 100
    assert settings.log_level == "DEBUG"
    assert settings.peering_lifetime_s == 20
    standby = operator_settings(_env(_one(objects, "Deployment", f"{RELEASE}-operator-standby")))
    assert standby.priority == 10
    assert standby.peering_name == settings.peering_name


def test_operator_deployment_uses_only_known_settings_when_rendered() -> None:
    env = _env(_one(_rendered("defaults"), "Deployment"))
    known = {"SHOAL_LOG_LEVEL"} | {
        f"SHOAL_OPERATOR_{name}"
        for name in (
            *("NAMESPACES", "PEERING", "PRIORITY", "STANDALONE"),
            *("INTERVAL_S", "METRICS_PORT", "HEALTH_PORT", "PEERING_LIFETIME_S"),
        )
    }
    assert set(env) == known
    settings = operator_settings(env)
    container = _one(_rendered("defaults"), "Deployment")["spec"]["template"]["spec"]
    ports = {p["name"]: p["containerPort"] for p in container["containers"][0]["ports"]}
    assert ports == {"metrics": settings.metrics_port, "health": settings.health_port}
    assert container["containers"][0]["args"] == ["operator"]


def test_operator_runs_as_the_image_user_without_privileges_when_rendered() -> None:
    pod = _one(_rendered("defaults"), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == children.SHOAL_UID
    container = pod["containers"][0]["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}


def test_standby_gets_a_lower_priority_and_is_recreated_when_enabled() -> None:
    deployments = [o.body for o in _rendered("namespaced-values") if o.kind == "Deployment"]
    assert len(deployments) == 2
    assert all(d["spec"]["strategy"] == {"type": "Recreate"} for d in deployments)
    assert all(d["spec"]["replicas"] == 1 for d in deployments)
    selectors = [json.dumps(d["spec"]["selector"], sort_keys=True) for d in deployments]
    assert len(set(selectors)) == 2  # neither Deployment adopts the other's pod


def test_chart_refuses_a_standby_when_its_priority_is_not_lower() -> None:
    values = {"operator": {"priority": 50, "standby": {"enabled": True, "priority": 50}}}
    assert "must be lower than operator.priority" in _schema_error(values)


def test_image_is_the_app_version_unless_a_tag_or_digest_is_set_when_rendered() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))

    def image(values: dict[str, Any]) -> str:
        deployment = _one(render(values), "Deployment")
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
    objects = _rendered("namespaced-values")
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
        for obj in _rendered(variant):
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
    objects = _rendered("trial-values")
    spec = _one(objects, "DiscordBot")["spec"]
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
        == _one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    )


def test_chart_names_the_missing_secret_when_the_bot_has_no_store() -> None:
    values = {"discordBot": {"enabled": True, "spec": {"tokenSecretRef": {"name": "t"}}}}
    assert "discordBot.spec.redis is required" in _schema_error(values)


def test_chart_refuses_a_bot_no_operator_would_manage_when_namespaces_leave_it_out() -> None:
    values = {
        "operator": {"watchNamespaces": ["bots"]},
        "discordBot": {"enabled": True, "spec": {"tokenSecretRef": {"name": "t"}}},
        "redis": {"enabled": True},
        "postgres": {"enabled": True},
    }
    assert f'Add "{NAMESPACE}" to operator.watchNamespaces' in _schema_error(values)
    values["operator"] = {"watchNamespaces": ["bots", NAMESPACE]}
    assert _one(render(values), "DiscordBot")["metadata"]["namespace"] == NAMESPACE


def test_stores_are_off_when_defaults_are_used() -> None:
    kinds = {o.kind for o in _rendered("defaults")}
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
