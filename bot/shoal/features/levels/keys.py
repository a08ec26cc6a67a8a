"""Every Redis key of the levels feature, and how ids are written into them.

Owns the key names (all through `RedisKeys.feature`, so they share the bot's hash slot and
``SCAN shoal:{ns}:f:levels:*`` finds them) and two encodings:

- a board member is ``2**64 - 1 - user_id`` as 20 zero-padded digits: Redis orders equal
  scores by member, and ``ZREVRANGE`` reverses that order, so the inverted id makes ties
  come out by user id *ascending*, the order of PostgreSQL's ``(xp DESC, user_id)`` index;
- a dirty field is ``"<guild_id>:<user_id>"`` in decimal.

Ids travel to Lua as these strings: Lua's numbers are doubles and cannot hold a snowflake.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from shoal.storage.redis_keys import RedisKeys

__all__ = [
    "FEATURE",
    "LevelsKeys",
    "board_member",
    "dirty_field",
    "parse_dirty_field",
    "text_of",
    "user_of_member",
]

#: The feature's name in key names (and its migrations' module name).
FEATURE: Final = "levels"
_INVERT: Final = 2**64 - 1
_MEMBER_DIGITS: Final = 20


def board_member(user_id: int) -> str:
    """Return the board member of ``user_id`` (its inverted id, zero-padded)."""
    if not 0 <= user_id <= _INVERT:
        raise ValueError(f"{user_id} is not a user id")
    return f"{_INVERT - user_id:0{_MEMBER_DIGITS}d}"


def user_of_member(member: bytes | str) -> int:
    """Return the user id of a board member (see :func:`board_member`)."""
    return _INVERT - int(member)


def text_of(raw: object) -> str:
    """Return a Redis reply (bytes from Shoal's clients) as text."""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def dirty_field(guild_id: int, user_id: int) -> str:
    """Return the dirty hash field of a member: ``"<guild_id>:<user_id>"``."""
    return f"{guild_id}:{user_id}"


def parse_dirty_field(field: bytes | str) -> tuple[int, int]:
    """Return ``(guild_id, user_id)`` of a dirty hash field."""
    guild, _, user = text_of(field).partition(":")
    return int(guild), int(user)


@dataclasses.dataclass(frozen=True, slots=True)
class LevelsKeys:
    """The levels feature's keys in one bot's namespace."""

    keys: RedisKeys

    def board(self, guild_id: int) -> str:
        """Sorted set of a guild's members with XP (score: XP; member: :func:`board_member`)."""
        return self.keys.feature(FEATURE, "board", guild_id)

    def built(self, guild_id: int) -> str:
        """Marker: the guild's board (and left hash) holds everything; absent means rebuild."""
        return self.keys.feature(FEATURE, "built", guild_id)

    def left(self, guild_id: int) -> str:
        """Hash of members who left, off the board: board member -> XP kept for a rejoin."""
        return self.keys.feature(FEATURE, "left", guild_id)

    def resetting(self, guild_id: int) -> str:
        """Sorted set of members whose XP a whole-guild reset is still taking away."""
        return self.keys.feature(FEATURE, "resetting", guild_id)

    def staging(self, guild_id: int, token: str, part: str) -> str:
        """A board (``part`` "board" or "left") being rebuilt, swapped in when complete."""
        return self.keys.feature(FEATURE, "staging", guild_id, token, part)

    def cooldown(self, guild_id: int, user_id: int) -> str:
        """A member's cooldown: the epoch ms until which messages earn nothing (PX-expiring)."""
        return self.keys.feature(FEATURE, "cooldown", guild_id, user_id)

    def prefix(self) -> str:
        """What every levels key starts with (``shoal:{ns}:f:levels:``).

        The grant script builds ``board:<guild>``, ``built:<guild>``, ``left:<guild>`` and
        ``cooldown:<guild>:<user>`` on it: the names of the methods below.
        """
        return self.keys.feature(FEATURE) + ":"

    def dirty(self) -> str:
        """Fleet-wide hash of XP deltas not yet in PostgreSQL: ``guild:user`` -> delta."""
        return self.keys.feature(FEATURE, "dirty")

    def batch(self, batch_id: str) -> str:
        """A flush batch: the dirty hash as it was when a flush took it."""
        return self.keys.feature(FEATURE, "flushing", batch_id)

    def batches(self) -> str:
        """Sorted set of batches taken and not yet deleted (score: their sequence number)."""
        return self.keys.feature(FEATURE, "batches")

    def batch_sequence(self) -> str:
        """Counter numbering batches, so leftovers are applied in the order they were taken."""
        return self.keys.feature(FEATURE, "batch-seq")

    def flush_lock(self) -> str:
        """Lease held while flushing or rebuilding a board (the two exclude each other)."""
        return self.keys.feature(FEATURE, "flush-lock")
