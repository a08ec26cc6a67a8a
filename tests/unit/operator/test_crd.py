"""The DiscordBot CRD: structural, documented, bounded, and in step with the examples and parser.

No API server runs here, so this file does offline what one would do: it checks the schema's
structural rules, applies its defaults, validates custom resources against it with jsonschema
(after dropping the ``x-kubernetes-*`` keys and treating unknown fields as errors, as strict
field validation does), and evaluates the CEL rules by translating the small subset of CEL
they use into Python. The translation is a test device, not a CEL implementation: it refuses
any rule outside that subset. ``parse_spec`` must accept and reject the same resources and
apply the same defaults.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Final, cast

import jsonschema  # type: ignore[import-untyped]  # types-jsonschema is not a dev dependency
import kubernetes_validate  # type: ignore[import-untyped]  # the package ships no type hints
import pytest

from shoal_operator.spec import SpecError, parse_spec
from tests.unit.operator.crd_admission import (
    Schema,
    admit,
    apply_defaults,
    crd_schema,
    crd_version,
    defaulted_paths,
    load_crd,
    load_yaml,
    schema_properties,
    schema_validator,
    structural_problems,
    walk_schema,
)

_ROOT: Final = Path(__file__).resolve().parents[3]
_EXAMPLES: Final = sorted((_ROOT / "examples").glob("*.yaml"))


def _minimal() -> dict[str, object]:
    return load_yaml(_ROOT / "examples" / "discordbot-minimal.yaml")


# --- The CRD itself ---


def test_crd_names_the_discordbot_kind_when_loaded() -> None:
    crd = load_crd()
    spec = cast("Schema", crd["spec"])
    names = cast("Schema", spec["names"])
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert cast("Schema", crd["metadata"])["name"] == "discordbots.shoal.dev"
    assert (spec["group"], spec["scope"]) == ("shoal.dev", "Namespaced")
    assert names["kind"] == "DiscordBot"
    assert (names["plural"], names["singular"]) == ("discordbots", "discordbot")
    assert names["shortNames"] == ["dbot"]
    assert names["categories"] == ["shoal"]
    version = crd_version()
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def test_crd_is_a_valid_customresourcedefinition_when_checked_strictly() -> None:
    # Kubernetes' own schema for the CRD object (unknown fields are errors), offline.
    kubernetes_validate.validate(load_crd(), "1.33", strict=True)


def test_crd_schema_is_structural_when_walked() -> None:
    assert structural_problems(crd_schema()) == []


def test_structural_check_finds_problems_when_the_schema_breaks_the_rules() -> None:
    broken: Schema = {
        "type": "object",
        "properties": {
            "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}},
            "untyped": {"description": "no type"},
            "both": {
                "type": "object",
                "properties": {},
                "additionalProperties": {"type": "string"},
            },
            "list": {"type": "array"},
            "quantity": {"x-kubernetes-int-or-string": True, "type": "string"},
        },
    }
    problems = structural_problems(broken)
    assert len(problems) == 5, problems


def test_crd_schema_documents_every_field_when_walked() -> None:
    undocumented = [path for path, node in walk_schema(crd_schema()) if not node.get("description")]
    assert undocumented == []


def test_crd_schema_bounds_every_string_list_and_map_when_walked() -> None:
    unbounded: list[str] = []
    for path, node in walk_schema(crd_schema()):
        if node.get("type") == "string" and not {"maxLength", "enum"} & node.keys():
            unbounded.append(path)
        if node.get("type") == "array" and "maxItems" not in node:
            unbounded.append(path)
        if "additionalProperties" in node and "maxProperties" not in node:
            unbounded.append(path)
    assert unbounded == []


def test_crd_defaults_are_valid_when_checked_against_their_own_schema() -> None:
    defaults = [(path, node) for path, node in walk_schema(crd_schema()) if "default" in node]
    assert len(defaults) > 20
    for path, node in defaults:
        defaulted = apply_defaults(node, copy.deepcopy(node["default"]))
        errors = [error.message for error in schema_validator(node).iter_errors(defaulted)]
        assert errors == [], path


@pytest.mark.parametrize(
    ("column", "json_path", "priority"),
    [
        ("Shards", ".status.currentShards", 0),
        ("Ready", ".status.readyShards", 0),
        ("Guilds", ".status.guilds", 0),
        ("Phase", ".status.phase", 0),
        ("Age", ".metadata.creationTimestamp", 0),
        ("Desired", ".status.desiredShards", 1),
        ("Generation", ".status.activeGeneration", 1),
        ("Lavalink", ".status.lavalinkNodesReady", 1),
    ],
)
def test_crd_printer_column_reads_a_schema_field_when_listed(
    column: str, json_path: str, priority: int
) -> None:
    columns = cast("list[Schema]", crd_version()["additionalPrinterColumns"])
    found = next(item for item in columns if item["name"] == column)
    assert (found["jsonPath"], found.get("priority", 0)) == (json_path, priority)
    if json_path.startswith(".metadata."):
        return  # ObjectMeta is the API server's, not in this schema
    node = crd_schema()
    for name in json_path.split(".")[1:]:
        node = schema_properties(node)[name]
    assert node["type"] == found["type"]


def test_crd_status_conditions_are_a_map_keyed_by_type_when_read() -> None:
    conditions = schema_properties(schema_properties(crd_schema())["status"])["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    status = schema_properties(cast("Schema", conditions["items"]))["status"]
    assert status["enum"] == ["True", "False", "Unknown"]


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (".spec.shards", {"mode", "count"}),
        (".spec.shards", {"targetGuildsPerShard", "maxGuildsPerShard"}),
        (".spec.lavalink", {"minNodes", "maxNodes"}),
        (".spec.lavalink", {"enabled", "passwordSecretRef"}),
    ],
)
def test_crd_has_a_cel_rule_when_fields_depend_on_each_other(path: str, fields: set[str]) -> None:
    node = dict(walk_schema(crd_schema()))[path]
    rules = [
        rule["rule"] for rule in cast("list[dict[str, str]]", node["x-kubernetes-validations"])
    ]
    assert any(all(f"self.{field}" in rule for field in fields) for rule in rules), rules


# --- Custom resources against the CRD and the parser ---


@pytest.mark.parametrize("example", _EXAMPLES, ids=[path.name for path in _EXAMPLES])
def test_example_is_admitted_and_parsed_when_valid(example: Path) -> None:
    resource = load_yaml(example)
    assert (resource["apiVersion"], resource["kind"]) == ("shoal.dev/v1alpha1", "DiscordBot")
    defaulted = admit(resource)
    assert parse_spec(resource["spec"]) == parse_spec(defaulted["spec"])


def test_examples_cover_the_three_samples_when_listed() -> None:
    assert [path.name for path in _EXAMPLES] == [
        "discordbot-full.yaml",
        "discordbot-minimal.yaml",
        "discordbot-simulator.yaml",
    ]


def test_full_example_sets_every_spec_field_when_read() -> None:
    spec_schema = schema_properties(crd_schema())["spec"]
    spec = load_yaml(_ROOT / "examples" / "discordbot-full.yaml")["spec"]
    assert defaulted_paths(spec_schema, spec) == set()
    missing = [
        path
        for path, node in walk_schema(spec_schema)
        if path and "{}" not in path and "[]" not in path and not _has_path(spec, path)
    ]
    assert missing == []


def _has_path(value: object, path: str) -> bool:
    for name in path.split(".")[1:]:
        if not isinstance(value, dict) or name not in value:
            return False
        value = value[name]
    return True


def test_parse_spec_defaults_equal_the_crd_defaults_when_the_spec_is_minimal() -> None:
    spec_schema = schema_properties(crd_schema())["spec"]
    spec = cast("dict[str, object]", _minimal()["spec"])
    every_default = {path for path, node in walk_schema(spec_schema) if "default" in node}
    # The minimal example reaches every default but lavalink's {} (it must name the Lavalink
    # password; the lavalink-omitted case below covers that default), so the comparison below
    # covers them all.
    assert every_default - defaulted_paths(spec_schema, spec) == {".lavalink"}
    assert parse_spec(spec) == parse_spec(apply_defaults(spec_schema, spec))


def _with(changes: dict[str, object], removals: tuple[str, ...] = ()) -> dict[str, object]:
    """Return the minimal example with ``changes`` (dotted spec paths) set and ``removals`` gone."""
    resource = _minimal()
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target = resource
        for name in parents:
            target = cast("dict[str, object]", target.setdefault(name, {}))
        target[last] = value
    for dotted in removals:
        *parents, last = dotted.split(".")
        target = resource
        for name in parents:
            target = cast("dict[str, object]", target[name])
        del target[last]
    return resource


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(_with({"spec.imagePullPolicy": "Sometimes"}), id="bad-enum"),
        pytest.param(_with({"spec.shards.mode": "Fixed", "spec.shards.count": 0}), id="count-0"),
        pytest.param(_with({}, removals=("spec.image",)), id="missing-image"),
        pytest.param(_with({"spec.replicas": 3}), id="unknown-field"),
        pytest.param(_with({"spec.shards.targetGuildsPerShard": 3000}), id="target-3000"),
        pytest.param(_with({"spec.intents": ["Guilds", "Everything"]}), id="bad-intent"),
        pytest.param(_with({"spec.intents": ["Guilds", "Guilds"]}), id="repeated-intent"),
        pytest.param(_with({"spec.discord.identifyWindowSeconds": 0}), id="window-0"),
        pytest.param(_with({"spec.discord.apiBaseUrl": "ftp://discord"}), id="bad-url"),
        pytest.param(_with({"spec.tokenSecretRef.name": "Bad_Name"}), id="bad-secret-name"),
        pytest.param(_with({"spec.lavalink.javaHeap": "512"}), id="bad-heap"),
        pytest.param(_with({"spec.workers.resources.limits.cpu": "lots"}), id="bad-quantity"),
        pytest.param(_with({"spec.shards.shardsPerPod": True}), id="bool-for-int"),
        pytest.param(_with({"spec.workers.logLevel": 10}), id="int-for-string"),
        pytest.param(_with({"spec.lavalink.passwordSecretRef.extra": "x"}), id="nested-unknown"),
    ],
)
def test_schema_and_parser_refuse_a_resource_when_it_breaks_the_schema(
    resource: dict[str, object],
) -> None:
    with pytest.raises(jsonschema.ValidationError):
        admit(resource)
    with pytest.raises(SpecError):
        parse_spec(resource["spec"])


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        pytest.param(
            _with({"spec.shards.mode": "Fixed"}),
            "required when mode is Fixed",
            id="fixed-without-count",
        ),
        pytest.param(
            _with(
                {"spec.shards.targetGuildsPerShard": 2000, "spec.shards.maxGuildsPerShard": 1500}
            ),
            "must not exceed maxGuildsPerShard",
            id="target-above-max",
        ),
        pytest.param(
            _with({"spec.lavalink.minNodes": 5, "spec.lavalink.maxNodes": 2}),
            "must not exceed maxNodes",
            id="min-above-max",
        ),
        pytest.param(
            _with({}, removals=("spec.lavalink.passwordSecretRef",)),
            "required when lavalink is enabled",
            id="lavalink-without-password",
        ),
        pytest.param(
            _with({}, removals=("spec.lavalink",)),
            "required when lavalink is enabled",
            id="lavalink-omitted",
        ),
    ],
)
def test_cel_rules_and_parser_refuse_a_resource_when_fields_disagree(
    resource: dict[str, object], message: str
) -> None:
    with pytest.raises(AssertionError, match=message):
        admit(resource)
    with pytest.raises(SpecError, match=message):
        parse_spec(resource["spec"])


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(_with({"spec.shards.mode": "Fixed", "spec.shards.count": 1}), id="fixed"),
        pytest.param(_with({"spec.lavalink.enabled": False}), id="lavalink-off-with-password"),
        pytest.param(
            _with({"spec.lavalink.enabled": False}, removals=("spec.lavalink.passwordSecretRef",)),
            id="lavalink-off",
        ),
        pytest.param(
            _with({"spec.lavalink.minNodes": 0, "spec.lavalink.maxNodes": 1}), id="scale-to-zero"
        ),
        pytest.param(
            _with(
                {"spec.shards.targetGuildsPerShard": 2500, "spec.shards.maxGuildsPerShard": 2500}
            ),
            id="target-at-max",
        ),
    ],
)
def test_cel_rules_and_parser_admit_a_resource_when_fields_agree(
    resource: dict[str, object],
) -> None:
    defaulted = admit(resource)
    assert parse_spec(resource["spec"]) == parse_spec(defaulted["spec"])
