"""Admitting a DiscordBot offline the way an API server would, for tests: defaults, schema, CEL.

Owns loading the CRD, its structural walk, applying its defaults, validating a resource with
jsonschema (``x-kubernetes-*`` keys dropped, unknown fields refused as strict field
validation does) and evaluating its CEL rules through a translation of the small subset of
CEL they use into Python. The translation is a test device, not a CEL implementation: it
refuses any rule outside that subset. Used by the CRD's tests and the chart's tests.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeAlias, cast

import jsonschema  # type: ignore[import-untyped]  # types-jsonschema is not a dev dependency
import pytest
import yaml

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT: Final = Path(__file__).resolve().parents[3]
CRD_PATH: Final = ROOT / "charts" / "shoal" / "crds" / "discordbots.shoal.dev.yaml"
_INT_OR_STRING: Final = [{"type": "integer"}, {"type": "string"}]
_JUNCTORS: Final = ("anyOf", "allOf", "oneOf", "not")

Schema: TypeAlias = dict[str, object]


def load_yaml(path: Path) -> dict[str, object]:
    return cast("dict[str, object]", yaml.safe_load(path.read_text(encoding="utf-8")))


def load_crd() -> dict[str, object]:
    return load_yaml(CRD_PATH)


def crd_version() -> dict[str, object]:
    versions = cast("list[dict[str, object]]", cast("Schema", load_crd()["spec"])["versions"])
    assert len(versions) == 1
    return versions[0]


def crd_schema() -> Schema:
    return cast("Schema", cast("Schema", crd_version()["schema"])["openAPIV3Schema"])


def schema_properties(node: Schema) -> dict[str, Schema]:
    return cast("dict[str, Schema]", node.get("properties", {}))


def walk_schema(node: Schema, path: str = "") -> Iterator[tuple[str, Schema]]:
    """Yield every schema node under ``node`` with its path (``[]`` items, ``{}`` map values)."""
    yield path, node
    for name, child in schema_properties(node).items():
        yield from walk_schema(child, f"{path}.{name}")
    items = node.get("items")
    if isinstance(items, dict):
        yield from walk_schema(cast("Schema", items), f"{path}[]")
    values = node.get("additionalProperties")
    if isinstance(values, dict):
        yield from walk_schema(cast("Schema", values), f"{path}{{}}")


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


def structural_problems(schema: Schema) -> list[str]:
    problems = [
        problem for path, node in walk_schema(schema) for problem in _node_problems(path, node)
    ]
    metadata = schema_properties(schema)["metadata"]
    if set(schema_properties(metadata)) - {"name", "generateName"}:
        problems.append(".metadata: only name and generateName may be constrained")
    return problems


def to_json_schema(node: object) -> object:
    """Translate a CRD schema into JSON Schema: no x-kubernetes-*, unknown fields rejected."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: value if key in {"default", "enum", "required"} else to_json_schema(value)
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


def schema_validator(schema: Schema) -> jsonschema.Draft202012Validator:
    json_schema = cast("Schema", to_json_schema(schema))
    jsonschema.Draft202012Validator.check_schema(json_schema)
    return jsonschema.Draft202012Validator(
        json_schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def apply_defaults(node: Schema, value: object) -> object:
    """Default ``value`` as the API server does: missing fields take defaults, recursively."""
    if isinstance(value, dict):
        result = dict(value)
        for name, child in schema_properties(node).items():
            if name not in result and "default" in child:
                result[name] = copy.deepcopy(child["default"])
            if name in result:
                result[name] = apply_defaults(child, result[name])
        values = node.get("additionalProperties")
        if isinstance(values, dict):
            result = {
                key: apply_defaults(cast("Schema", values), item) for key, item in result.items()
            }
        return result
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [apply_defaults(cast("Schema", node["items"]), item) for item in value]
    return value


def defaulted_paths(node: Schema, value: object, path: str = "") -> set[str]:
    """Return the paths of the fields that defaulting ``value`` sets."""
    if not isinstance(value, dict):
        return set()
    paths: set[str] = set()
    for name, child in schema_properties(node).items():
        if name in value:
            paths |= defaulted_paths(child, value[name], f"{path}.{name}")
        elif "default" in child:
            paths.add(f"{path}.{name}")
            paths |= defaulted_paths(child, copy.deepcopy(child["default"]), f"{path}.{name}")
    return paths


# --- CEL, the subset these rules use: self.field, has(self.field), ||, &&, !, comparisons ---

_CEL_TOKEN: Final = re.compile(
    r"\s+|has\(self\.(?P<has>\w+)\)|self\.(?P<field>\w+)|'(?P<string>[^'\\]*)'|(?P<int>\d+)"
    r"|(?P<op>\|\||&&|!=|==|<=|>=|<|>|!|\(|\))"
)
_CEL_OPS: Final = {"||": " or ", "&&": " and ", "!": " not "}


def cel_to_python(rule: str) -> str:
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


def cel_rule(rule: str) -> Callable[[dict[str, object]], bool]:
    code = compile(cel_to_python(rule), f"<CEL {rule}>", "eval")

    def evaluate(self: dict[str, object]) -> bool:
        # Only the subset's tokens reach here (see cel_to_python), over our own CRD's rules.
        return bool(eval(code, {"__builtins__": {}}, {"self": self}))  # noqa: S307

    return evaluate


def cel_failures(schema: Schema, value: object) -> list[str]:
    """Return the messages of the CEL rules that ``value`` (already defaulted) breaks."""
    failures: list[str] = []
    for path, node in walk_schema(schema):
        target: object = value
        for name in path.split(".")[1:]:
            target = target.get(name) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue
        rules = cast("list[dict[str, str]]", node.get("x-kubernetes-validations", []))
        failures.extend(
            f"{path}: {rule['message']}" for rule in rules if not cel_rule(rule["rule"])(target)
        )
    return failures


def admit(resource: dict[str, object]) -> dict[str, object]:
    """Default and validate ``resource`` like an API server; raise when it would be refused.

    Raises:
        jsonschema.ValidationError: when the schema refuses it.
        AssertionError: when a CEL rule refuses it.
    """
    schema = crd_schema()
    defaulted = cast("dict[str, object]", apply_defaults(schema, resource))
    schema_validator(schema).validate(defaulted)
    failures = cel_failures(schema, defaulted)
    assert not failures, failures
    return defaulted
