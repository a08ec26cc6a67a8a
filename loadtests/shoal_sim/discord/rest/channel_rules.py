"""Channel and thread bodies: which Discord accepts and how it normalises names.

Pure: bodies in, field errors (or cleaned values) out. Text channel names are lower
cased with spaces turned into dashes, as Discord does.
"""

from __future__ import annotations

from typing import Any, Final

from shoal_sim.discord.entities import ChannelType
from shoal_sim.discord.rest import errors

__all__ = [
    "ARCHIVE_DURATIONS_MIN",
    "CREATABLE_TYPES",
    "THREAD_PARENT_TYPES",
    "channel_name",
    "check_channel",
    "check_thread",
]

JSON = dict[str, Any]

CREATABLE_TYPES: Final = frozenset(
    {
        ChannelType.GUILD_TEXT,
        ChannelType.GUILD_VOICE,
        ChannelType.GUILD_CATEGORY,
        ChannelType.GUILD_ANNOUNCEMENT,
        ChannelType.GUILD_STAGE_VOICE,
        ChannelType.GUILD_FORUM,
    }
)
"""Channel types a bot may create in a guild."""
THREAD_PARENT_TYPES: Final = frozenset({ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT})
"""Channels whose threads this simulator creates (forum posts need a first message)."""
ARCHIVE_DURATIONS_MIN: Final = frozenset({60, 1440, 4320, 10080})
_MAX_NAME_CHARS: Final = 100
_MAX_TOPIC_CHARS: Final = 1024
_MAX_SLOWMODE_S: Final = 21_600
_TEXT_NAMED: Final = frozenset(
    {ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT, ChannelType.GUILD_FORUM}
)


def channel_name(name: str, channel_type: int) -> str:
    """Return the name Discord keeps: text channels are lower case, dashes for spaces."""
    if channel_type in _TEXT_NAMED:
        return "-".join(name.lower().split())
    return name


def check_channel(body: JSON, *, is_create: bool) -> errors.FieldErrors:
    """Return what is wrong with a guild channel create or edit body."""
    problems = errors.FieldErrors()
    name = body.get("name")
    if name is not None or is_create:
        _check_name(name, problems)
    channel_type = body.get("type", ChannelType.GUILD_TEXT if is_create else None)
    if channel_type is not None and channel_type not in CREATABLE_TYPES:
        problems.add(
            ("type",), "BASE_TYPE_CHOICES", f"Value must be one of {sorted(CREATABLE_TYPES)}."
        )
    topic = body.get("topic")
    if topic is not None and (not isinstance(topic, str) or len(topic) > _MAX_TOPIC_CHARS):
        problems.add(("topic",), *errors.too_long(_MAX_TOPIC_CHARS))
    _check_slowmode(body.get("rate_limit_per_user"), problems)
    return problems


def check_thread(body: JSON, *, parent_type: int) -> errors.FieldErrors:
    """Return what is wrong with a thread create body for a parent of ``parent_type``."""
    problems = errors.FieldErrors()
    _check_name(body.get("name"), problems)
    duration = body.get("auto_archive_duration")
    if duration is not None and duration not in ARCHIVE_DURATIONS_MIN:
        problems.add(
            ("auto_archive_duration",),
            "BASE_TYPE_CHOICES",
            f"Value must be one of {sorted(ARCHIVE_DURATIONS_MIN)}.",
        )
    thread_type = body.get("type")
    allowed = (
        {ChannelType.ANNOUNCEMENT_THREAD}
        if parent_type == ChannelType.GUILD_ANNOUNCEMENT
        else {ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD}
    )
    if thread_type is not None and thread_type not in allowed:
        problems.add(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {sorted(allowed)}.")
    _check_slowmode(body.get("rate_limit_per_user"), problems)
    return problems


def _check_name(name: object, problems: errors.FieldErrors) -> None:
    if not isinstance(name, str):
        problems.add(("name",), *errors.REQUIRED)
    elif not 1 <= len(name.strip()) <= _MAX_NAME_CHARS:
        problems.add(
            ("name",), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {_MAX_NAME_CHARS} in length."
        )


def _check_slowmode(value: object, problems: errors.FieldErrors) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not (0 <= value <= _MAX_SLOWMODE_S):
        problems.add(
            ("rate_limit_per_user",),
            "NUMBER_TYPE_MAX",
            f"int value should be between 0 and {_MAX_SLOWMODE_S}.",
        )
