"""Resumable gateway sessions kept outside the worker, so a restarted worker RESUMEs.

A session is plain data (id, last sequence, resume URL) keyed by shard id and shard
count: the same shard id of another generation is another session. It expires a little
after Discord would have forgotten it, so a stale one is rarely tried (and a RESUME of
one Discord forgot only costs an op 9, after which the shard identifies through the
gate). Does not own when sessions are saved (``shoal.gateway.bot``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys

__all__ = ["DEFAULT_SESSION_TTL_S", "RedisSessionStore", "SessionStore", "StoredSession"]

#: Discord keeps a dropped session resumable for a few minutes (not documented exactly;
#: the simulator's default is 120 s); a little above that, a session is surely dead.
DEFAULT_SESSION_TTL_S: Final = 300.0


@dataclasses.dataclass(frozen=True, slots=True)
class StoredSession:
    """What a RESUME needs."""

    session_id: str
    """The session id from READY."""
    seq: int
    """The last sequence number the shard processed."""
    resume_gateway_url: str
    """Where to RESUME (READY's ``resume_gateway_url``)."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SessionStore(Protocol):
    """Keeps each shard's resumable session between worker processes."""

    async def load(self, shard_id: int, shard_count: int) -> StoredSession | None:
        """Return the stored session of ``[shard_id, shard_count]``, if any."""

    async def save(self, shard_count: int, sessions: Mapping[int, StoredSession]) -> None:
        """Store the sessions of several shards of ``shard_count`` (by shard id) at once."""

    async def clear(self, shard_id: int, shard_count: int) -> None:
        """Forget the session of ``[shard_id, shard_count]`` (it cannot be resumed)."""


class RedisSessionStore:
    """A :class:`SessionStore` in Redis: one hash per shard with a time to live."""

    def __init__(
        self, redis: Redis, keys: RedisKeys, *, ttl_s: float = DEFAULT_SESSION_TTL_S
    ) -> None:
        """Store sessions of the bot named by ``keys``, each kept ``ttl_s`` after saving."""
        self._redis = redis
        self._keys = keys
        self._ttl_ms = max(1, round(ttl_s * 1000))

    async def load(self, shard_id: int, shard_count: int) -> StoredSession | None:
        """Return the stored session, or None when none is stored or it is malformed."""
        raw = await self._redis.hgetall(self._keys.session(shard_id, shard_count))
        fields = {_text(name): _text(value) for name, value in raw.items()}
        try:
            return StoredSession(
                session_id=fields["session_id"],
                seq=int(fields["seq"]),
                resume_gateway_url=fields["resume_gateway_url"],
            )
        except (KeyError, ValueError):
            return None

    async def save(self, shard_count: int, sessions: Mapping[int, StoredSession]) -> None:
        """Write every session and renew its time to live, in one round trip."""
        if not sessions:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard_id, session in sessions.items():
                key = self._keys.session(shard_id, shard_count)
                pipe.hset(
                    key,
                    mapping={
                        "session_id": session.session_id,
                        "seq": session.seq,
                        "resume_gateway_url": session.resume_gateway_url,
                    },
                )
                pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def clear(self, shard_id: int, shard_count: int) -> None:
        """Delete the stored session."""
        await self._redis.delete(self._keys.session(shard_id, shard_count))
