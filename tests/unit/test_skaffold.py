"""skaffold.yaml: in step with the chart, its values and the plain manifests.

No skaffold or helm binary runs here, so these tests check what would otherwise fail only on
a developer's cluster: the artifact is the chart's image, every value skaffold sets is a key
of values.yaml, the template names follow skaffold's rule for artifact names, the
``manifests`` profile's files exist, and the ``dev`` profile forwards a port the chart serves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final, cast

import yaml

from tests.unit.chart import rendering

_ROOT: Final = Path(__file__).resolve().parents[2]
_SKAFFOLD: Final = _ROOT / "skaffold.yaml"
_VALUES: Final = _ROOT / "charts" / "shoal" / "values.yaml"
_TEMPLATE: Final = re.compile(r"\{\{\s*\.(IMAGE_[A-Z]+)_(\w+)\s*\}\}")


def _config() -> dict[str, Any]:
    return cast("dict[str, Any]", yaml.safe_load(_SKAFFOLD.read_text(encoding="utf-8")))


def _values() -> dict[str, Any]:
    return cast("dict[str, Any]", yaml.safe_load(_VALUES.read_text(encoding="utf-8")))


def _release() -> dict[str, Any]:
    releases = _config()["manifests"]["helm"]["releases"]
    assert len(releases) == 1
    return cast("dict[str, Any]", releases[0])


def _profile(name: str) -> dict[str, Any]:
    return cast("dict[str, Any]", next(p for p in _config()["profiles"] if p["name"] == name))


def _patch(profile: str, op: str, path: str) -> Any:  # noqa: ANN401 - a patch's YAML value
    patches = _profile(profile)["patches"]
    matching = [p for p in patches if p["op"] == op and p["path"] == path]
    assert len(matching) == 1, f"profile {profile}: expected one {op} {path}"
    return matching[0].get("value")


def _has_value_key(dotted: str) -> bool:
    node: Any = _values()
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _artifact_image() -> str:
    artifacts = _config()["build"]["artifacts"]
    assert len(artifacts) == 1
    return str(artifacts[0]["image"])


def test_skaffold_config_uses_the_v4beta14_schema() -> None:
    config = _config()
    assert config["apiVersion"] == "skaffold/v4beta14"
    assert config["kind"] == "Config"
    assert config["metadata"]["name"] == "shoal"


def test_skaffold_builds_the_chart_image_from_the_dockerfile_with_buildkit() -> None:
    assert _artifact_image() == _values()["image"]["repository"]
    artifact = _config()["build"]["artifacts"][0]
    assert (_ROOT / artifact.get("context", ".") / artifact["docker"]["dockerfile"]).is_file()
    assert _config()["build"]["local"]["useBuildkit"] is True


def test_skaffold_installs_the_chart_into_shoal_system() -> None:
    release = _release()
    assert release["name"] == rendering.RELEASE
    assert release["namespace"] == rendering.NAMESPACE
    assert release["createNamespace"] is True
    assert (_ROOT / release["chartPath"] / "Chart.yaml").is_file()
    assert _config()["deploy"] == {"helm": {}}


def test_skaffold_value_templates_set_existing_keys_with_the_artifacts_template_names() -> None:
    templates = _release()["setValueTemplates"]
    assert set(templates) == {"image.repository", "image.tag"}
    assert all(_has_value_key(key) for key in templates)
    # skaffold's rule: the artifact name with every '/', '.' and '-' replaced by '_'.
    sanitized = re.sub(r"[/.-]", "_", _artifact_image())
    used = [match for value in templates.values() for match in _TEMPLATE.findall(value)]
    assert {name for _, name in used} == {sanitized}
    assert templates["image.repository"] == f"{{{{.IMAGE_REPO_{sanitized}}}}}"
    assert templates["image.tag"] == (
        f"{{{{.IMAGE_TAG_{sanitized}}}}}@{{{{.IMAGE_DIGEST_{sanitized}}}}}"
    )


def test_skaffold_profiles_are_manifests_and_dev() -> None:
    assert [p["name"] for p in _config()["profiles"]] == ["manifests", "dev"]


def test_skaffold_manifests_profile_swaps_helm_for_the_generated_files() -> None:
    _patch("manifests", "remove", "/manifests/helm")
    _patch("manifests", "remove", "/deploy/helm")
    assert _patch("manifests", "add", "/deploy/kubectl") == {}
    globs = _patch("manifests", "add", "/manifests/rawYaml")
    assert globs
    matched = {path.name for pattern in globs for path in _ROOT.glob(pattern)}
    for pattern in globs:
        assert list(_ROOT.glob(pattern)), f"{pattern} matches no file"
    assert {"crds.yaml", "shoal.yaml"} <= matched
    assert "values.yaml" not in matched, "manifests/values.yaml is chart input, not a manifest"


def test_skaffold_dev_profile_sets_only_existing_values() -> None:
    values = _patch("dev", "add", "/manifests/helm/releases/0/setValues")
    assert {"redis.enabled", "postgres.enabled", "operator.reconcileIntervalSeconds"} <= set(values)
    missing = [key for key in values if not _has_value_key(key)]
    assert not missing, f"not keys of charts/shoal/values.yaml: {missing}"
    assert int(values["operator.reconcileIntervalSeconds"]) < int(
        _values()["operator"]["reconcileIntervalSeconds"]
    )
    assert _patch("dev", "add", "/build/local/push") is False


def test_skaffold_dev_profile_forwards_a_port_the_chart_serves() -> None:
    forwards = _profile("dev")["portForward"]
    services = {
        (obj.body["metadata"].get("namespace"), obj.name): obj.body
        for obj in rendering.render()
        if obj.kind == "Service"
    }
    for forward in forwards:
        assert forward["resourceType"] == "service"
        service = services[(forward["namespace"], forward["resourceName"])]
        assert forward["port"] in [port["port"] for port in service["spec"]["ports"]]
    assert [f["port"] for f in forwards] == [_values()["operator"]["metricsPort"]]
