"""The shard worker's gateway side: the bot, identify gate, sessions, registry, REST limit."""

from __future__ import annotations

__all__: list[str] = []
