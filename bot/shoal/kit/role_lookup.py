"""The bot's standing in a guild's role list, fetched through REST and cached briefly.

Every feature that gives roles (level rewards, onboarding, role menus, moderation) checks
the role against the bot's highest role and permissions right before the REST call, so a
role moved above the bot since it was configured is refused with a message instead of
failing with 50013. :class:`RoleLookup` fetches the guild's roles and the bot's member
once per guild per ``ttl_s`` (concurrent lookups share one fetch) and :meth:`forget` drops
a guild after a role change the bot heard of.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Final

from shoal.kit.roles import (
    RoleFacts,
    combined_permissions,
    everyone_permissions,
    from_hikari,
    self_role_refusal,
    top_position,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import hikari

    from shoal.kit.roles import Refusal

__all__ = ["DEFAULT_TTL_S", "BotRoles", "RoleLookup"]

DEFAULT_TTL_S: Final = 30.0


@dataclasses.dataclass(frozen=True, slots=True)
class BotRoles:
    """A guild's roles and where the bot stands among them."""

    roles: dict[int, RoleFacts]
    """Every role by id (@everyone included)."""
    top: RoleFacts | None
    """The bot's highest role (None: it has none, so it can give no role)."""
    permissions: int
    """The bot's guild-wide permissions."""

    def refusal(self, role_id: int) -> Refusal | str | None:
        """Return why the bot may not give ``role_id`` (a text for a deleted role), or None."""
        role = self.roles.get(role_id)
        if role is None:
            return "That role no longer exists: it was deleted."
        return self_role_refusal(
            role,
            bot_top=self.top,
            bot_permissions=self.permissions,
            everyone=everyone_permissions(self.roles.values()),
        )


class RoleLookup:
    """Cached :class:`BotRoles` per guild (see the module docstring)."""

    __slots__ = ("_cache", "_clock", "_fetches", "_me", "_rest", "_ttl_s")

    def __init__(
        self,
        rest: hikari.api.RESTClient,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Fetch through ``rest``; keep each guild's answer ``ttl_s``."""
        self._rest = rest
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[int, tuple[float, BotRoles]] = {}
        self._fetches: dict[int, asyncio.Task[BotRoles]] = {}
        self._me: int | None = None

    async def of(self, guild_id: int) -> BotRoles:
        """Return the bot's roles in ``guild_id`` (fetched at most once per ``ttl_s``)."""
        cached = self._cache.get(guild_id)
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        fetch = self._fetches.get(guild_id)
        if fetch is None:
            fetch = self._fetches[guild_id] = asyncio.create_task(self._fetch(guild_id))
            fetch.add_done_callback(lambda _: self._fetches.pop(guild_id, None))
        return await asyncio.shield(fetch)

    def forget(self, guild_id: int) -> None:
        """Drop what is known of ``guild_id`` (a role was created, edited or deleted)."""
        self._cache.pop(guild_id, None)

    async def _fetch(self, guild_id: int) -> BotRoles:
        fetched = await self._rest.fetch_roles(guild_id)
        roles = {facts.id: facts for facts in map(from_hikari, fetched)}
        if self._me is None:
            self._me = int((await self._rest.fetch_my_user()).id)
        # GET /guilds/{id}/members/{bot}: /users/@me/guilds/{id}/member is for OAuth2 tokens.
        me = await self._rest.fetch_member(guild_id, self._me)
        held = [int(role_id) for role_id in me.role_ids]
        found = BotRoles(
            roles=roles,
            top=top_position(held, roles.values()),
            permissions=combined_permissions(held, roles.values()),
        )
        self._cache[guild_id] = (self._clock(), found)
        return found
