"""Guild settings stored in PostgreSQL (the ``guild_settings`` table of core's migrations).

Owns the queries: every change is one atomic upsert (no read-modify-write, so two pods
changing different flags or keys of one guild never lose either change), and JSONB
travels as text, decoded here, so any asyncpg pool works. Does not own the rules or the
value (see `shoal.storage.guild_settings`) nor caching (see
`shoal.storage.guild_settings_caching`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import orjson
from typing_extensions import override

from shoal.storage.guild_settings import (
    GuildSettings,
    GuildSettingsRepository,
    JsonValue,
    check_feature_name,
    check_guild_id,
    check_setting_key,
)

if TYPE_CHECKING:
    import asyncpg

__all__ = ["PostgresGuildSettingsRepository"]

_COLUMNS: Final = "guild_id, features::text AS features, settings::text AS settings, updated_at"
_SELECT: Final = f"SELECT {_COLUMNS} FROM guild_settings WHERE guild_id = $1"  # noqa: S608 - constants only
#: Merge one flag into the guild's overrides (``||`` replaces that key only).
_SET_FEATURE: Final = f"""
INSERT INTO guild_settings AS stored (guild_id, features)
VALUES ($1, jsonb_build_object($2::text, $3::boolean))
ON CONFLICT (guild_id) DO UPDATE
SET features = stored.features || EXCLUDED.features, updated_at = now()
RETURNING {_COLUMNS}
"""  # noqa: S608 - constants only
#: Merge one key into the guild's settings; the value arrives as JSON text.
_SET_SETTING: Final = f"""
INSERT INTO guild_settings AS stored (guild_id, settings)
VALUES ($1, jsonb_build_object($2::text, $3::text::jsonb))
ON CONFLICT (guild_id) DO UPDATE
SET settings = stored.settings || EXCLUDED.settings, updated_at = now()
RETURNING {_COLUMNS}
"""  # noqa: S608 - constants only


class PostgresGuildSettingsRepository(GuildSettingsRepository):
    """Guild settings in the ``guild_settings`` table, read and written through ``pool``."""

    __slots__ = ("_pool",)

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        """Use ``pool`` (its current schema holds the table)."""
        self._pool = pool

    @override
    async def get(self, guild_id: int) -> GuildSettings:
        row = await self._pool.fetchrow(_SELECT, check_guild_id(guild_id))
        return GuildSettings(guild_id) if row is None else _from_row(row)

    @override
    async def set_setting(self, guild_id: int, key: str, value: JsonValue) -> GuildSettings:
        encoded = orjson.dumps(value).decode()  # raises TypeError for a non-JSON value
        row = await self._pool.fetchrow(
            _SET_SETTING, check_guild_id(guild_id), check_setting_key(key), encoded
        )
        return _from_row(_returned(row))

    @override
    async def enable_feature(self, guild_id: int, feature: str) -> GuildSettings:
        return await self._set_feature(guild_id, feature, is_enabled=True)

    @override
    async def disable_feature(self, guild_id: int, feature: str) -> GuildSettings:
        return await self._set_feature(guild_id, feature, is_enabled=False)

    async def _set_feature(self, guild_id: int, feature: str, *, is_enabled: bool) -> GuildSettings:
        row = await self._pool.fetchrow(
            _SET_FEATURE, check_guild_id(guild_id), check_feature_name(feature), is_enabled
        )
        return _from_row(_returned(row))


def _returned(row: asyncpg.Record | None) -> asyncpg.Record:
    if row is None:  # an upsert with RETURNING always returns its row
        raise RuntimeError("guild_settings upsert returned no row")
    return row


def _from_row(row: asyncpg.Record) -> GuildSettings:
    features = orjson.loads(row["features"])
    settings = orjson.loads(row["settings"])
    return GuildSettings(
        guild_id=row["guild_id"],
        feature_overrides={k: v for k, v in features.items() if isinstance(v, bool)},
        settings=settings,
        updated_at=row["updated_at"],
    )
