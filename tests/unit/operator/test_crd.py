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
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias, cast

import jsonschema  # type: ignore[import-untyped]  # types-jsonschema is not a dev dependency
import kubernetes_validate  # type: ignore[import-untyped]  # the package ships no type hints
import pytest
import yaml

from shoal_operator.spec import SpecError, parse_spec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_ROOT: Final = Path(__file__).resolve().parents[3]
_CRD_PATH: Final = _ROOT / "charts" / "shoal" / "crds" / "discordbots.shoal.dev.yaml"
_EXAMPLES: Final = sorted((_ROOT / "examples").glob("*.yaml"))
_INT_OR_STRING: Final = [{"type": "integer"}, {"type": "string"}]
_JUNCTORS: Final = ("anyOf", "allOf", "oneOf", "not")

Schema: TypeAlias = dict[str, object]


def _load(path: Path) -> dict[str, object]:
    return cast("dict[str, object]", yaml.safe_load(path.read_text(encoding="utf-8")))


def _crd() -> dict[str, object]:
    return _load(_CRD_PATH)


def _version() -> dict[str, object]:
    versions = cast("list[dict[str, object]]", cast("Schema", _crd()["spec"])["versions"])
    assert len(versions) == 1
    return versions[0]


def _schema() -> Schema:
    return cast("Schema", cast("Schema", _version()["schema"])["openAPIV3Schema"])


def _properties(node: Schema) -> dict[str, Schema]:
    return cast("dict[str, Schema]", node.get("properties", {}))


def _walk(node: Schema, path: str = "") -> Iterator[tuple[str, Schema]]:
    """Yield every schema node under ``node`` with its path (``[]`` items, ``{}`` map values)."""
    yield path, node
    for name, child in _properties(node).items():
        yield from _walk(child, f"{path}.{name}")
    items = node.get("items")
    if isinstance(items, dict):
        yield from _walk(cast("Schema", items), f"{path}[]")
    values = node.get("additionalProperties")
    if isinstance(values, dict):
        yield from _walk(cast("Schema", values), f"{path}{{}}")


def _node_problems(path: str, node: Schema) -> Iterator[str]:
    """Yield how ``node`` breaks the structural schema rules of apiextensions.k8s.io/v1."""
    is_int_or_string = node.get("x-kubernetes-int-or-string") is True
    if is_int_or_string:
        if "type" in node or node.get("anyOf") != _INT_OR_STRING:
            yield f"{path}: int-or-string needs no type and anyOf [integer, string]"
    elif "type" not in node and node.get("x-kubernetes-preserve-unknown-fields") is not True:
        yield f"{path}: has no type"
    if "properties" in node and "additionalProperties" in node:
        yield f"{path}: has both properties and additionalProperties"
    if node.get("additionalProperties") is False:
        yield f"{path}: additionalProperties false is not allowed (pruning does its job)"
    for junctor in _JUNCTORS:
        if junctor in node and not (junctor == "anyOf" and is_int_or_string):
            yield f"{path}: {junctor} is not used in this CRD; check its structural rules first"
    yield from _list_problems(path, node)


def _list_problems(path: str, node: Schema) -> Iterator[str]:
    if node.get("type") == "array" and not isinstance(node.get("items"), dict):
        yield f"{path}: array without one items schema"
    if node.get("x-kubernetes-list-type") == "map":
        item = cast("Schema", node["items"])
        for key in cast("list[str]", node.get("x-kubernetes-list-map-keys", [])):
            if key not in cast("list[str]", item.get("required", [])):
                yield f"{path}: list map key {key} must be required"


def _structural_problems(schema: Schema) -> list[str]:
    problems = [problem for path, node in _walk(schema) for problem in _node_problems(path, node)]
    metadata = _properties(schema)["metadata"]
    if set(_properties(metadata)) - {"name", "generateName"}:
        problems.append(".metadata: only name and generateName may be constrained")
    return problems


def _to_json_schema(node: object) -> object:
    """Translate a CRD schema into JSON Schema: no x-kubernetes-*, unknown fields rejected."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: value if key in {"default", "enum", "required"} else _to_json_schema(value)
        for key, value in node.items()
        if not key.startswith("x-kubernetes-") and key != "nullable"
    }
    if node.get("nullable") is True and "type" in node:
        converted["type"] = [node["type"], "null"]
    if node.get("x-kubernetes-list-type") == "set":
        converted["uniqueItems"] = True  # the API server refuses repeats in a set
    if "properties" in node:
        # A real API server prunes unknown fields (or rejects them with strict field
        # validation, as kubectl does by default); here they are errors.
        converted["additionalProperties"] = False
    return converted


def _validator(schema: Schema) -> jsonschema.Draft202012Validator:
    json_schema = cast("Schema", _to_json_schema(schema))
    jsonschema.Draft202012Validator.check_schema(json_schema)
    return jsonschema.Draft202012Validator(
        json_schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _apply_defaults(node: Schema, value: object) -> object:
    """Default ``value`` as the API server does: missing fields take defaults, recursively."""
    if isinstance(value, dict):
        result = dict(value)
        for name, child in _properties(node).items():
            if name not in result and "default" in child:
                result[name] = copy.deepcopy(child["default"])
            if name in result:
                result[name] = _apply_defaults(child, result[name])
        values = node.get("additionalProperties")
        if isinstance(values, dict):
            result = {
                key: _apply_defaults(cast("Schema", values), item) for key, item in result.items()
            }
        return result
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_apply_defaults(cast("Schema", node["items"]), item) for item in value]
    return value


def _defaulted_paths(node: Schema, value: object, path: str = "") -> set[str]:
    """Return the paths of the fields that defaulting ``value`` sets."""
    if not isinstance(value, dict):
        return set()
    paths: set[str] = set()
    for name, child in _properties(node).items():
        if name in value:
            paths |= _defaulted_paths(child, value[name], f"{path}.{name}")
        elif "default" in child:
            paths.add(f"{path}.{name}")
            paths |= _defaulted_paths(child, copy.deepcopy(child["default"]), f"{path}.{name}")
    return paths


# --- CEL, the subset these rules use: self.field, has(self.field), ||, &&, !, comparisons ---

_CEL_TOKEN: Final = re.compile(
    r"\s+|has\(self\.(?P<has>\w+)\)|self\.(?P<field>\w+)|'(?P<string>[^'\\]*)'|(?P<int>\d+)"
    r"|(?P<op>\|\||&&|!=|==|<=|>=|<|>|!|\(|\))"
)
_CEL_OPS: Final = {"||": " or ", "&&": " and ", "!": " not "}


def _cel_to_python(rule: str) -> str:
    parts: list[str] = []
    position = 0
    while position < len(rule):
        match = _CEL_TOKEN.match(rule, position)
        if match is None:
            pytest.fail(f"rule {rule!r} leaves the CEL subset this test evaluates at {position}")
        position = match.end()
        if match["has"]:
            parts.append(f" ({match['has']!r} in self) ")
        elif match["field"]:
            parts.append(f" self[{match['field']!r}] ")
        elif match["string"] is not None:
            parts.append(repr(match["string"]))
        elif match["int"] or match["op"]:
            token = match["int"] or match["op"]
            parts.append(_CEL_OPS.get(token, token))
    return "".join(parts).strip()


def _cel_rule(rule: str) -> Callable[[dict[str, object]], bool]:
    code = compile(_cel_to_python(rule), f"<CEL {rule}>", "eval")

    def evaluate(self: dict[str, object]) -> bool:
        # Only the subset's tokens reach here (see _cel_to_python), over our own CRD's rules.
        return bool(eval(code, {"__builtins__": {}}, {"self": self}))  # noqa: S307

    return evaluate


def _cel_failures(schema: Schema, value: object) -> list[str]:
    """Return the messages of the CEL rules that ``value`` (already defaulted) breaks."""
    failures: list[str] = []
    for path, node in _walk(schema):
        target: object = value
        for name in path.split(".")[1:]:
            target = target.get(name) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue
        rules = cast("list[dict[str, str]]", node.get("x-kubernetes-validations", []))
        failures.extend(
            f"{path}: {rule['message']}" for rule in rules if not _cel_rule(rule["rule"])(target)
        )
    return failures


def _admit(resource: dict[str, object]) -> dict[str, object]:
    """Default and validate ``resource`` like an API server; raise when it would be refused.

    Raises:
        jsonschema.ValidationError: when the schema refuses it.
        AssertionError: when a CEL rule refuses it.
    """
    schema = _schema()
    defaulted = cast("dict[str, object]", _apply_defaults(schema, resource))
    _validator(schema).validate(defaulted)
    failures = _cel_failures(schema, defaulted)
    assert not failures, failures
    return defaulted


def _minimal() -> dict[str, object]:
    return _load(_ROOT / "examples" / "discordbot-minimal.yaml")


# --- The CRD itself ---


def test_crd_names_the_discordbot_kind_when_loaded() -> None:
    crd = _crd()
    spec = cast("Schema", crd["spec"])
    names = cast("Schema", spec["names"])
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert cast("Schema", crd["metadata"])["name"] == "discordbots.shoal.dev"
    assert (spec["group"], spec["scope"]) == ("shoal.dev", "Namespaced")
    assert names["kind"] == "DiscordBot"
    assert (names["plural"], names["singular"]) == ("discordbots", "discordbot")
    assert names["shortNames"] == ["dbot"]
    assert names["categories"] == ["shoal"]
    version = _version()
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def test_crd_is_a_valid_customresourcedefinition_when_checked_strictly() -> None:
    # Kubernetes' own schema for the CRD object (unknown fields are errors), offline.
    kubernetes_validate.validate(_crd(), "1.33", strict=True)


def test_crd_schema_is_structural_when_walked() -> None:
    assert _structural_problems(_schema()) == []


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
    problems = _structural_problems(broken)
    assert len(problems) == 5, problems


def test_crd_schema_documents_every_field_when_walked() -> None:
    undocumented = [path for path, node in _walk(_schema()) if not node.get("description")]
    assert undocumented == []


def test_crd_schema_bounds_every_string_list_and_map_when_walked() -> None:
    unbounded: list[str] = []
    for path, node in _walk(_schema()):
        if node.get("type") == "string" and not {"maxLength", "enum"} & node.keys():
            unbounded.append(path)
        if node.get("type") == "array" and "maxItems" not in node:
            unbounded.append(path)
        if "additionalProperties" in node and "maxProperties" not in node:
            unbounded.append(path)
    assert unbounded == []


def test_crd_defaults_are_valid_when_checked_against_their_own_schema() -> None:
    defaults = [(path, node) for path, node in _walk(_schema()) if "default" in node]
    assert len(defaults) > 20
    for path, node in defaults:
        defaulted = _apply_defaults(node, copy.deepcopy(node["default"]))
        errors = [error.message for error in _validator(node).iter_errors(defaulted)]
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
    columns = cast("list[Schema]", _version()["additionalPrinterColumns"])
    found = next(item for item in columns if item["name"] == column)
    assert (found["jsonPath"], found.get("priority", 0)) == (json_path, priority)
    if json_path.startswith(".metadata."):
        return  # ObjectMeta is the API server's, not in this schema
    node = _schema()
    for name in json_path.split(".")[1:]:
        node = _properties(node)[name]
    assert node["type"] == found["type"]


def test_crd_status_conditions_are_a_map_keyed_by_type_when_read() -> None:
    conditions = _properties(_properties(_schema())["status"])["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    status = _properties(cast("Schema", conditions["items"]))["status"]
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
    node = dict(_walk(_schema()))[path]
    rules = [
        rule["rule"] for rule in cast("list[dict[str, str]]", node["x-kubernetes-validations"])
    ]
    assert any(all(f"self.{field}" in rule for field in fields) for rule in rules), rules


# --- Custom resources against the CRD and the parser ---


@pytest.mark.parametrize("example", _EXAMPLES, ids=[path.name for path in _EXAMPLES])
def test_example_is_admitted_and_parsed_when_valid(example: Path) -> None:
    resource = _load(example)
    assert (resource["apiVersion"], resource["kind"]) == ("shoal.dev/v1alpha1", "DiscordBot")
    defaulted = _admit(resource)
    assert parse_spec(resource["spec"]) == parse_spec(defaulted["spec"])


def test_examples_cover_the_three_samples_when_listed() -> None:
    assert [path.name for path in _EXAMPLES] == [
        "discordbot-full.yaml",
        "discordbot-minimal.yaml",
        "discordbot-simulator.yaml",
    ]


def test_full_example_sets_every_spec_field_when_read() -> None:
    spec_schema = _properties(_schema())["spec"]
    spec = _load(_ROOT / "examples" / "discordbot-full.yaml")["spec"]
    assert _defaulted_paths(spec_schema, spec) == set()
    missing = [
        path
        for path, node in _walk(spec_schema)
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
    spec_schema = _properties(_schema())["spec"]
    spec = cast("dict[str, object]", _minimal()["spec"])
    every_default = {path for path, node in _walk(spec_schema) if "default" in node}
    # The minimal example reaches every default but lavalink's {} (it must name the Lavalink
    # password; the lavalink-omitted case below covers that default), so the comparison below
    # covers them all.
    assert every_default - _defaulted_paths(spec_schema, spec) == {".lavalink"}
    assert parse_spec(spec) == parse_spec(_apply_defaults(spec_schema, spec))


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
        _admit(resource)
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
        _admit(resource)
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
    defaulted = _admit(resource)
    assert parse_spec(resource["spec"]) == parse_spec(defaulted["spec"])
