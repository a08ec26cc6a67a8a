"""The chart's PrometheusRule: which alerts exist, what they read, and how they are documented.

Every expression is parsed (promql-parser) and may only select series a worker or the
operator exposes, or that the rule itself records. The fatal-close matcher is checked
against the worker's own close-code policy, and every runbook link against README.md.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import promql_parser
import pytest

from shoal.observability.shard_status import ShardStatus
from shoal.planning.closing import FATAL_REASONS
from tests.unit.chart.promql import exposed_metric_names, metric_names_in
from tests.unit.chart.rendering import NAMESPACE, ROOT, RenderedObject, render

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_EXPECTED_ALERTS: Final = frozenset(
    {
        "ShoalShardNotReady",
        "ShoalShardsDown",
        "ShoalIdentifyBudgetLow",
        "ShoalFatalGatewayClose",
        "ShoalDependencyDown",
        "ShoalCommandLatencyHigh",
        "ShoalInteractionsUnanswered",
        "ShoalRestRateLimited",
        "ShoalLavalinkNodeDown",
        "ShoalReshardStuck",
        "ShoalBotDegraded",
        "ShoalOperatorReconcileErrors",
    }
)
_RUNBOOK: Final = "https://github.com/shoal-bot/shoal/blob/main/README.md#"
_README: Final = ROOT / "README.md"
#: Prometheus's duration syntax (what a PrometheusRule's `for` accepts).
_DURATION: Final = re.compile(r"([0-9]+(ms|s|m|h|d|w|y))+")
#: Every close code a WebSocket may carry that Discord could send (RFC 6455 and 4000-4999).
_CLOSE_CODES: Final = range(1000, 5000)

Rule = dict[str, Any]


def _enabled(**prometheus_rule: object) -> dict[str, Any]:
    return {"monitoring": {"prometheusRule": {"enabled": True, **prometheus_rule}}}


def _rule_object(values: Mapping[str, Any]) -> RenderedObject:
    (rule,) = (o for o in render(values) if o.kind == "PrometheusRule")
    return rule


def _rules(rule: RenderedObject) -> Iterator[Rule]:
    for group in rule.body["spec"]["groups"]:
        yield from group["rules"]


def _alerts(rule: RenderedObject) -> dict[str, Rule]:
    """Return the alerts of ``rule`` by name (an alert may have only one rule)."""
    alerts = [rule for rule in _rules(rule) if "alert" in rule]
    by_name = {rule["alert"]: rule for rule in alerts}
    assert len(by_name) == len(alerts), "an alert name is used twice"
    return by_name


@pytest.fixture(scope="module")
def rule_object() -> RenderedObject:
    return _rule_object(_enabled())


@pytest.fixture(scope="module")
def alerts(rule_object: RenderedObject) -> dict[str, Rule]:
    return _alerts(rule_object)


def _numbers_in(expression: str) -> list[float]:
    numbers: list[float] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.NumberLiteral):
            numbers.append(node.val)

    promql_parser.walk(promql_parser.parse(expression), visit)
    return numbers


def _matchers_in(expression: str, metric: str, label: str) -> list[promql_parser.Matcher]:
    matchers: list[promql_parser.Matcher] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name == metric:
            matchers.extend(m for m in node.matchers.matchers if m.name == label)

    promql_parser.walk(promql_parser.parse(expression), visit)
    return matchers


def _github_anchor(heading: str) -> str:
    """Return the anchor GitHub gives a Markdown heading's text."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_prometheus_rule_not_rendered_when_disabled() -> None:
    assert not [o for o in render() if o.kind == "PrometheusRule"]


def test_prometheus_rule_named_and_labelled_when_enabled() -> None:
    values = {"monitoring": {"prometheusRule": {"enabled": True}, "labels": {"release": "kps"}}}

    rule = _rule_object(values)

    assert rule.body["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule.name == "shoal-alerts"
    assert rule.body["metadata"]["namespace"] == NAMESPACE
    labels = rule.body["metadata"]["labels"]
    assert labels["release"] == "kps"
    assert labels["app.kubernetes.io/component"] == "monitoring"
    assert labels["app.kubernetes.io/part-of"] == "shoal"


def test_alerts_are_the_expected_set_when_enabled(alerts: dict[str, Rule]) -> None:
    assert set(alerts) == _EXPECTED_ALERTS


def test_rule_expressions_select_only_exposed_series_when_enabled(
    rule_object: RenderedObject,
) -> None:
    rules = list(_rules(rule_object))
    recorded = {rule["record"] for rule in rules if "record" in rule}
    exposed = exposed_metric_names()

    for rule in rules:
        names = metric_names_in(rule["expr"])
        allowed = exposed if "record" in rule else exposed | recorded
        assert names, rule
        assert names <= allowed, (rule.get("alert") or rule["record"], names - allowed)


def test_recording_rules_used_by_an_alert_when_enabled(rule_object: RenderedObject) -> None:
    rules = list(_rules(rule_object))
    used = set().union(*(metric_names_in(r["expr"]) for r in rules if "alert" in r))

    assert {rule["record"] for rule in rules if "record" in rule} <= used


def test_every_alert_documented_when_enabled(alerts: dict[str, Rule]) -> None:
    for name, alert in alerts.items():
        assert _DURATION.fullmatch(alert["for"]), name
        assert alert["labels"]["severity"] in {"critical", "warning"}, name
        annotations = alert["annotations"]
        assert annotations["summary"].strip(), name
        assert annotations["description"].strip(), name
        assert annotations["runbook_url"] == _RUNBOOK + name.lower(), name


def test_annotations_keep_prometheus_templates_when_rendered(alerts: dict[str, Rule]) -> None:
    for name, alert in alerts.items():
        annotations = alert["annotations"]
        assert "{{ $labels." in annotations["summary"], name
        assert "{{ $labels." in annotations["description"], name
        assert "`" not in annotations["description"], name  # no Helm escape left behind


def test_runbook_anchors_exist_in_readme_when_enabled(alerts: dict[str, Rule]) -> None:
    readme = _README.read_text(encoding="utf-8")
    anchors = {_github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", readme, re.MULTILINE)}

    for name, alert in alerts.items():
        assert alert["annotations"]["runbook_url"].removeprefix(_RUNBOOK) in anchors, name


def test_fatal_close_alert_matches_exactly_the_fatal_codes_when_enabled(
    alerts: dict[str, Rule],
) -> None:
    expression = alerts["ShoalFatalGatewayClose"]["expr"]
    (matcher,) = _matchers_in(expression, "shoal_gateway_closes_total", "code")

    assert matcher.op == promql_parser.MatchOp.Re
    # Prometheus anchors its regular expressions at both ends, as fullmatch does.
    matched = {code for code in _CLOSE_CODES if re.fullmatch(matcher.value, str(code))}
    assert matched == set(FATAL_REASONS)


def test_fatal_close_alert_explains_each_code_when_enabled(alerts: dict[str, Rule]) -> None:
    description = alerts["ShoalFatalGatewayClose"]["annotations"]["description"]

    for code, reason in FATAL_REASONS.items():
        assert f'{{{{ if eq $labels.code "{code}" }}}}{reason}{{{{ end }}}}' in description


def test_shard_not_ready_alert_reads_the_ready_state_when_enabled(
    alerts: dict[str, Rule],
) -> None:
    expression = alerts["ShoalShardNotReady"]["expr"]
    (matcher,) = _matchers_in(expression, "shoal_shard_state", "shoal_shard_state")

    assert matcher.op == promql_parser.MatchOp.Equal
    assert matcher.value == ShardStatus.READY.value


def test_alerts_use_thresholds_when_values_change() -> None:
    thresholds = {
        "commandP99Seconds": 7.5,
        "identifyBudgetRatio": 0.35,
        "shardNotReadyFor": "17m",
        "reshardStuckSeconds": 5400,
        "rest429PerSecond": 2.5,
    }

    alerts = _alerts(_rule_object(_enabled(thresholds=thresholds)))

    assert 7.5 in _numbers_in(alerts["ShoalCommandLatencyHigh"]["expr"])
    assert 0.35 in _numbers_in(alerts["ShoalIdentifyBudgetLow"]["expr"])
    assert 5400 in _numbers_in(alerts["ShoalReshardStuck"]["expr"])
    assert 2.5 in _numbers_in(alerts["ShoalRestRateLimited"]["expr"])
    assert alerts["ShoalShardNotReady"]["for"] == "17m"
    assert alerts["ShoalShardsDown"]["for"] == "17m"


def test_alerts_use_default_thresholds_when_values_unset(alerts: dict[str, Rule]) -> None:
    assert 3 in _numbers_in(alerts["ShoalCommandLatencyHigh"]["expr"])
    assert 0.2 in _numbers_in(alerts["ShoalIdentifyBudgetLow"]["expr"])
    assert 3600 in _numbers_in(alerts["ShoalReshardStuck"]["expr"])
    assert 1 in _numbers_in(alerts["ShoalRestRateLimited"]["expr"])
    assert alerts["ShoalShardNotReady"]["for"] == "5m"
