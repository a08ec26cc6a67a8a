"""Gateway sessions: sequence numbers, the replay buffer RESUME reads, routing by shard."""

from __future__ import annotations

import collections
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shoal_sim.discord.gateway.connection import Connection

__all__ = ["Session", "SessionIndex"]


class Session:
    """One gateway session: what it covers, its sequence and its missed dispatches.

    A session outlives its connection: dispatches keep arriving while it is disconnected
    and resumable, and RESUME replays them from :attr:`buffer`.
    """

    __slots__ = (
        "app_id",
        "buffer",
        "connection",
        "disconnected_at",
        "id",
        "intents",
        "is_live",
        "seq",
        "shard_count",
        "shard_id",
    )

    def __init__(
        self, *, app_id: int, shard_id: int, shard_count: int, intents: int, replay_buffer: int
    ) -> None:
        """Create a new session with sequence 0."""
        self.id = secrets.token_hex(16)
        self.app_id = app_id
        self.shard_id = shard_id
        self.shard_count = shard_count
        self.intents = intents
        self.seq = 0
        self.buffer: collections.deque[tuple[int, bytes, bytes]] = collections.deque(
            maxlen=replay_buffer
        )
        self.connection: Connection | None = None
        self.disconnected_at: float | None = None
        self.is_live = True
        """False once invalidated: it then gets no dispatches and cannot be resumed."""

    @property
    def shard_label(self) -> str:
        """Return ``"id/count"``, the key statistics use for this session's shard."""
        return f"{self.shard_id}/{self.shard_count}"

    def dispatch(self, event: bytes, data: bytes) -> None:
        """Give the session its next dispatch: buffer it and send it if connected."""
        self.seq += 1
        self.buffer.append((self.seq, event, data))
        connection = self.connection
        if connection is not None:
            connection.send_dispatch(self.seq, event, data)

    def missed_since(self, seq: int) -> list[tuple[int, bytes, bytes]] | None:
        """Return the dispatches after ``seq``, or None if some fell out of the buffer."""
        if seq >= self.seq:
            return []
        if not self.buffer or self.buffer[0][0] > seq + 1:
            return None
        return [entry for entry in self.buffer if entry[0] > seq]


class SessionIndex:
    """Live sessions by id and by ``(application, shard_count, shard_id)``."""

    __slots__ = ("_by_app", "by_id")

    def __init__(self) -> None:
        """Create an empty index."""
        self.by_id: dict[str, Session] = {}
        self._by_app: dict[int, dict[int, dict[int, list[Session]]]] = {}

    def add(self, session: Session) -> None:
        """Index a new live session."""
        self.by_id[session.id] = session
        by_count = self._by_app.setdefault(session.app_id, {})
        by_shard = by_count.setdefault(session.shard_count, {})
        by_shard.setdefault(session.shard_id, []).append(session)

    def remove(self, session: Session) -> None:
        """Forget a session (it was invalidated or expired)."""
        session.is_live = False
        self.by_id.pop(session.id, None)
        by_count = self._by_app.get(session.app_id, {})
        by_shard = by_count.get(session.shard_count, {})
        sessions = by_shard.get(session.shard_id, [])
        if session in sessions:
            sessions.remove(session)
        if not sessions:
            by_shard.pop(session.shard_id, None)
        if not by_shard:
            by_count.pop(session.shard_count, None)

    def covering(self, app_id: int, guild_id: int) -> Iterator[Session]:
        """Yield every session of ``app_id`` whose shard owns ``guild_id``."""
        by_count = self._by_app.get(app_id)
        if not by_count:
            return
        stamp = guild_id >> 22
        for shard_count, by_shard in by_count.items():
            sessions = by_shard.get(stamp % shard_count)
            if sessions:
                yield from sessions

    def of_shard(self, app_id: int, shard_id: int, shard_count: int | None = None) -> list[Session]:
        """Return sessions of one shard id (of every shard count when none is given)."""
        by_count = self._by_app.get(app_id, {})
        found: list[Session] = []
        for count, by_shard in by_count.items():
            if shard_count is None or count == shard_count:
                found.extend(by_shard.get(shard_id, ()))
        return found

    def of_app(self, app_id: int) -> list[Session]:
        """Return every live session of an application."""
        return [s for s in self.by_id.values() if s.app_id == app_id]

    def counts_by_shard(self) -> dict[str, int]:
        """Return the number of live sessions per ``"id/count"`` shard label."""
        counts: collections.Counter[str] = collections.Counter()
        for session in self.by_id.values():
            counts[session.shard_label] += 1
        return dict(counts)
