"""The values variants the chart's tests render, and small readers of what they render.

Owns the variants (the defaults, every ci/*-values.yaml, and everything optional switched on
at once) and helpers to pick an object, read a container's environment and catch a
rendering error. Does not own any check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import helm_python
import pytest

from tests.unit.chart.rendering import CI_VALUES, load_values, render

if TYPE_CHECKING:
    from tests.unit.chart.rendering import RenderedObject

__all__ = ["EVERYTHING", "VARIANTS", "env_of", "one", "render_error", "rendered"]

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


def rendered(variant: str) -> list[RenderedObject]:
    """Render the chart with the values of ``variant`` (a key of :data:`VARIANTS`)."""
    return render(VARIANTS[variant])


def one(objects: list[RenderedObject], kind: str, name: str | None = None) -> dict[str, Any]:
    """Return the one object of ``kind`` (and ``name``); fail if there are none or several."""
    found = [o.body for o in objects if o.kind == kind and (name is None or o.name == name)]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    """Return the first container's environment of a Deployment, by name."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item["value"] for item in container["env"]}


def render_error(values: dict[str, Any]) -> str:
    """Return the error rendering ``values`` raises (fail if it renders)."""
    with pytest.raises(helm_python.HelmError) as caught:
        render(values)
    return str(caught.value)
