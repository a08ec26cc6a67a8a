"""What the levels tests look at directly: the rows in PostgreSQL, the keys in Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from shoal.features.levels.keys import FEATURE

if TYPE_CHECKING:
    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

__all__ = ["drop_levels_keys", "stored_xp"]

_UNLINK_BATCH: Final = 500


async def drop_levels_keys(redis: Redis, keys: RedisKeys) -> int:
    """Unlink every levels key of the namespace (what losing Redis's data does to it)."""
    pattern = keys.feature(FEATURE) + ":*"
    found = [key async for key in redis.scan_iter(match=pattern, count=_UNLINK_BATCH)]
    for start in range(0, len(found), _UNLINK_BATCH):
        await redis.unlink(*found[start : start + _UNLINK_BATCH])
    return len(found)


async def stored_xp(pool: asyncpg.Pool[asyncpg.Record], guild_id: int) -> dict[int, int]:
    """Return user id -> XP of the guild's rows in PostgreSQL."""
    rows = await pool.fetch("SELECT user_id, xp FROM levels_members WHERE guild_id = $1", guild_id)
    return {row["user_id"]: row["xp"] for row in rows}
