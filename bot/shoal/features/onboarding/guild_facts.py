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

Guilds are learned from the raw dispatch (a guild tap, see ``shoal.kit.guilds``): a
shard's connect brings a GUILD_CREATE per guild, thousands in a second, and
:meth:`GuildFactsStore.learn` only queues them; one writer task stores what is queued in
pipelines of up to 500, so a connect costs a few round trips, and a Redis outage a few
failed connection attempts and one log line per batch, not one per guild (a chaos run
showed 1,700 failing writes, each after a settings read, holding the event loop for
seconds, so that commands missed their 3 s window).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from typing import TYPE_CHECKING, Final

import hikari
import orjson
import redis.exceptions

if TYPE_CHECKING:
    from collections.abc import Collection

    from shoal.kit.guilds import GuildSeen
    from shoal.kit.services import FeatureKit

__all__ = ["FACTS_TTL_S", "VERIFICATION_GATE", "GuildFacts", "GuildFactsStore", "facts_of"]

_log = logging.getLogger(__name__)

VERIFICATION_GATE: Final = "MEMBER_VERIFICATION_GATE_ENABLED"
"""The guild feature of membership screening."""
FACTS_TTL_S: Final = 7 * 24 * 3600
"""How long a guild's facts stay in Redis: every GUILD_CREATE (each shard connect) renews it."""
_FEATURE: Final = "onboarding"
_UNKNOWN: Final = "this server"
_BATCH: Final = 500
"""Facts per pipeline: big enough for a shard's connect, small enough for one round trip."""


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

    __slots__ = ("_kit", "_pending", "_writer")

    def __init__(self, kit: FeatureKit) -> None:
        """Use ``kit``'s Redis, keys and REST (asked for on first use)."""
        self._kit = kit
        self._pending: dict[int, bytes] = {}
        self._writer: asyncio.Task[None] | None = None

    def _key(self, guild_id: int) -> str:
        return self._kit.keys.feature(_FEATURE, "guild", guild_id)

    def learn(self, seen: GuildSeen) -> None:
        """Queue what a GUILD_CREATE or GUILD_UPDATE says of its guild (a guild tap)."""
        self.queue(seen.guild_id, facts_of(seen.features, seen.name))

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
        self.queue(guild_id, facts)
        return facts

    def queue(self, guild_id: int, facts: GuildFacts) -> None:
        """Queue ``facts`` for the writer task (started when none runs). Never raises.

        Facts Redis cannot take are logged (once per batch) and fetched through REST when
        a decision needs them. Call from the event loop.
        """
        self._pending[guild_id] = orjson.dumps(
            {"screening": facts.has_screening, "name": facts.name}
        )
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_queued())

    async def flush(self) -> None:
        """Wait until everything queued so far is written (or given up): tests, shutdown."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait((self._writer,))  # the writer's own fate is not the caller's

    async def _write_queued(self) -> None:
        while self._pending:
            batch = dict(itertools.islice(self._pending.items(), _BATCH))
            for written in batch:
                del self._pending[written]
            await self._write_batch(batch)

    async def _write_batch(self, batch: dict[int, bytes]) -> None:
        pipeline = self._kit.redis.pipeline(transaction=False)
        for guild_id, body in batch.items():
            pipeline.set(self._key(guild_id), body, ex=FACTS_TTL_S)
        try:
            await pipeline.execute()
        except (redis.exceptions.RedisError, OSError) as error:
            # INFO: the outage itself is one WARNING from Redis's health; REST answers meanwhile.
            _log.info(
                "facts of %d guild(s) not stored: %s; they are fetched through REST when needed",
                len(batch),
                type(error).__name__,
            )
