"""JSON merge patches (RFC 7386) and JSON patches (RFC 6902), as the emulator applies them.

Owns applying a patch to a JSON value without changing its inputs, and :class:`PatchError`
for a patch that cannot be applied (the emulator answers it as 422 Invalid). Does not own
which patch a request carries nor status subresources (``tests.e2e.kube.emulator``).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tests.e2e.kube.kinds import JsonObject

__all__ = ["PatchError", "apply_json_patch", "apply_merge_patch"]


class PatchError(Exception):
    """A patch cannot be applied; answered as 422 Invalid."""


def apply_merge_patch(target: Any, patch: Any) -> Any:  # noqa: ANN401  # JSON values are untyped
    """Apply an RFC 7386 JSON merge patch and return the result (the inputs are not changed)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: JsonObject = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"a JSON pointer must start with '/': {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _resolve_parent(doc: Any, parts: list[str]) -> Any:  # noqa: ANN401  # JSON values are untyped
    node = doc
    for part in parts[:-1]:
        node = _child(node, part)
    return node


def _child(node: Any, part: str) -> Any:  # noqa: ANN401  # JSON values are untyped
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise PatchError(f"path segment {part!r} does not exist")


def _get_path(doc: Any, path: str) -> Any:  # noqa: ANN401  # JSON values are untyped
    node = doc
    for part in _pointer(path):
        node = _child(node, part)
    return node


def _remove_path(doc: Any, path: str) -> Any:  # noqa: ANN401  # JSON values are untyped
    parts = _pointer(path)
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _resolve_parent(doc, parts)
    value = _child(parent, parts[-1])
    if isinstance(parent, list):
        del parent[int(parts[-1])]
    else:
        del parent[parts[-1]]
    return value


def _add_path(doc: Any, path: str, value: Any, *, is_replace: bool) -> Any:  # noqa: ANN401
    parts = _pointer(path)
    if not parts:
        return value
    parent = _resolve_parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, dict):
        if is_replace and last not in parent:
            raise PatchError(f"cannot replace a missing key {path!r}")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and not is_replace:
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent) - (1 if is_replace else 0):
            if is_replace:
                parent[int(last)] = value
            else:
                parent.insert(int(last), value)
        else:
            raise PatchError(f"bad list index in {path!r}")
    else:
        raise PatchError(f"cannot add under a scalar at {path!r}")
    return doc


def apply_json_patch(target: Any, operations: Any) -> Any:  # noqa: ANN401  # JSON is untyped
    """Apply an RFC 6902 JSON patch and return the result (the inputs are not changed).

    Raises:
        PatchError: when an operation is malformed, a path is missing or a ``test`` fails.
    """
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError(f"malformed operation: {operation!r}")
        doc = _apply_operation(doc, operation)
    return doc


def _apply_operation(doc: Any, operation: Mapping[str, Any]) -> Any:  # noqa: ANN401
    op, path = operation["op"], operation["path"]
    match op:
        case "add" | "replace":
            return _add_path(
                doc, path, copy.deepcopy(operation.get("value")), is_replace=op == "replace"
            )
        case "remove":
            _remove_path(doc, path)
            return doc
        case "move":
            value = _remove_path(doc, operation["from"])
            return _add_path(doc, path, value, is_replace=False)
        case "copy":
            value = copy.deepcopy(_get_path(doc, operation["from"]))
            return _add_path(doc, path, value, is_replace=False)
        case "test":
            try:
                actual = _get_path(doc, path)
            except PatchError:
                actual = None
            if actual != operation.get("value"):
                raise PatchError(
                    f"test failed at {path!r}: {actual!r} != {operation.get('value')!r}"
                )
            return doc
        case _:
            raise PatchError(f"unknown operation {op!r}")
