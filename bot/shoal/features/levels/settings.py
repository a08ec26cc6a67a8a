"""A guild's levels settings: the validated value stored under the ``levels`` settings key.

Owns :class:`LevelsSettings` (frozen, unknown fields refused) with its defaults and the
limits a Discord admin can be told about, and :func:`parse_levels_settings`, which turns the
stored JSON (or nothing) into one. Every validation message says what to change in words an
admin understands (:func:`describe_errors` joins them for a reply). Does not own where the
value is stored (see `shoal.storage.guild_settings`) nor what the settings do (see
`shoal.features.levels.rules`).
"""

from __future__ import annotations

from typing import Any, Final

import pydantic
from pydantic import ConfigDict, Field, field_validator

__all__ = [
    "DEFAULT_TEMPLATE",
    "MAX_IGNORED",
    "MAX_LEVEL",
    "MAX_LEVEL_ROLES",
    "MAX_TEMPLATE_CHARS",
    "SETTINGS_KEY",
    "LevelsSettings",
    "describe_errors",
    "parse_levels_settings",
]

#: The guild settings key (`shoal.storage.guild_settings`) holding these settings.
SETTINGS_KEY: Final = "levels"
DEFAULT_TEMPLATE: Final = "{user} reached level {level}!"
#: A template is a sentence or two; the rendered message is cut at Discord's 2,000 anyway.
MAX_TEMPLATE_CHARS: Final = 500
#: Ignored channels, and ignored roles, each: enough for any real server, small to check.
MAX_IGNORED: Final = 100
#: Reward roles: far more than any ladder needs, few enough for one member PATCH.
MAX_LEVEL_ROLES: Final = 50
#: Level 1,000 needs 100,000,000 XP (27 years of a message a minute): no reward lies above.
MAX_LEVEL: Final = 1_000
_MAX_SNOWFLAKE: Final = 2**63 - 1


def _check_snowflake(value: int, what: str) -> int:
    if not 0 < value <= _MAX_SNOWFLAKE:
        raise ValueError(f"{value} is not a {what} id: copy it from Discord (Developer Mode)")
    return value


def _unique_ids(values: tuple[int, ...], what: str, limit: int) -> tuple[int, ...]:
    unique = tuple(dict.fromkeys(_check_snowflake(value, what) for value in values))
    if len(unique) > limit:
        raise ValueError(f"at most {limit} ignored {what}s; remove {len(unique) - limit} first")
    return unique


class LevelsSettings(pydantic.BaseModel):
    """How the levels feature behaves in one guild; the defaults suit a new server."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    announce: bool = True
    """Post a message when a member reaches a new level."""
    announce_channel_id: int | None = None
    """Where to post it; None posts in the channel of the message that levelled up."""
    announce_template: str = DEFAULT_TEMPLATE
    """The message: ``{user}`` (a mention), ``{name}`` and ``{level}`` are filled in."""
    ignored_channel_ids: tuple[int, ...] = ()
    """Messages in these channels earn no XP (duplicates are dropped)."""
    ignored_role_ids: tuple[int, ...] = ()
    """Members with any of these roles earn no XP (duplicates are dropped)."""
    level_roles: dict[int, int] = Field(default_factory=dict)
    """Reward roles: level (1 to 1,000) -> the role given on reaching it."""
    stack_rewards: bool = True
    """True keeps lower rewards when a higher one is given; False keeps only the highest."""

    @field_validator("announce_channel_id")
    @classmethod
    def _check_announce_channel(cls, value: int | None) -> int | None:
        return None if value is None else _check_snowflake(value, "channel")

    @field_validator("announce_template")
    @classmethod
    def _check_template(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the level-up message is empty: write one, e.g. " + DEFAULT_TEMPLATE)
        if len(value) > MAX_TEMPLATE_CHARS:
            raise ValueError(
                f"the level-up message is {len(value)} characters long; "
                f"keep it to {MAX_TEMPLATE_CHARS}"
            )
        return value

    @field_validator("ignored_channel_ids")
    @classmethod
    def _check_channels(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _unique_ids(value, "channel", MAX_IGNORED)

    @field_validator("ignored_role_ids")
    @classmethod
    def _check_roles(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _unique_ids(value, "role", MAX_IGNORED)

    @field_validator("level_roles")
    @classmethod
    def _check_level_roles(cls, value: dict[int, int]) -> dict[int, int]:
        if len(value) > MAX_LEVEL_ROLES:
            raise ValueError(
                f"at most {MAX_LEVEL_ROLES} reward roles; remove {len(value) - MAX_LEVEL_ROLES} "
                "first"
            )
        for level, role_id in value.items():
            if not 1 <= level <= MAX_LEVEL:
                raise ValueError(f"level {level} cannot have a reward: pick 1 to {MAX_LEVEL}")
            _check_snowflake(role_id, "role")
        return dict(sorted(value.items()))


def parse_levels_settings(stored: Any) -> LevelsSettings:  # noqa: ANN401 - stored JSON, any shape
    """Return the settings stored for a guild (its ``levels`` key), or the defaults for None.

    Raises:
        pydantic.ValidationError: The stored value is not valid settings (see
            :func:`describe_errors` for a reply).
    """
    if stored is None:
        return LevelsSettings()
    return LevelsSettings.model_validate(stored)


def describe_errors(error: pydantic.ValidationError) -> str:
    """Return one line per problem, naming the setting, for a reply to an admin."""
    lines: list[str] = []
    for detail in error.errors(include_url=False):
        where = ".".join(str(part) for part in detail["loc"]) or "settings"
        message = str(detail["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "\n".join(lines)
