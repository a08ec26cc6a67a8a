"""Snowflake ids: Discord's 64-bit ids, their shard, and reproducible generation."""

from __future__ import annotations

import base64
import binascii
import itertools
import random
import time
from typing import Final

__all__ = [
    "DISCORD_EPOCH_MS",
    "SnowflakeFactory",
    "bot_id_from_token",
    "make_token",
    "shard_for",
    "snowflake_time_ms",
]

#: 2015-01-01T00:00:00Z in Unix milliseconds: the origin of every snowflake timestamp.
DISCORD_EPOCH_MS: Final = 1_420_070_400_000
#: Generated guilds are "created" from here on (2019-01-01) so ids look like real ones.
_GUILD_TIMESTAMP_BASE_MS: Final = 1_546_300_800_000 - DISCORD_EPOCH_MS


def shard_for(guild_id: int, shard_count: int) -> int:
    """Return the shard that owns ``guild_id`` when the bot runs ``shard_count`` shards."""
    return (guild_id >> 22) % shard_count


def snowflake_time_ms(snowflake: int) -> int:
    """Return the Unix time in milliseconds encoded in ``snowflake``."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS


def bot_id_from_token(token: str) -> int:
    """Return the bot user id encoded in the first segment of a bot token.

    Raises:
        ValueError: when the token is not shaped like ``base64(bot_id).x.y``.
    """
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):  # noqa: PLR2004 - a token has three segments
        msg = "a bot token has three dot-separated segments: base64(bot_id).timestamp.hmac"
        raise ValueError(msg)
    segment = parts[0] + "=" * (-len(parts[0]) % 4)
    try:
        return int(base64.b64decode(segment, validate=True))
    except (binascii.Error, ValueError) as exc:
        msg = "the first segment of a bot token must be the base64 of the bot's user id"
        raise ValueError(msg) from exc


def make_token(bot_id: int, secret: str) -> str:
    """Build a token shaped like Discord's for ``bot_id`` (hikari checks the shape)."""
    head = base64.b64encode(str(bot_id).encode()).decode().rstrip("=")
    body = base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=")
    return f"{head}.GsimXX.{body}"


class SnowflakeFactory:
    """Hands out unique snowflakes.

    Guild ids use consecutive timestamps from a seeded start, so they spread exactly
    evenly over shards for every shard count (``(id >> 22) % n`` cycles through all
    shards). Other ids (users, channels, messages) use the current time.
    """

    __slots__ = ("_guild_ms", "_increment", "_rng")

    def __init__(self, seed: int) -> None:
        """Create a factory whose guild ids depend only on ``seed``."""
        self._rng = random.Random(seed)  # noqa: S311 - ids, not secrets
        self._guild_ms = _GUILD_TIMESTAMP_BASE_MS + self._rng.randrange(0, 86_400_000 * 365)
        self._increment = itertools.count()

    def next_guild_id(self) -> int:
        """Return the next guild id: one millisecond after the previous guild's."""
        self._guild_ms += 1
        worker = self._rng.randrange(0, 1 << 10)
        return (self._guild_ms << 22) | (worker << 12) | self._rng.randrange(0, 1 << 12)

    def next_id(self, at_ms: int | None = None) -> int:
        """Return a fresh snowflake stamped with ``at_ms`` (Unix ms; default now)."""
        unix_ms = int(time.time() * 1000) if at_ms is None else at_ms
        increment = next(self._increment) & ((1 << 22) - 1)
        return ((unix_ms - DISCORD_EPOCH_MS) << 22) | increment

    def seeded_id(self, rng: random.Random) -> int:
        """Return a plausible snowflake drawn from ``rng`` (for generated users and channels)."""
        stamp = _GUILD_TIMESTAMP_BASE_MS + rng.randrange(0, 86_400_000 * 365 * 6)
        return (stamp << 22) | rng.randrange(0, 1 << 22)
