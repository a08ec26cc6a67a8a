"""Message bodies: which are valid, which are empty, which flags stick.

Pure: takes the decoded JSON body (and how many files came with it), returns a
:class:`Draft` or raises Discord's 400s. Used by channel messages, interaction
responses and webhook follow-ups and edits alike.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from shoal_sim.discord.rest import errors

__all__ = [
    "EPHEMERAL",
    "IS_COMPONENTS_V2",
    "LOADING",
    "MAX_CONTENT_CHARS",
    "MAX_EMBEDS",
    "MAX_FILES",
    "SENDABLE_FLAGS",
    "Draft",
    "check_not_empty",
    "parse_draft",
]

JSON = dict[str, Any]

SUPPRESS_EMBEDS: Final = 1 << 2
EPHEMERAL: Final = 1 << 6
LOADING: Final = 1 << 7
"""A deferred interaction response still "thinking"."""
SUPPRESS_NOTIFICATIONS: Final = 1 << 12
IS_COMPONENTS_V2: Final = 1 << 15
SENDABLE_FLAGS: Final = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
"""Flags a bot may set on a channel message; interaction responses may add EPHEMERAL."""

MAX_CONTENT_CHARS: Final = 2000
MAX_EMBEDS: Final = 10
MAX_FILES: Final = 10
#: All of an embed's text together (title, description, fields, footer, author).
_MAX_EMBED_CHARS: Final = 6000
_MAX_EMBED_TITLE: Final = 256
_MAX_EMBED_DESCRIPTION: Final = 4096
_MAX_EMBED_FIELDS: Final = 25
#: Top-level components of a classic message: action rows, five at most.
_MAX_ACTION_ROWS: Final = 5
#: Components of any depth in a components-v2 message.
_MAX_V2_COMPONENTS: Final = 40


@dataclasses.dataclass(frozen=True, slots=True)
class Draft:
    """A checked message body; a field absent from the body is None (edits keep it)."""

    content: str | None = None
    embeds: list[JSON] | None = None
    components: list[JSON] | None = None
    flags: int | None = None
    attachments: list[JSON] | None = None
    """The body's ``attachments``: descriptions of uploads and, on edits, kept ones."""
    has_stickers_or_poll: bool = False


def parse_draft(body: JSON, *, upload_count: int, allowed_flags: int = SENDABLE_FLAGS) -> Draft:
    """Check a message body and return it as a :class:`Draft`.

    Flags outside ``allowed_flags`` are dropped, as Discord ignores them.

    Raises:
        DiscordError: 400 50035 naming every bad field.
    """
    problems = errors.FieldErrors()
    content = _content(body.get("content"), problems)
    embeds = _embeds(body.get("embeds"), problems)
    flags = _flags(body.get("flags"), problems)
    components = _components(body.get("components"), (flags or 0) & IS_COMPONENTS_V2, problems)
    attachments = _attachments(body.get("attachments"), problems)
    if upload_count > MAX_FILES:
        problems.add(("files",), *errors.too_long(MAX_FILES))
    problems.raise_if_any()
    return Draft(
        content=content,
        embeds=embeds,
        components=components,
        flags=None if flags is None else flags & allowed_flags,
        attachments=attachments,
        has_stickers_or_poll=bool(body.get("sticker_ids")) or body.get("poll") is not None,
    )


def check_not_empty(draft: Draft, *, file_count: int) -> None:
    """Refuse a new message with nothing to show.

    Raises:
        DiscordError: 400 50006 Cannot send an empty message.
    """
    if (
        draft.content
        or draft.embeds
        or draft.components
        or file_count
        or (draft.has_stickers_or_poll)
    ):
        return
    raise errors.DiscordError(errors.EMPTY_MESSAGE)


def _content(value: object, problems: errors.FieldErrors) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(("content",), "BASE_TYPE_STRING", "Must be a string.")
        return None
    if len(value) > MAX_CONTENT_CHARS:
        problems.add(("content",), *errors.too_long(MAX_CONTENT_CHARS))
    return value


def _embeds(value: object, problems: errors.FieldErrors) -> list[JSON] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        problems.add(("embeds",), *errors.NOT_A_LIST)
        return None
    if len(value) > MAX_EMBEDS:
        problems.add(("embeds",), *errors.too_long(MAX_EMBEDS))
    total = 0
    for index, embed in enumerate(value):
        if not isinstance(embed, dict):
            problems.add(("embeds", index), *errors.NOT_A_DICT)
            continue
        total += _embed(index, embed, problems)
    if total > _MAX_EMBED_CHARS:
        problems.add(
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {_MAX_EMBED_CHARS}",
        )
    return [e for e in value if isinstance(e, dict)]


def _embed(index: int, embed: JSON, problems: errors.FieldErrors) -> int:
    """Check one embed's lengths; return its character count."""
    limits = {"title": _MAX_EMBED_TITLE, "description": _MAX_EMBED_DESCRIPTION}
    for key, limit in limits.items():
        text = embed.get(key)
        if isinstance(text, str) and len(text) > limit:
            problems.add(("embeds", index, key), *errors.too_long(limit))
    fields = embed.get("fields") or []
    if isinstance(fields, list) and len(fields) > _MAX_EMBED_FIELDS:
        problems.add(("embeds", index, "fields"), *errors.too_long(_MAX_EMBED_FIELDS))
    return _text_length(embed)


def _text_length(embed: JSON) -> int:
    total = sum(len(embed.get(k) or "") for k in ("title", "description"))
    for nested, key in (("footer", "text"), ("author", "name")):
        part = embed.get(nested)
        if isinstance(part, dict):
            total += len(str(part.get(key) or ""))
    fields = embed.get("fields") or []
    if isinstance(fields, list):
        for field in fields:
            if isinstance(field, dict):
                total += len(str(field.get("name") or "")) + len(str(field.get("value") or ""))
    return total


def _components(value: object, is_v2: int, problems: errors.FieldErrors) -> list[JSON] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        problems.add(("components",), *errors.NOT_A_LIST)
        return None
    if is_v2:
        if _count_components(value) > _MAX_V2_COMPONENTS:
            problems.add(("components",), *errors.too_long(_MAX_V2_COMPONENTS))
        return value
    if len(value) > _MAX_ACTION_ROWS:
        problems.add(("components",), *errors.too_long(_MAX_ACTION_ROWS))
    for index, row in enumerate(value):
        if row.get("type") != 1:
            problems.add(
                ("components", index, "type"),
                "UNION_TYPE_CHOICES",
                'Value of field "type" must be one of (1,).',
            )
    return value


def _count_components(components: list[JSON]) -> int:
    total = 0
    for component in components:
        total += 1
        children = component.get("components")
        if isinstance(children, list):
            total += _count_components([c for c in children if isinstance(c, dict)])
    return total


def _flags(value: object, problems: errors.FieldErrors) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(("flags",), "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        return None
    return value


def _attachments(value: object, problems: errors.FieldErrors) -> list[JSON] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        problems.add(("attachments",), *errors.NOT_A_LIST)
        return None
    kept: list[JSON] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or "id" not in item:
            problems.add(("attachments", index, "id"), *errors.REQUIRED)
            continue
        kept.append(item)
    return kept
