"""Typed reads of one object of a DiscordBot spec, checked as the CRD's schema checks them.

Owns :class:`SpecError` and :class:`Section`: an object's unknown fields, ``null`` as "not
set", JSON types, string lengths and patterns, numeric bounds, enums, set-like lists, string
maps and resource quantities, each error naming the field's path. Does not own which fields
a section has, their defaults or cross-field rules (``shoal_operator.spec.parsing``).
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, cast

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Section", "SpecError"]

_MAX_INTENTS: Final = 32
_MAX_RESOURCES: Final = 16
# The same pattern as the CRD (a Kubernetes quantity).
_QUANTITY: Final = re.compile(
    r"[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?"
)


class SpecError(ValueError):
    """A DiscordBot spec is invalid; the message names the field, e.g. ``spec.shards.count``."""

    def __init__(self, path: str, message: str) -> None:
        """Record which field is wrong and why."""
        super().__init__(f"{path}: {message}")
        self.path = path
        self.problem = message


def _json_type(value: object) -> str:
    """Name ``value``'s JSON type, for messages that say what was given instead."""
    names: tuple[tuple[type, str], ...] = (
        (bool, "boolean"),  # before int: bool is an int subclass
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (Mapping, "object"),
    )
    return next((name for kind, name in names if isinstance(value, kind)), type(value).__name__)


def _wrong_type(path: str, expected: str, value: object) -> SpecError:
    return SpecError(path, f"must be {expected}, got {_json_type(value)}")


class Section:
    """One object of the spec: typed reads of its fields, each error naming the field."""

    __slots__ = ("_path", "_raw")

    def __init__(self, raw: object, path: str, fields: Iterable[str]) -> None:
        """Check ``raw`` is an object with only ``fields``; ``None`` reads as empty.

        Raises:
            SpecError: when ``raw`` is not an object or has an unknown field.
        """
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise _wrong_type(path, "an object", raw)
        known = frozenset(fields)
        for name in raw:
            if name not in known:
                raise SpecError(f"{path}.{name}", "unknown field")
        self._raw = cast("Mapping[str, object]", raw)
        self._path = path

    def path(self, name: str) -> str:
        """Return the path of field ``name``."""
        return f"{self._path}.{name}"

    def has(self, name: str) -> bool:
        """Whether field ``name`` is set (``null`` counts as not set)."""
        return self._raw.get(name) is not None

    def get(self, name: str, default: object = None) -> object:
        """Return field ``name``, or ``default`` when unset.

        Raises:
            SpecError: when the field is unset and has no default.
        """
        value = self._raw.get(name)
        if value is None:
            if default is None:
                raise SpecError(self.path(name), "is required")
            return default
        return value

    def section(self, name: str, fields: Iterable[str], *, is_required: bool = False) -> Section:
        """Return the object field ``name`` (empty when unset and not required)."""
        raw = self.get(name) if is_required else self._raw.get(name)
        return Section(raw, self.path(name), fields)

    def string(
        self,
        name: str,
        default: str | None = None,
        *,
        max_length: int = 253,
        pattern: re.Pattern[str] | None = None,
        choices: tuple[str, ...] = (),
    ) -> str:
        """Return the string field ``name``, checked like the CRD checks it."""
        value = self.get(name, default)
        path = self.path(name)
        if not isinstance(value, str):
            raise _wrong_type(path, "a string", value)
        if choices:
            _enum_item(path, value, choices)
        if not value:
            raise SpecError(path, "must not be empty")
        if len(value) > max_length:
            raise SpecError(path, f"must be at most {max_length} characters, got {len(value)}")
        if pattern is not None and pattern.fullmatch(value) is None:
            raise SpecError(path, f"must match {pattern.pattern}, got {value!r}")
        return value

    def integer(self, name: str, default: int | None, *, minimum: int, maximum: int) -> int:
        """Return the integer field ``name`` within ``minimum..maximum``."""
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(self.path(name), "an integer", value)
        _check_bounds(self.path(name), value, minimum, maximum)
        return value

    def optional_integer(self, name: str, *, minimum: int, maximum: int) -> int | None:
        """Return the integer field ``name``, or ``None`` when unset."""
        if not self.has(name):
            return None
        return self.integer(name, None, minimum=minimum, maximum=maximum)

    def number(self, name: str, default: float, *, minimum: float, maximum: float) -> float:
        """Return the number field ``name`` (an integer is a number) within the bounds."""
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(self.path(name), "a number", value)
        if not math.isfinite(value):
            raise SpecError(self.path(name), f"must be a finite number, got {value}")
        _check_bounds(self.path(name), value, minimum, maximum)
        return float(value)

    def boolean(self, name: str, *, default: bool) -> bool:
        """Return the boolean field ``name``."""
        value = self._raw.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise _wrong_type(self.path(name), "a boolean", value)
        return value

    def string_list(
        self, name: str, default: Iterable[str], *, choices: Iterable[str]
    ) -> list[str]:
        """Return the set-like list field ``name``: each item one of ``choices``, no repeats."""
        value = self.get(name, list(default))
        path = self.path(name)
        if not isinstance(value, list):
            raise _wrong_type(path, "an array", value)
        if len(value) > _MAX_INTENTS:
            raise SpecError(path, f"must have at most {_MAX_INTENTS} items, got {len(value)}")
        items = [_enum_item(f"{path}[{index}]", item, choices) for index, item in enumerate(value)]
        repeated = sorted({item for item in items if items.count(item) > 1})
        if repeated:
            raise SpecError(path, f"must not repeat values, got {', '.join(repeated)} twice")
        return items

    def string_map(
        self, name: str, *, max_entries: int, max_value_length: int
    ) -> Mapping[str, str]:
        """Return the string-to-string map field ``name`` (empty when unset)."""
        value = self._raw.get(name)
        path = self.path(name)
        entries = _map_entries(path, value, max_entries)
        for key, item in entries.items():
            if not isinstance(item, str):
                raise _wrong_type(f"{path}.{key}", "a string", item)
            if len(item) > max_value_length:
                msg = f"must be at most {max_value_length} characters, got {len(item)}"
                raise SpecError(f"{path}.{key}", msg)
        return types.MappingProxyType(cast("dict[str, str]", entries))

    def quantity_map(self, name: str) -> Mapping[str, str]:
        """Return the resource-name-to-quantity map field ``name``, quantities as strings."""
        path = self.path(name)
        quantities: dict[str, str] = {}
        for key, item in _map_entries(path, self._raw.get(name), _MAX_RESOURCES).items():
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise _wrong_type(f"{path}.{key}", "an integer or a string", item)
            quantity = str(item)
            if _QUANTITY.fullmatch(quantity) is None:
                raise SpecError(f"{path}.{key}", f"must be a quantity such as 500m, got {item!r}")
            quantities[key] = quantity
        return types.MappingProxyType(quantities)


def _enum_item(path: str, value: object, choices: Iterable[str]) -> str:
    allowed = tuple(choices)
    if not isinstance(value, str):
        raise _wrong_type(path, "a string", value)
    if value not in allowed:
        raise SpecError(path, f"must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _check_bounds(path: str, value: float, minimum: float, maximum: float) -> None:
    if value < minimum:
        raise SpecError(path, f"must be at least {minimum}, got {value}")
    if value > maximum:
        raise SpecError(path, f"must be at most {maximum}, got {value}")


def _map_entries(path: str, value: object, max_entries: int) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _wrong_type(path, "an object", value)
    for key in value:
        if not isinstance(key, str) or not key:
            raise SpecError(path, f"keys must be non-empty strings, got {key!r}")
    if len(value) > max_entries:
        raise SpecError(path, f"must have at most {max_entries} entries, got {len(value)}")
    return dict(cast("Mapping[str, object]", value))
