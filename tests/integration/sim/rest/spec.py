"""Discord's OpenAPI spec as a validator of the simulator's REST responses.

Loads ``discord-openapi.json`` from ``../shared/reference`` beside the repository and
validates a response body against the schema the spec gives for a path, method and
status (following ``$ref`` into ``components/responses``). A missing required field
fails validation, which is the point.
"""

from __future__ import annotations

import functools
import json
import pathlib
from typing import Any, Final

import jsonschema  # type: ignore[import-untyped]  # types-jsonschema is not a dev dependency
import pytest
import referencing
import referencing.jsonschema

__all__ = ["SPEC_URI", "ResponseSpec", "load_spec", "spec_path"]

SPEC_URI: Final = "urn:discord-openapi"
_REPO_ROOT: Final = pathlib.Path(__file__).resolve().parents[4]


def spec_path() -> pathlib.Path:
    """Return where Discord's OpenAPI spec is expected (``<repo>/../shared/reference``)."""
    return _REPO_ROOT.parent / "shared" / "reference" / "discord-openapi.json"


@functools.cache
def load_spec() -> ResponseSpec:
    """Load the spec once per process, failing the test with a clear message if absent."""
    path = spec_path()
    if not path.is_file():
        pytest.fail(
            f"Discord's OpenAPI spec is missing: expected it at {path} "
            "(../shared/reference/discord-openapi.json beside the repository)"
        )
    return ResponseSpec(json.loads(path.read_text(encoding="utf-8")))


class ResponseSpec:
    """Validates response bodies against the spec's response schemas."""

    def __init__(self, spec: dict[str, Any]) -> None:
        """Index ``spec`` under :data:`SPEC_URI` so its internal ``$ref`` resolve."""
        self._spec = spec
        resource = referencing.Resource.from_contents(
            spec, default_specification=referencing.jsonschema.DRAFT202012
        )
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            SPEC_URI, resource
        )
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}

    def schema_pointer(self, method: str, template: str, status: int) -> str:
        """Return the JSON pointer of the response schema for a path, method and status.

        Raises:
            KeyError: when the spec has no such path, method, status or JSON body.
        """
        operation = self._spec["paths"][template][method.lower()]
        responses = operation["responses"]
        key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
        response = responses[key]
        pointer: str
        if "$ref" in response:
            pointer = str(response["$ref"]).removeprefix("#")
            response = self._resolve(pointer)
        else:
            pointer = "/paths/" + _escape(template) + f"/{method.lower()}/responses/{key}"
        if "application/json" not in response.get("content", {}):
            msg = f"{method} {template} {status} has no JSON body in the spec"
            raise KeyError(msg)
        return pointer + "/content/application~1json/schema"

    def validate(self, method: str, template: str, status: int, body: object) -> None:
        """Validate ``body`` against the spec.

        Raises:
            jsonschema.ValidationError: naming the first mismatch.
        """
        self._validate_at(self.schema_pointer(method, template, status), body)

    def validate_schema(self, name: str, body: object) -> None:
        """Validate ``body`` against the named schema of ``components/schemas``.

        For objects no REST response carries alone, such as a gateway dispatch's user.

        Raises:
            jsonschema.ValidationError: naming the first mismatch.
        """
        self._validate_at(f"/components/schemas/{_escape(name)}", body)

    def _validate_at(self, pointer: str, body: object) -> None:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = jsonschema.Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"},
                registry=self._registry,
                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
            )
            self._validators[pointer] = validator
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
        if error is not None:
            raise error

    def has_json_body(self, method: str, template: str, status: int) -> bool:
        """Return whether the spec describes a JSON body for this response."""
        try:
            self.schema_pointer(method, template, status)
        except KeyError:
            return False
        return True

    def _resolve(self, pointer: str) -> dict[str, Any]:
        node: Any = self._spec
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return dict(node)


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")
