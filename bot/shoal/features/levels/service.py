"""The levels feature's services on the kit: grants, level-ups, rewards, avatars, rank cards.

Owns :class:`LevelsService`, which its commands and listeners share: the ledger (XP in
Redis, PostgreSQL as the record), the message tap (the hot path), the flusher, and what
a level-up does:

- **announce** it once (the grant that crossed the level is the only one that reports it,
  on whichever worker ran it) in the configured channel or the message's, with mentions
  limited to the member (a template holding ``@everyone`` pings no one);
- **reward** it: the member's full new role list (stack or replace) in ONE member PATCH,
  only with roles the bot can manage (below its highest role, no dangerous permission);
  a reward it cannot give is logged with the fix, never sent to fail with 50013.

Avatars come from the CDN (``kit.cdn_url``: Discord's or the simulator's) with a short
timeout and a size cap; a missing or failing avatar gives the default one drawn on the card.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

import aiohttp
import asyncpg
import hikari
import redis.exceptions

from shoal.features.levels.flushing import FlushLeaseTimeoutError, XpFlusher
from shoal.features.levels.ledger import XpLedger
from shoal.features.levels.metrics import LevelsMetrics
from shoal.features.levels.rules import announcement_channel, render_announcement, reward_roles
from shoal.features.levels.settings import LevelsSettings
from shoal.features.levels.tap import LevelsTap

if TYPE_CHECKING:
    from shoal.features.levels.tap import LevelUp
    from shoal.kit.messages import MessageFacts
    from shoal.kit.services import FeatureKit

__all__ = ["FEATURE", "LevelsService"]

_log = logging.getLogger(__name__)

FEATURE: Final = "levels"
_OUTAGES: Final = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    redis.exceptions.RedisError,
    OSError,
    FlushLeaseTimeoutError,
)
_AVATAR_TIMEOUT_S: Final = 2.0
_AVATAR_MAX_BYTES: Final = 1 << 20


class LevelsService:
    """Everything the levels commands and listeners share (see the module docstring)."""

    def __init__(self, kit: FeatureKit) -> None:
        """Keep ``kit``; the clients are made on first use (a declaring kit has none)."""
        self.kit: Final = kit
        self._ledger: XpLedger | None = None
        self._tap: LevelsTap | None = None
        self._flusher: XpFlusher | None = None
        self._http: aiohttp.ClientSession | None = None
        self._flush_failing = False
        self._metrics: LevelsMetrics | None = None

    @property
    def ledger(self) -> XpLedger:
        """XP, ranks and the board."""
        if self._ledger is None:
            self._ledger = XpLedger(
                self.kit.redis, self.kit.keys, self.kit.postgres, flusher=self.flusher
            )
        return self._ledger

    @property
    def flusher(self) -> XpFlusher:
        """Moves granted XP from Redis to PostgreSQL, exactly once."""
        if self._flusher is None:
            self._flusher = XpFlusher(self.kit.redis, self.kit.keys, self.kit.postgres)
        return self._flusher

    @property
    def metrics(self) -> LevelsMetrics:
        """The ``shoal_levels_*`` series (registered on first use: a declaring kit has none)."""
        if self._metrics is None:
            self._metrics = LevelsMetrics(self.kit.metrics.registry)
        return self._metrics

    @property
    def tap(self) -> LevelsTap:
        """The hot path: messages offered, grants batched."""
        if self._tap is None:
            metrics = self.metrics
            tap = LevelsTap(
                self.ledger,
                self.settings_of,
                self.is_enabled,
                self.on_level_up,
                clock=self.kit.clock.now,
                on_granted=metrics.grants.inc,
                peek=self.peek,
            )
            metrics.watch_queue(lambda: tap.queued, lambda: tap.dropped)
            self._tap = tap
        return self._tap

    def offer(self, facts: MessageFacts) -> None:
        """The message tap: hand one message's facts to the hot path."""
        self.tap.offer(facts)

    async def settings_of(self, guild_id: int) -> LevelsSettings:
        """Return the guild's levels settings."""
        return await self.kit.settings.get(guild_id, LevelsSettings, FEATURE)

    def peek(self, guild_id: int) -> tuple[bool, LevelsSettings] | None:
        """Return whether levels is on in the guild and its settings, if held (no I/O)."""
        return self.kit.settings.peek(guild_id, LevelsSettings, FEATURE, is_on_by_default=True)

    async def is_enabled(self, guild_id: int) -> bool:
        """Return whether levels is on in the guild."""
        return await self.kit.settings.is_enabled(guild_id, FEATURE, is_on_by_default=True)

    async def start(self) -> None:
        """Start the hot path's drain."""
        await self.tap.start()

    async def member_left(self, event: hikari.MemberDeleteEvent) -> None:
        """A member left (or was kicked or banned): they drop off the board."""
        await self.ledger.member_left(int(event.guild_id), int(event.user_id))

    async def member_joined(self, event: hikari.MemberCreateEvent) -> None:
        """A member (re)joined: their XP, if any, is back on the board."""
        await self.ledger.member_joined(int(event.guild_id), int(event.user_id))

    async def stop(self) -> None:
        """Drain what was offered into Redis, flush it to PostgreSQL, close the HTTP session."""
        if self._tap is not None:
            await self._tap.stop()
        if self._flusher is not None:
            await self.flush()
        if self._http is not None:
            await self._http.close()

    async def flush(self) -> None:
        """Move granted XP to PostgreSQL (the periodic job's body).

        A server that cannot be reached is reported once (and its return once): the XP
        waits in Redis and the next run moves it, so an outage is no flood of errors.
        """
        try:
            result = await self.flusher.flush()
        except _OUTAGES as error:
            self.metrics.flush_failures.inc()
            if not self._flush_failing:
                self._flush_failing = True
                # INFO: the outage itself is one WARNING from the server's health.
                _log.info(
                    "XP cannot be flushed to PostgreSQL (%s); it waits in Redis and is "
                    "flushed when the servers answer",
                    type(error).__name__,
                )
            return
        self.metrics.flushed_rows.inc(result.rows)
        if self._flush_failing:
            self._flush_failing = False
            _log.info("XP is flushed to PostgreSQL again")

    async def on_level_up(self, up: LevelUp) -> None:
        """Announce a level-up and give its rewards."""
        self.metrics.level_ups.inc()
        settings = await self.settings_of(up.guild_id)
        await asyncio.gather(self._announce(up, settings), self._reward(up, settings))

    async def _announce(self, up: LevelUp, settings: LevelsSettings) -> None:
        channel_id = announcement_channel(settings, up.channel_id)
        if channel_id is None:
            return
        mention = f"<@{up.user_id}>"
        text = render_announcement(
            settings.announce_template, user_mention=mention, name=mention, level=up.new_level
        )
        try:
            await self.kit.rest.create_message(
                channel_id,
                text,
                user_mentions=[up.user_id],
                role_mentions=False,
                mentions_everyone=False,
            )
        except hikari.HTTPError as error:
            _log.warning(
                "could not announce level %d of user %d in channel %d: %s",
                up.new_level,
                up.user_id,
                channel_id,
                error,
                extra={"guild_id": up.guild_id},
            )

    async def _reward(self, up: LevelUp, settings: LevelsSettings) -> None:
        if not settings.level_roles:
            return
        roles = reward_roles(
            up.role_ids, up.new_level, settings.level_roles, is_stacking=settings.stack_rewards
        )
        if roles is None:
            return
        await self.apply_roles(
            up.guild_id, up.user_id, up.role_ids, roles, reason=f"Level {up.new_level} reward"
        )

    async def apply_roles(
        self,
        guild_id: int,
        user_id: int,
        current: tuple[int, ...],
        wanted: tuple[int, ...],
        *,
        reason: str,
    ) -> bool:
        """PATCH the member's roles to ``wanted`` once, leaving out roles the bot cannot give.

        Returns whether a PATCH was sent and accepted.
        """
        standing = await self.kit.roles.of(guild_id)
        refused = sorted(r for r in set(wanted) ^ set(current) if standing.refusal(r) is not None)
        if refused:
            _log.warning(
                "%s for user %d leaves out roles %s: deleted, managed, dangerous, or not "
                "below the bot's highest role (drag the bot's role above them)",
                reason,
                user_id,
                refused,
                extra={"guild_id": guild_id},
            )
        kept = {r for r in current if r in refused}  # what it cannot remove stays as it is
        final = tuple(dict.fromkeys([*(r for r in wanted if r not in refused), *kept]))
        if set(final) == set(current):
            return False
        try:
            await self.kit.rest.edit_member(guild_id, user_id, roles=final, reason=reason)
        except hikari.HTTPError as error:
            _log.warning(
                "could not give roles to user %d: %s", user_id, error, extra={"guild_id": guild_id}
            )
            return False
        return True

    async def avatar(self, user: hikari.User) -> bytes | None:
        """Return the user's avatar PNG from the CDN, or None (the card draws a default)."""
        url = self.kit.avatar_url(int(user.id), user.avatar_hash, size=256)
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=_AVATAR_TIMEOUT_S)
            )
        try:
            async with self._http.get(url) as response:
                if response.status != 200:  # noqa: PLR2004 - HTTP OK
                    return None
                body = await response.content.read(_AVATAR_MAX_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError):
            return None
        return body if len(body) <= _AVATAR_MAX_BYTES else None
