"""Storage: the PostgreSQL pool and migrations, the Redis client, every Redis key name.

Also per-guild settings with feature flags (``guild_settings*``), cached in-process and
invalidated across pods through Redis pub/sub.
"""

from __future__ import annotations

__all__: list[str] = []
