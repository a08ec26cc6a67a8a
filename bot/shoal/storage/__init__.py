"""Storage: the PostgreSQL pool and migrations, the Redis client, every Redis key name."""

from __future__ import annotations

__all__: list[str] = []
