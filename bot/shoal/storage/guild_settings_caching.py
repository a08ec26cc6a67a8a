"""Guild settings cached in-process, kept coherent across pods through Redis pub/sub.

Owns :class:`CachedGuildSettingsRepository`: a TTL and LRU bounded cache over any
:class:`~shoal.storage.guild_settings.GuildSettingsRepository`. Every change made through
it is published (the guild id) on ``RedisKeys.guild_settings_channel()``; every pod's
listener drops that guild's entry, its own included. The cache holds nothing it cannot
trust: it stores only while the subscription is live, forgets everything when messages
may have been lost (see `shoal.storage.invalidation_listening`), and never stores a read
that an invalidation overtook. Concurrent misses for one guild share one read.

Does not own the storage (see `shoal.storage.guild_settings_repository`) nor the rules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from typing import TYPE_CHECKING, Final

import redis.exceptions
from typing_extensions import override

from shoal.storage.bounded_cache import TtlLruCache
from shoal.storage.guild_settings import (
    GuildSettings,
    GuildSettingsRepository,
    guild_id_from_message,
    invalidation_message,
)
from shoal.storage.invalidation_listening import InvalidationListener

if TYPE_CHECKING:
    from collections.abc import Callable

    import redis.asyncio as redis_asyncio

    from shoal.storage.guild_settings import JsonValue

__all__ = ["DEFAULT_MAX_ENTRIES", "DEFAULT_TTL_S", "CachedGuildSettingsRepository"]

_log = logging.getLogger(__name__)

#: A backstop only: invalidations and gap detection keep entries fresh, so the TTL bounds
#: what a bug in either could cost, not normal staleness.
DEFAULT_TTL_S: Final = 300.0
#: About the guilds of four shards; at well under 1 kB an entry, a few MB at most.
DEFAULT_MAX_ENTRIES: Final = 10_000


@dataclasses.dataclass(slots=True)
class _Load:
    """A read of one guild from the backing, shared by every concurrent miss."""

    task: asyncio.Task[GuildSettings]
    is_stale: bool = False
    """An invalidation arrived during the read: its result must not be cached."""


class CachedGuildSettingsRepository(GuildSettingsRepository):
    """Caches ``backing`` in-process; :meth:`start` it, :meth:`close` it when done.

    Before :meth:`start` (and after :meth:`close`) it caches nothing: every read goes to
    ``backing``, as no invalidation could reach a cached entry.
    """

    __slots__ = ("_backing", "_cache", "_channel", "_clock", "_listener", "_loads", "_redis")

    def __init__(
        self,
        backing: GuildSettingsRepository,
        *,
        redis: redis_asyncio.Redis,
        channel: str,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Cache ``backing``; announce and hear changes on ``channel`` of ``redis``.

        Args:
            backing: Where settings live (usually PostgreSQL).
            redis: The shared Redis client; the listener takes one connection of its pool.
            channel: ``RedisKeys(namespace).guild_settings_channel()``.
            ttl_s: Seconds an entry lives at most.
            max_entries: Guilds held at most; the least recently read go first.
            clock: Monotonic seconds (tests pass their own).
        """
        self._backing = backing
        self._redis = redis
        self._channel = channel
        self._clock = clock
        self._cache: TtlLruCache[int, GuildSettings] = TtlLruCache(
            ttl_s=ttl_s, max_entries=max_entries
        )
        self._loads: dict[int, _Load] = {}
        self._listener = InvalidationListener(
            redis, channel, on_message=self._heard, on_gap=self.invalidate_all
        )

    async def start(self) -> None:
        """Subscribe to invalidations; returns once Redis confirmed the subscription.

        Raises:
            redis.exceptions.RedisError: Redis is unreachable or did not confirm in time.
        """
        await self._listener.start()

    async def close(self) -> None:
        """Stop listening, cancel reads in flight and forget everything."""
        await self._listener.close()
        loads = [load.task for load in self._loads.values()]
        for task in loads:
            task.cancel()
        await asyncio.gather(*loads, return_exceptions=True)
        self.invalidate_all()

    def invalidate(self, guild_id: int) -> None:
        """Forget ``guild_id`` in this process only (a read in flight is not cached)."""
        self._cache.discard(guild_id)
        load = self._loads.pop(guild_id, None)
        if load is not None:
            load.is_stale = True  # and later misses start a fresh read

    def invalidate_all(self) -> None:
        """Forget every guild in this process only."""
        self._cache.clear()
        for load in self._loads.values():
            load.is_stale = True
        self._loads.clear()

    def peek(self, guild_id: int) -> GuildSettings | None:
        """Return the guild's settings when this process holds them, without any I/O.

        For hot paths that would otherwise await a read per guild: on None, :meth:`get`.
        """
        return self._cache.get(guild_id, now_s=self._clock())

    @override
    async def get(self, guild_id: int) -> GuildSettings:
        cached = self._cache.get(guild_id, now_s=self._clock())
        if cached is not None:
            return cached
        load = self._loads.get(guild_id)
        if load is None:
            load = _Load(asyncio.create_task(self._backing.get(guild_id)))
            self._loads[guild_id] = load
            load.task.add_done_callback(functools.partial(self._loaded, guild_id, load))
        # Shielded: a caller that gives up does not cancel the read others wait for.
        return await asyncio.shield(load.task)

    @override
    async def set_setting(self, guild_id: int, key: str, value: JsonValue) -> GuildSettings:
        return await self._announce(await self._backing.set_setting(guild_id, key, value))

    @override
    async def enable_feature(self, guild_id: int, feature: str) -> GuildSettings:
        return await self._announce(await self._backing.enable_feature(guild_id, feature))

    @override
    async def disable_feature(self, guild_id: int, feature: str) -> GuildSettings:
        return await self._announce(await self._backing.disable_feature(guild_id, feature))

    def _loaded(self, guild_id: int, load: _Load, task: asyncio.Task[GuildSettings]) -> None:
        if self._loads.get(guild_id) is load:
            del self._loads[guild_id]
        if task.cancelled() or task.exception() is not None or load.is_stale:
            return
        if self._listener.is_subscribed:  # otherwise no invalidation could reach the entry
            self._cache.put(guild_id, task.result(), now_s=self._clock())

    async def _announce(self, settings: GuildSettings) -> GuildSettings:
        # Not cached here: a later change from another pod may already be committed.
        self.invalidate(settings.guild_id)
        try:
            await self._redis.publish(self._channel, invalidation_message(settings.guild_id))
        except (redis.exceptions.RedisError, OSError) as exc:
            _log.warning(
                "guild %d settings changed but other pods were not told (%s); "
                "their caches refresh when Redis is back or within the TTL",
                settings.guild_id,
                exc,
                extra={"guild_id": settings.guild_id},
            )
        return settings

    def _heard(self, data: bytes) -> None:
        guild_id = guild_id_from_message(data)
        if guild_id is None:
            _log.warning("ignored a malformed message on %s: %r", self._channel, data[:64])
            return
        self.invalidate(guild_id)
