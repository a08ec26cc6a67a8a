"""Per-guild settings and feature flags: the value, its rules, and the repository's role.

Owns :class:`GuildSettings` (plain data: feature flag overrides, settings by key), the flag
rule (an override wins, otherwise the feature's default), the defaults of a guild never
configured, name checks, the invalidation message format, and the
:class:`GuildSettingsRepository` protocol. Pure: no I/O. Backings live apart:
`shoal.storage.guild_settings_repository` (PostgreSQL) and
`shoal.storage.guild_settings_caching` (an in-process cache over any backing, kept
coherent across pods through Redis pub/sub).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Final, Protocol, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

__all__ = [
    "GuildSettings",
    "GuildSettingsRepository",
    "JsonValue",
    "check_feature_name",
    "check_guild_id",
    "check_setting_key",
    "guild_id_from_message",
    "invalidation_message",
]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
"""What a setting may hold: anything JSON can represent."""

#: Features are named like their Python package under ``shoal/features/``.
_FEATURE_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SETTING_KEY_MAX: Final = 100
_SNOWFLAKE_MAX: Final = 2**63 - 1  # guild ids are stored as PostgreSQL bigint


@dataclasses.dataclass(frozen=True, slots=True)
class GuildSettings:
    """One guild's settings. Shared by the cache between callers: treat it as read-only."""

    guild_id: int
    """The guild (a Discord snowflake)."""
    feature_overrides: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    """Features this guild turned on (``True``) or off (``False``); others have their default."""
    settings: Mapping[str, JsonValue] = dataclasses.field(default_factory=dict)
    """Settings by key (usually a feature's name), each any JSON value."""
    updated_at: datetime | None = None
    """When it last changed; ``None`` for a guild never configured (all defaults)."""

    def is_enabled(self, feature: str, *, is_on_by_default: bool = False) -> bool:
        """Return whether ``feature`` is on: this guild's override, else the feature's default."""
        return self.feature_overrides.get(feature, is_on_by_default)

    def enabled_features(self, defaults: Mapping[str, bool]) -> frozenset[str]:
        """Return the features that are on, among ``defaults`` (every known feature's default)."""
        return frozenset(
            feature
            for feature, is_on_by_default in defaults.items()
            if self.is_enabled(feature, is_on_by_default=is_on_by_default)
        )

    def setting(self, key: str, default: JsonValue = None) -> JsonValue:
        """Return the setting stored under ``key``, or ``default`` when there is none."""
        return self.settings.get(key, default)


class GuildSettingsRepository(Protocol):
    """Reads and changes guilds' settings; every change returns the guild's new settings."""

    async def get(self, guild_id: int) -> GuildSettings:
        """Return the guild's settings (the defaults when it has none stored)."""
        ...

    async def set_setting(self, guild_id: int, key: str, value: JsonValue) -> GuildSettings:
        """Store ``value`` under ``key``, replacing only that key."""
        ...

    async def enable_feature(self, guild_id: int, feature: str) -> GuildSettings:
        """Turn ``feature`` on for the guild, whatever its default."""
        ...

    async def disable_feature(self, guild_id: int, feature: str) -> GuildSettings:
        """Turn ``feature`` off for the guild, whatever its default."""
        ...


def check_guild_id(guild_id: int) -> int:
    """Return ``guild_id``, or raise ValueError when it cannot be a Discord snowflake."""
    if not 0 < guild_id <= _SNOWFLAKE_MAX:
        raise ValueError(f"guild id must be a positive 64-bit snowflake, got {guild_id}")
    return guild_id


def check_feature_name(feature: str) -> str:
    """Return ``feature``, or raise ValueError when it is not a feature name (``snake_case``)."""
    if not _FEATURE_NAME.match(feature):
        raise ValueError(
            f"feature name {feature!r} must be lowercase snake case, at most 32 characters"
        )
    return feature


def check_setting_key(key: str) -> str:
    """Return ``key``, or raise ValueError when it is empty or too long."""
    if not key or len(key) > _SETTING_KEY_MAX:
        raise ValueError(f"setting key must have 1 to {_SETTING_KEY_MAX} characters, got {key!r}")
    return key


def invalidation_message(guild_id: int) -> bytes:
    """Encode the pub/sub message announcing that ``guild_id``'s settings changed."""
    return str(guild_id).encode()


def guild_id_from_message(data: bytes | str) -> int | None:
    """Decode an invalidation message; ``None`` when it is not one."""
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    if not text.isascii() or not text.isdigit():
        return None
    guild_id = int(text)
    return guild_id if 0 < guild_id <= _SNOWFLAKE_MAX else None
