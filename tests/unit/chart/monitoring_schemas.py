"""Schemas for the Prometheus operator's kinds the chart renders, as far as the chart uses them.

kubernetes-validate has no schemas for custom resources and the prometheus-operator CRDs
cannot be fetched here, so these are written from its API reference
(https://prometheus-operator.dev/docs/api-reference/api/, monitoring.coreos.com/v1), for
the fields the chart sets: each object refuses fields outside that list, so a misspelt
one (``podMetricEndpoints``) fails like strict field validation would. A field the chart
starts using must be added here from the reference, with its type.

Owns these schemas; does not own the check (``test_chart``).
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["MONITORING_SCHEMAS"]

_STRING: Final = {"type": "string"}
#: Prometheus's duration: units from years down to milliseconds, largest first, e.g. 1h30m.
_DURATION: Final = {
    "type": "string",
    "pattern": r"^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$",
}
_STRING_MAP: Final = {"type": "object", "additionalProperties": {"type": "string"}}


def _closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


_METADATA: Final = _closed(
    {"name": _STRING, "namespace": _STRING, "labels": _STRING_MAP, "annotations": _STRING_MAP},
    ("name", "namespace"),
)
_LABEL_SELECTOR: Final = _closed(
    {"matchLabels": _STRING_MAP, "matchExpressions": {"type": "array"}}
)
_NAMESPACE_SELECTOR: Final = _closed(
    {"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": _STRING}}
)
_RELABEL_CONFIG: Final = _closed(
    {
        "sourceLabels": {"type": "array", "items": _STRING},
        "separator": _STRING,
        "targetLabel": _STRING,
        "regex": _STRING,
        "modulus": {"type": "integer"},
        "replacement": _STRING,
        "action": {
            "enum": [
                "replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod",
                "labelmap", "LabelMap", "labeldrop", "LabelDrop", "labelkeep", "LabelKeep",
                "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal", "KeepEqual",
                "dropequal", "DropEqual",
            ]
        },
    }
)  # fmt: skip
_ENDPOINT_FIELDS: Final = {
    "port": _STRING,
    "path": _STRING,
    "scheme": {"enum": ["http", "https"]},
    "interval": _DURATION,
    "scrapeTimeout": _DURATION,
    "honorLabels": {"type": "boolean"},
    "relabelings": {"type": "array", "items": _RELABEL_CONFIG},
    "metricRelabelings": {"type": "array", "items": _RELABEL_CONFIG},
}
_RULE: Final = _closed(
    {
        "alert": _STRING,
        "record": _STRING,
        "expr": _STRING,
        "for": _DURATION,
        "keep_firing_for": _DURATION,
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
    ("expr",),
)


def _kind(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return _closed(
        {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": spec,
        },
        ("apiVersion", "kind", "metadata", "spec"),
    )


#: The JSON schema of each kind, by kind.
MONITORING_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "ServiceMonitor": _kind(
        "ServiceMonitor",
        _closed(
            {
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": _NAMESPACE_SELECTOR,
                "jobLabel": _STRING,
                "endpoints": {"type": "array", "minItems": 1, "items": _closed(_ENDPOINT_FIELDS)},
            },
            ("selector", "endpoints"),
        ),
    ),
    "PodMonitor": _kind(
        "PodMonitor",
        _closed(
            {
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": _NAMESPACE_SELECTOR,
                "jobLabel": _STRING,
                "podMetricsEndpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": _closed(_ENDPOINT_FIELDS),
                },
            },
            ("selector", "podMetricsEndpoints"),
        ),
    ),
    "PrometheusRule": _kind(
        "PrometheusRule",
        _closed(
            {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": _closed(
                        {
                            "name": _STRING,
                            "interval": _DURATION,
                            "rules": {"type": "array", "minItems": 1, "items": _RULE},
                        },
                        ("name", "rules"),
                    ),
                }
            },
            ("groups",),
        ),
    ),
}
