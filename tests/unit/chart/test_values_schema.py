"""The chart's values.schema.json: strict, in step with the CRD and values.yaml.

Helm refuses values that break the schema before rendering anything, so a misspelt key or a
bad value fails ``helm install`` with its path; these tests check that it does, that it
accepts every variant and sample, and that it documents exactly what values.yaml holds.
"""

from __future__ import annotations

import json
from typing import Any, cast

import helm_python
import pytest
import yaml

from tests.unit.chart.rendering import (
    CHART,
)
from tests.unit.chart.variants import VARIANTS, render_error
from tests.unit.operator.crd_admission import crd_schema

# --- values.schema.json -------------------------------------------------------------------------


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
    assert fragment in render_error(values)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_values_schema_accepts_the_ci_values_when_validated(variant: str) -> None:
    chart = helm_python.Chart.load(CHART)
    try:
        # validate_schema raises on a refusal (shown below), so reaching the end is a pass.
        chart.validate_schema(chart.merge_values(VARIANTS[variant]))
        with pytest.raises(helm_python.HelmValuesError, match="logLevel"):
            chart.validate_schema(chart.merge_values({"operator": {"logLevel": "LOUD"}}))
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
