"""The Helm chart renders, lints and validates, with its defaults and every ci/*-values.yaml.

No cluster and no helm binary: helm-python-sdk renders and lints (the Helm v4 SDK), and
kubernetes-validate checks every built-in object strictly (unknown fields are errors) for
the oldest supported, a middle and the newest bundled Kubernetes version. Custom resources
have no schema there: a DiscordBot is admitted against the CRD (defaults, schema, CEL), the
Prometheus operator's kinds are checked against the fields of its API the chart uses
(``monitoring_schemas``), and the kopf peering kinds for their group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

import helm_python
import jsonschema  # type: ignore[import-untyped]  # types-jsonschema is not a dev dependency
import kubernetes_validate  # type: ignore[import-untyped]  # the package ships no type hints
import pytest

from tests.unit.chart.monitoring_schemas import MONITORING_SCHEMAS
from tests.unit.chart.rendering import (
    CHART,
    CI_VALUES,
    RELEASE,
    RenderedObject,
    lint,
    load_values,
    render,
)
from tests.unit.chart.variants import EVERYTHING, VARIANTS, one, rendered
from tests.unit.operator.crd_admission import ROOT, admit

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
    objects = rendered(variant)
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
    for obj in rendered(variant):
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
    bot = one(rendered(variant), "DiscordBot")
    admitted = cast("dict[str, Any]", admit(bot))
    repository = VARIANTS[variant].get("image", {}).get("repository", "ghcr.io/shoal-bot/shoal")
    assert admitted["spec"]["image"].startswith(repository)


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("discordbot-*.yaml")))
def test_sample_bot_spec_is_accepted_as_values_and_admitted_when_rendered(example: Path) -> None:
    sample = load_values(example)
    values = {"discordBot": {"enabled": True, "name": "sample", "spec": sample["spec"]}}
    bot = one(render(values), "DiscordBot")
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
