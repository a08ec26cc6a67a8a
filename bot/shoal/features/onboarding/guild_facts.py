"""What onboarding knows of a guild from Discord itself: membership screening and its name.

Workers keep no guild cache (hikari's cache is off), yet a member event without its
``pending`` field can only be judged knowing whether the guild has membership screening
(``MEMBER_VERIFICATION_GATE_ENABLED``, see `shoal.features.onboarding.rules.is_still_pending`).
:class:`GuildFactsStore` keeps that fact, with the guild's name (the welcome message's
``{server}``), in Redis, shared by every worker and generation: written from the guild's
own events (GUILD_CREATE when a shard connects or the bot joins, GUILD_UPDATE when an
admin changes it), read only when a decision needs it. A guild Redis does not know
(expired, lost, or never seen by the active generation) is fetched once through REST and
written back; when neither answers, the guild counts as screened with no name: the safe
side (no role until an event says ``pending: false``).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Final

import hikari
import orjson
import redis.exceptions

if TYPE_CHECKING:
    from collections.abc import Collection

    from shoal.kit.services import FeatureKit

__all__ = ["FACTS_TTL_S", "VERIFICATION_GATE", "GuildFacts", "GuildFactsStore", "facts_of"]

_log = logging.getLogger(__name__)

VERIFICATION_GATE: Final = "MEMBER_VERIFICATION_GATE_ENABLED"
"""The guild feature of membership screening."""
FACTS_TTL_S: Final = 7 * 24 * 3600
"""How long a guild's facts stay in Redis: every GUILD_CREATE (each shard connect) renews it."""
_FEATURE: Final = "onboarding"
_UNKNOWN: Final = "this server"


@dataclasses.dataclass(frozen=True, slots=True)
class GuildFacts:
    """A guild, as much as onboarding needs from Discord."""

    has_screening: bool
    """The guild has membership screening (new members start ``pending``)."""
    name: str
    """Its name (``this server`` when it could not be learned)."""


def facts_of(features: Collection[str], name: str) -> GuildFacts:
    """Return the facts of a guild with ``features`` and ``name``. Pure."""
    return GuildFacts(has_screening=VERIFICATION_GATE in {str(f) for f in features}, name=name)


class GuildFactsStore:
    """Guild facts in Redis, learned from events, fetched through REST when missing."""

    __slots__ = ("_kit",)

    def __init__(self, kit: FeatureKit) -> None:
        """Use ``kit``'s Redis, keys and REST (asked for on first use)."""
        self._kit = kit

    def _key(self, guild_id: int) -> str:
        return self._kit.keys.feature(_FEATURE, "guild", guild_id)

    async def remember(self, guild: hikari.GatewayGuild) -> None:
        """Store what a GUILD_CREATE or GUILD_UPDATE says of ``guild``."""
        await self._write(int(guild.id), facts_of(guild.features, guild.name))

    async def get(self, guild_id: int) -> GuildFacts:
        """Return the guild's facts: from Redis, else from REST, else the safe default."""
        try:
            raw = await self._kit.redis.get(self._key(guild_id))
        except (redis.exceptions.RedisError, OSError):
            raw = None
        if raw is not None:
            try:
                stored = orjson.loads(raw)
                return GuildFacts(bool(stored["screening"]), str(stored["name"]))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                pass  # written by another version: fetch it again
        try:
            guild = await self._kit.rest.fetch_guild(guild_id)
        except hikari.HTTPError as error:
            _log.warning(
                "could not learn whether guild %d has membership screening (%s); treating "
                "members without a pending field as pending",
                guild_id,
                error,
                extra={"guild_id": guild_id},
            )
            return GuildFacts(has_screening=True, name=_UNKNOWN)
        facts = facts_of(guild.features, guild.name)
        await self._write(guild_id, facts)
        return facts

    async def _write(self, guild_id: int, facts: GuildFacts) -> None:
        body = orjson.dumps({"screening": facts.has_screening, "name": facts.name})
        try:
            await self._kit.redis.set(self._key(guild_id), body, ex=FACTS_TTL_S)
        except (redis.exceptions.RedisError, OSError) as error:
            # INFO: the outage itself is one WARNING from Redis's health; REST answers meanwhile.
            _log.info("guild %d facts not stored: %s", guild_id, type(error).__name__)
