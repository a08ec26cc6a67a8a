"""What ``/settings`` understands and says, as pure functions: no I/O.

Admins type values the way Discord shows things: ``#general``, ``@Role``, ``on``, a few
ids separated by commas, or JSON. :func:`parse_value` turns that text into the JSON
value the feature's schema then validates (pydantic coerces ``"123"`` to an int where the
field is one, and refuses what does not fit, naming the field). :func:`field_lines`
describes a module's settings for the ``/settings show`` embed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import orjson

if TYPE_CHECKING:
    import pydantic

    from shoal.storage.guild_settings import JsonValue

__all__ = ["MAX_VALUE_CHARS", "field_lines", "parse_value", "shown_value"]

MAX_VALUE_CHARS: Final = 1_000
_MENTION: Final = re.compile(r"^<(?:#|@&|@!?)(\d{1,20})>$")
_ID: Final = re.compile(r"^\d{1,20}$")
_TRUE: Final = frozenset({"on", "true", "yes", "enable", "enabled"})
_FALSE: Final = frozenset({"off", "false", "no", "disable", "disabled"})
_NONE: Final = frozenset({"none", "null", "unset", "-"})
_SHOWN_MAX: Final = 200


def _token(text: str) -> JsonValue:
    mention = _MENTION.match(text)
    if mention is not None:
        return int(mention.group(1))
    if _ID.match(text):
        return int(text)
    return text


def parse_value(text: str) -> JsonValue:
    """Return the JSON value an admin meant by ``text``.

    JSON is taken as is (``{"5": 123}``, ``[1, 2]``, ``"text"``); ``on``/``off`` and
    ``yes``/``no`` are booleans; ``none`` clears an optional value; channel, role and
    user mentions become their ids; several ids or mentions separated by commas or spaces
    become a list; anything else is the text itself.

    Raises:
        ValueError: the text is longer than :data:`MAX_VALUE_CHARS`.
    """
    stripped = text.strip()
    if len(stripped) > MAX_VALUE_CHARS:
        msg = f"a value may have at most {MAX_VALUE_CHARS} characters"
        raise ValueError(msg)
    lowered = stripped.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    if lowered in _NONE:
        return None
    if stripped[:1] in '[{"':
        try:
            parsed: JsonValue = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            pass
        else:
            return parsed
    parts = [part for part in re.split(r"[,\s]+", stripped) if part]
    if len(parts) > 1 and all(_MENTION.match(p) or _ID.match(p) for p in parts):
        return [_token(part) for part in parts]
    return _token(stripped)


def shown_value(value: Any) -> str:  # noqa: ANN401 - any JSON value
    """Return ``value`` as a short line for an embed (``none`` for None)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    text = orjson.dumps(value).decode() if not isinstance(value, str) else value
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 1] + "…"


def field_lines(model: pydantic.BaseModel) -> list[tuple[str, str]]:
    """Return (field name, "value (default: ...) - description") for each setting."""
    schema = type(model)
    current = model.model_dump(mode="json")
    defaults = schema().model_dump(mode="json")
    lines = []
    for name, info in schema.model_fields.items():
        value = current[name]
        text = f"`{shown_value(value)}`"
        if value != defaults[name]:
            text += f" (default `{shown_value(defaults[name])}`)"
        if info.description:
            text += f"\n{info.description}"
        lines.append((name, text))
    return lines
