"""Guild counts: what a gateway event does to a shard's count, and which generation to total.

Pure: the worker counts from raw payloads with no cache (``shoal.gateway.counting``); the
registry reader, the operator and ``shoal status`` total the counts. Does not own how
counts are stored (``shoal.storage.shard_registry``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

__all__ = ["GUILD_COUNT_EVENTS", "generation_to_total", "guild_count_after"]

#: The only dispatches that change a shard's guild count.
GUILD_COUNT_EVENTS: Final = frozenset({"READY", "GUILD_CREATE", "GUILD_DELETE"})


def guild_count_after(count: int, event_name: str, payload: Mapping[str, object]) -> int:
    """Return a shard's guild count after the dispatch ``event_name`` with ``payload``.

    READY lists every guild of the session (as unavailable stubs), so it sets the count.
    GUILD_CREATE without an ``unavailable`` key is a join; with it, a guild of READY
    becoming available (already counted). GUILD_DELETE with ``unavailable: true`` is an
    outage, not a leave.
    """
    if event_name == "READY":
        guilds = payload.get("guilds")
        return len(guilds) if isinstance(guilds, list) else count
    if event_name == "GUILD_CREATE" and "unavailable" not in payload:
        return count + 1
    if event_name == "GUILD_DELETE" and not payload.get("unavailable"):
        return max(0, count - 1)
    return count


def generation_to_total(active: int | None, generations: Collection[int]) -> int | None:
    """Return the generation whose shards' guild counts make the bot's total.

    Every generation covers every guild, so adding two would count each guild twice.
    The active generation (set by the operator) wins; with none set or none of its
    shards registered, the newest registered one; None when nothing is registered.
    """
    if active is not None and active in generations:
        return active
    return max(generations, default=None)
