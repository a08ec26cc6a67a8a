"""The Grafana dashboards: generated files up to date, real metrics, sound layout, ConfigMaps."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any, Final

import orjson
import pytest

from shoal.observability.dashboards import DASHBOARDS, render_files
from shoal.observability.metrics import Metrics
from shoal_operator.metrics import OperatorMetrics
from tests.unit.chart.promql import exposed_metric_names, metric_names_in
from tests.unit.chart.rendering import CHART, NAMESPACE, RenderedObject, render

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client import CollectorRegistry

_FILES: Final = CHART / "dashboards"
_DATASOURCE: Final = {"type": "prometheus", "uid": "${datasource}"}
_EXPECTED_UIDS: Final = {
    "shoal-fleet",
    "shoal-shards",
    "shoal-commands",
    "shoal-rest",
    "shoal-lavalink",
    "shoal-operator",
}
#: Panels each dashboard must have, by title (the issue's list).
_REQUIRED_PANELS: Final = {
    "shoal-fleet": {
        "Shards by state",
        "Guilds",
        "Events/s",
        "Identifies vs resumes",
        "Session start budget",
    },
    "shoal-shards": {
        "Heartbeat latency per shard",
        "Events/s per pod",
        "Reconnects per shard",
        "Shard states",
    },
    "shoal-commands": {
        "Commands/s by command",
        "Error ratio by command",
        "Latency percentiles",
        "p95 latency by command",
    },
    "shoal-rest": {"Requests/s by route", "429s/s by route"},
    "shoal-lavalink": {
        "Nodes planned vs ready",
        "Node up",
        "Players per node",
        "Playing players per node",
        "Penalty per node",
        "System load per node",
        "Frame deficit per node",
        "Frames nulled per node",
    },
    "shoal-operator": {
        "Reconciles/s",
        "Reconcile errors/s",
        "Reconcile duration p95",
        "Desired vs current vs ready shards",
        "Resharding",
        "Time since reshard start",
        "Reshards in range by outcome",
        "Orphaned generations removed in range",
        "Degraded by reason",
    },
}
#: Registry metrics no dashboard needs to show, each with the reason. Process metrics
#: (shoal_process_*) are left out as a group: the shard dashboard shows a few of them.
_NOT_ON_A_DASHBOARD: Final[dict[str, str]] = {}
_SERIES_SUFFIXES: Final = ("", "_total", "_bucket", "_sum", "_count")
_LABEL_VALUES: Final = re.compile(r"^label_values\((?P<selector>.+), *(?P<label>\w+)\)$")
#: A range in PromQL: rates over Grafana's rate interval, increases over it or the range.
_RANGE: Final = re.compile(r"\[([^\]]*)\]")
#: The ConfigMap limit is 1 MiB; stay well under it.
_MAX_CONFIGMAP_BYTES: Final = 900 * 1024


def _dashboards() -> list[dict[str, Any]]:
    return [orjson.loads(content) for content in render_files().values()]


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def _targets() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every query: each panel's targets and each annotation (both carry expr, datasource)."""
    for dashboard in _dashboards():
        for panel in _panels(dashboard):
            for target in panel["targets"]:
                yield f"{dashboard['uid']} / {panel['title']}", target
        for annotation in dashboard["annotations"]["list"]:
            yield f"{dashboard['uid']} / annotation {annotation['name']}", annotation


def _variable_selectors() -> Iterator[tuple[str, str]]:
    for dashboard in _dashboards():
        for variable in dashboard["templating"]["list"]:
            if variable["type"] == "query":
                match = _LABEL_VALUES.match(variable["query"]["query"])
                assert match, f"{dashboard['uid']}: ${variable['name']} is not label_values()"
                yield f"{dashboard['uid']} ${variable['name']}", match["selector"]


def _used_metric_names() -> set[str]:
    used: set[str] = set()
    for _, target in _targets():
        used |= metric_names_in(target["expr"])
    return used


def _families(registry: CollectorRegistry) -> set[str]:
    return {family.name for family in registry.collect()}


def test_dashboard_files_equal_generator_output_when_generated() -> None:
    on_disk = {path.name: path.read_bytes() for path in sorted(_FILES.glob("*.json"))}
    assert on_disk == render_files(), (
        "charts/shoal/dashboards is out of date with the dashboard code: run "
        "scripts/render-dashboards and commit the JSON"
    )


def test_render_files_is_deterministic_when_called_twice() -> None:
    assert render_files() == render_files()


def test_targets_use_only_exposed_metrics_when_parsed() -> None:
    exposed = exposed_metric_names()
    for where, target in _targets():
        unknown = metric_names_in(target["expr"]) - exposed
        assert not unknown, f"{where}: {target['expr']!r} uses unknown {sorted(unknown)}"


def test_variables_query_exposed_metrics_when_parsed() -> None:
    exposed = exposed_metric_names()
    for where, selector in _variable_selectors():
        names = metric_names_in(selector)
        assert names, f"{where}: no metric in {selector!r}"
        assert names <= exposed, f"{where}: {selector!r} uses unknown {sorted(names - exposed)}"


def test_registry_metrics_appear_on_a_dashboard_when_registered() -> None:
    used = _used_metric_names()
    families = _families(Metrics().registry) | _families(OperatorMetrics().registry)
    missing = {
        family
        for family in families
        if not family.startswith("shoal_process_")
        and family not in _NOT_ON_A_DASHBOARD
        and not any(family + suffix in used for suffix in _SERIES_SUFFIXES)
    }
    assert not missing, f"metrics on no dashboard (add a panel or an exception): {missing}"


def test_exceptions_name_real_metrics_when_listed() -> None:
    families = _families(Metrics().registry) | _families(OperatorMetrics().registry)
    assert set(_NOT_ON_A_DASHBOARD) <= families


def test_ranges_use_grafana_intervals_when_rates_are_taken() -> None:
    for where, target in _targets():
        for window in _RANGE.findall(target["expr"]):
            assert window in {"$__rate_interval", "$__range"}, f"{where}: [{window}]"


def test_uids_equal_expected_set_when_generated() -> None:
    uids = [dashboard["uid"] for dashboard in _dashboards()]
    assert len(uids) == len(set(uids))
    assert set(uids) == _EXPECTED_UIDS
    assert all(len(uid) <= 40 for uid in uids)


def test_dashboards_have_shoal_metadata_when_generated() -> None:
    for dashboard in _dashboards():
        assert dashboard["schemaVersion"] >= 39
        assert dashboard["tags"] == ["shoal"]
        assert dashboard["title"].startswith("Shoal / ")
        assert "id" not in dashboard  # Grafana assigns it


def test_dashboards_have_filter_variables_when_generated() -> None:
    for dashboard in _dashboards():
        variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        assert {"namespace", "bot"} <= set(variables)
        for variable in variables.values():
            if variable["type"] == "query":
                assert variable["datasource"] == _DATASOURCE
    shards = next(board for board in _dashboards() if board["uid"] == "shoal-shards")
    assert {"generation", "shard"} <= {
        variable["name"] for variable in shards["templating"]["list"]
    }


def test_panels_use_datasource_variable_when_they_query() -> None:
    for dashboard in _dashboards():
        for panel in _panels(dashboard):
            assert panel["datasource"] == _DATASOURCE, panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == _DATASOURCE, panel["title"]
        for annotation in dashboard["annotations"]["list"]:
            assert annotation["datasource"] == _DATASOURCE, annotation["name"]


def test_every_dashboard_marks_reshards_when_annotated() -> None:
    for dashboard in _dashboards():
        names = [a["name"] for a in dashboard["annotations"]["list"]]
        assert names == ["Reshards"], dashboard["uid"]
        (annotation,) = dashboard["annotations"]["list"]
        assert metric_names_in(annotation["expr"]) == {"shoal_operator_reshards_total"}


def test_panels_have_descriptions_and_unique_titles_when_generated() -> None:
    for dashboard in _dashboards():
        titles = [panel["title"] for panel in _panels(dashboard)]
        assert len(titles) == len(set(titles)), dashboard["uid"]
        assert all(panel["description"] for panel in _panels(dashboard))


def test_panel_ids_are_unique_when_in_one_dashboard() -> None:
    for dashboard in _dashboards():
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), dashboard["uid"]


def test_grid_positions_do_not_overlap_when_laid_out() -> None:
    for dashboard in _dashboards():
        cells: dict[tuple[int, int], str] = {}
        for panel in dashboard["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0, panel["title"]
            assert pos["x"] + pos["w"] <= 24, panel["title"]
            for cell in itertools.product(
                range(pos["x"], pos["x"] + pos["w"]), range(pos["y"], pos["y"] + pos["h"])
            ):
                assert cell not in cells, f"{panel['title']} overlaps {cells[cell]}"
                cells[cell] = panel["title"]


def test_dashboards_have_required_panels_when_generated() -> None:
    titles = {
        dashboard["uid"]: {panel["title"] for panel in _panels(dashboard)}
        for dashboard in _dashboards()
    }
    for uid, required in _REQUIRED_PANELS.items():
        assert required <= titles[uid], f"{uid} lacks {sorted(required - titles[uid])}"


def test_file_names_match_uids_when_generated() -> None:
    assert set(render_files()) == {
        dashboard.uid.removeprefix("shoal-") + ".json" for dashboard in DASHBOARDS
    }


@pytest.fixture(scope="module")
def dashboard_config_maps() -> list[RenderedObject]:
    """The dashboard ConfigMaps of the chart rendered with the dashboards enabled."""
    values = {"monitoring": {"grafanaDashboards": {"enabled": True}}}
    return [obj for obj in render(values) if obj.template.endswith("/dashboards.yaml")]


def test_chart_renders_one_config_map_per_dashboard_when_enabled(
    dashboard_config_maps: list[RenderedObject],
) -> None:
    files = render_files()
    assert len(dashboard_config_maps) == len(files)
    for config_map in dashboard_config_maps:
        assert config_map.kind == "ConfigMap"
        assert config_map.body["metadata"]["namespace"] == NAMESPACE
        assert config_map.body["metadata"]["labels"]["grafana_dashboard"] == "1"
        [(key, text)] = config_map.body["data"].items()
        assert config_map.name == f"shoal-dashboard-{key.removesuffix('.json')}"
        assert orjson.loads(text) == orjson.loads(files[key])


def test_chart_config_maps_stay_small_when_rendered(
    dashboard_config_maps: list[RenderedObject],
) -> None:
    for config_map in dashboard_config_maps:
        assert len(orjson.dumps(config_map.body)) < _MAX_CONFIGMAP_BYTES, config_map.name


def test_chart_honours_labels_annotations_namespace_when_set() -> None:
    settings = {
        "enabled": True,
        "labels": {"dashboards": "shoal"},
        "annotations": {"grafana_folder": "Shoal"},
        "namespace": "monitoring",
    }
    rendered = render({"monitoring": {"grafanaDashboards": settings}})
    config_maps = [obj for obj in rendered if obj.template.endswith("/dashboards.yaml")]
    assert len(config_maps) == len(DASHBOARDS)
    for config_map in config_maps:
        metadata = config_map.body["metadata"]
        assert metadata["namespace"] == "monitoring"
        assert metadata["labels"]["dashboards"] == "shoal"
        assert metadata["labels"]["app.kubernetes.io/component"] == "dashboards"
        assert metadata["annotations"] == {"grafana_folder": "Shoal"}


def test_chart_renders_no_dashboards_when_disabled() -> None:
    assert not [obj for obj in render() if obj.template.endswith("/dashboards.yaml")]
