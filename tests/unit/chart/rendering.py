"""Rendering the Helm chart offline, for the chart's tests (helm-python-sdk, no helm binary).

Owns the one place the young helm-python-sdk is called (pinned; kept behind these few
functions), the release name and namespace the tests render with, and splitting rendered
templates into objects. Does not own any check: the tests do that.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import helm_python
import yaml

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = [
    "CHART",
    "CI_VALUES",
    "NAMESPACE",
    "RELEASE",
    "RenderedObject",
    "lint",
    "load_values",
    "render",
]

ROOT: Final = Path(__file__).resolve().parents[3]
CHART: Final = ROOT / "charts" / "shoal"
#: Every values variant the chart is tested with (helm's convention: ci/*-values.yaml).
CI_VALUES: Final = tuple(sorted((CHART / "ci").glob("*-values.yaml")))
RELEASE: Final = "shoal"
NAMESPACE: Final = "shoal-system"


@dataclasses.dataclass(frozen=True, slots=True)
class RenderedObject:
    """One Kubernetes object of a rendered chart."""

    template: str
    """The template that rendered it, e.g. ``shoal/templates/operator.yaml``."""
    body: dict[str, Any]
    """The object."""

    @property
    def kind(self) -> str:
        """The object's kind."""
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        """The object's ``metadata.name``."""
        return str(self.body["metadata"]["name"])


def load_values(path: Path) -> dict[str, Any]:
    """Return the values in a YAML file (an empty file is no values)."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict(loaded or {})


def render(
    values: Mapping[str, Any] | None = None, *, namespace: str = NAMESPACE
) -> list[RenderedObject]:
    """Render the chart with ``values`` over its defaults; every object, in template order.

    Raises:
        helm_python.HelmError: the values break the schema or a template fails.
    """
    chart = helm_python.Chart.load(CHART)
    try:
        manifests = chart.render(
            dict(values or {}), name=RELEASE, namespace=namespace, is_install=True
        )
    finally:
        chart.close()
    return list(_objects(manifests))


def render_text(values: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Render the chart and return each template's text (NOTES.txt included)."""
    chart = helm_python.Chart.load(CHART)
    try:
        return chart.render(dict(values or {}), name=RELEASE, namespace=NAMESPACE, is_install=True)
    finally:
        chart.close()


def lint(values: Mapping[str, Any] | None = None, *, kube_version: str) -> dict[str, Any]:
    """Lint the chart strictly (warnings count as errors) for ``kube_version``."""
    return helm_python.lint(
        CHART, dict(values or {}), strict=True, namespace=NAMESPACE, kube_version=kube_version
    )


def _objects(manifests: Mapping[str, str]) -> Iterator[RenderedObject]:
    for template, text in sorted(manifests.items()):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        for document in yaml.safe_load_all(text):
            if document:
                yield RenderedObject(template, document)
