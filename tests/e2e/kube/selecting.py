"""Label and field selectors, and which stored objects a list or watch request selects.

Owns :class:`LabelSelector` (equality, inequality, set and existence requirements), field
selectors of ``path=value`` terms, and the namespace, name and selector checks of one
request. Does not own listing or watching (``tests.e2e.kube.emulator``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Final

from tests.e2e.kube.calls import api_error

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import kmock

__all__ = ["LabelSelector", "field_selector_matches", "is_selected", "selector_of"]

_SET_REQUIREMENT: Final = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


@dataclasses.dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed ``labelSelector`` query: equality, inequality, set and existence requirements."""

    requirements: tuple[tuple[str, str, frozenset[str]], ...]
    """(key, operator, values) with operator one of ``=``, ``!=``, ``in``, ``notin``,
    ``exists``, ``!exists``."""

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse ``a=b,c!=d,e in (f,g),h,!i``; raise ValueError on nonsense."""
        return cls(tuple(_parse_requirement(raw) for raw in _split_selector(text)))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an object with these labels is selected."""
        return all(_requirement_holds(req, labels) for req in self.requirements)


def _split_selector(text: str) -> Iterable[str]:
    depth, start = 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            yield text[start:index]
            start = index + 1
    if text[start:].strip():
        yield text[start:]


def _parse_requirement(raw: str) -> tuple[str, str, frozenset[str]]:
    if match := _SET_REQUIREMENT.match(raw):
        values = frozenset(value.strip() for value in match.group(3).split(",") if value.strip())
        return match.group(1), match.group(2), values
    for operator in ("!=", "==", "="):
        if operator in raw:
            key, value = raw.split(operator, 1)
            return key.strip(), "!=" if operator == "!=" else "=", frozenset({value.strip()})
    key = raw.strip()
    if not key or " " in key:
        raise ValueError(f"bad label selector requirement: {raw!r}")
    if key.startswith("!"):
        return key[1:], "!exists", frozenset()
    return key, "exists", frozenset()


def _requirement_holds(req: tuple[str, str, frozenset[str]], labels: Mapping[str, str]) -> bool:
    key, operator, values = req
    match operator:
        case "=" | "in":
            return labels.get(key) in values
        case "!=" | "notin":
            return labels.get(key) not in values
        case "exists":
            return key in labels
        case _:
            return key not in labels


def field_selector_matches(text: str | None, obj: Mapping[str, Any]) -> bool:
    """Match a ``fieldSelector`` of ``path=value`` / ``==`` / ``!=`` terms (e.g. metadata.name)."""
    if not text:
        return True
    for raw in text.split(","):
        is_negated = "!=" in raw
        field, value = re.split(r"!=|==|=", raw, maxsplit=1)
        actual: Any = obj
        for part in field.strip().split("."):
            actual = actual.get(part) if isinstance(actual, dict) else None
        if (actual == value.strip()) == is_negated:
            return False
    return True


def selector_of(request: kmock.Request) -> LabelSelector | None:
    """The request's ``labelSelector``, if any; a bad one answers 400."""
    text = request.params.get("labelSelector")
    if not text:
        return None
    try:
        return LabelSelector.parse(text)
    except ValueError as exc:
        raise api_error(400, "BadRequest", str(exc)) from exc


def is_selected(
    obj: Mapping[str, Any], request: kmock.Request, selector: LabelSelector | None
) -> bool:
    """Whether ``obj`` is in the request's namespace, has its name and matches its selectors."""
    meta = obj.get("metadata", {})
    if request.namespace is not None and meta.get("namespace") != request.namespace:
        return False
    if request.name is not None and meta.get("name") != request.name:
        return False
    if selector is not None and not selector.matches(meta.get("labels") or {}):
        return False
    return field_selector_matches(request.params.get("fieldSelector"), obj)
