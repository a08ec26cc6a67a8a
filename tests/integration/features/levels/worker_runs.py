"""Real ``shoal worker`` processes for the levels durability tests, and what they read back.

Owns the pieces the process tests share: a schema migrated as ``shoal migrate`` does, a
worker of a given generation spawned as a pod would run it (through
`tests.integration.generations.shoal_workers`), a stream of members' messages injected
into the in-process simulator with the time each was sent, and three readings:

- the messages a worker *received*: its shard's session as the worker saved it in Redis
  (hikari moves the sequence number and feeds the levels tap in the same step, so every
  dispatch up to the saved ``seq`` went through the tap), looked up in the simulator's
  replay buffer of that session;
- the members whose XP is granted in Redis but not yet in PostgreSQL (the dirty hash
  and any batch a flush took and has not deleted): what Redis losing its data would cost;
- the XP of (guild, member) pairs in PostgreSQL.

Does not start servers (`tests.fixtures`) nor the simulator.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Final

import orjson

from shoal import app
from shoal.config import postgres_settings
from shoal.features.levels.keys import LevelsKeys, parse_dirty_field, text_of
from shoal.gateway.sessions import RedisSessionStore
from shoal_sim.discord import events
from shoal_sim.discord.world import generated_channel_id, generated_member_id
from tests.integration.gateway.worker_env import worker_env
from tests.integration.generations.shoal_workers import ShoalWorker

if TYPE_CHECKING:
    import pathlib
    from collections.abc import Awaitable, Callable, Sequence

    import asyncpg
    from redis.asyncio import Redis

    from shoal.storage.redis_keys import RedisKeys
    from shoal_sim.discord.server import Simulator

__all__ = [
    "MessageStream",
    "Sent",
    "caught_up",
    "migrate_schema",
    "received_members",
    "spawn_worker",
    "stored_member_xp",
    "unflushed_members",
    "waiting_for",
]

#: The simulator's identify window (and the workers'): short, so that boots take ~1 s.
IDENTIFY_WINDOW_S: Final = 0.1
_MESSAGE_CREATE: Final = b"MESSAGE_CREATE"
_POLL_S: Final = 0.05

Member = tuple[int, int]
"""(guild id, user id): whose XP a message earns."""


async def migrate_schema(dsn: str) -> None:
    """Apply every worker migration to the schema ``dsn`` points at (``shoal migrate``)."""
    status = await app.run_migrate(postgres_settings({"SHOAL_POSTGRES_DSN": dsn}))
    assert status == 0, "shoal migrate failed (see the log)"


async def spawn_worker(  # noqa: PLR0913 - one keyword per pod setting the tests vary
    sim: Simulator,
    *,
    redis_url: str,
    postgres_dsn: str,
    keys: RedisKeys,
    log_dir: pathlib.Path,
    generation: int = 0,
    total_shards: int = 1,
    shards_per_pod: int = 1,
    ordinal: int = 0,
    restart: int = 0,
) -> ShoalWorker:
    """Start ``python -m shoal worker`` as pod ``ordinal`` of ``generation`` (not awaited ready).

    ``restart`` numbers a replacement of the same pod (same name and shards, its own log).
    """
    env = worker_env(
        sim,
        redis_url=redis_url,
        postgres_dsn=postgres_dsn,
        bot_name=keys.namespace,
        total_shards=total_shards,
        shards_per_pod=shards_per_pod,
        ordinal=ordinal,
        identify_window_s=IDENTIFY_WINDOW_S,
    )
    env["SHOAL_GENERATION"] = str(generation)
    env["SHOAL_POD_NAME"] = f"levels-g{generation}-{ordinal}"
    log = log_dir / f"worker-g{generation}-{ordinal}-r{restart}.log"
    return await ShoalWorker.spawn(env, log=log)


@dataclasses.dataclass(frozen=True, slots=True)
class Sent:
    """One injected message."""

    member: Member
    message_id: int
    sent_at: float
    """``time.monotonic()`` when it was dispatched to the sessions."""
    sessions_reached: int


class MessageStream:
    """Members' messages injected at a steady rate, each remembered with its send time.

    Args:
        sim: The in-process simulator (its dispatch is synchronous: ``sent_at`` is when
            the frames were queued to every session covering the guild).
        rate_per_s: Messages a second.
    """

    def __init__(self, sim: Simulator, *, rate_per_s: float) -> None:
        self._sim = sim
        self._period_s = 1.0 / rate_per_s
        self.sent: list[Sent] = []

    def send(self, guild_id: int, member_index: int) -> Sent:
        """Inject one message by the guild's ``member_index``-th generated member now."""
        guild = self._sim.world.guilds[guild_id]
        user_id = generated_member_id(guild, member_index)
        message, reached = events.emit_user_message(
            self._sim,
            channel_id=generated_channel_id(guild, 1),
            author_id=user_id,
            content="hello",
            guild_id=guild_id,
        )
        sent = Sent((guild_id, user_id), message.id, time.monotonic(), reached)
        self.sent.append(sent)
        return sent

    async def run(self, order: Sequence[tuple[int, int]]) -> None:
        """Send ``(guild id, member index)`` messages in order, on a fixed schedule."""
        start = time.monotonic()
        for number, (guild_id, member_index) in enumerate(order):
            delay = start + number * self._period_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.send(guild_id, member_index)

    def sent_at(self) -> dict[Member, float]:
        """Return each member's first send time."""
        first: dict[Member, float] = {}
        for sent in self.sent:
            first.setdefault(sent.member, sent.sent_at)
        return first


async def received_members(
    sim: Simulator, redis: Redis, keys: RedisKeys, *, shard_id: int, shard_count: int
) -> list[Member]:
    """Return the authors of the MESSAGE_CREATEs the shard's saved session had received.

    The session is the one the worker saved in Redis (at its SIGTERM, or its last periodic
    save); the messages are those of the simulator's replay buffer up to its ``seq``.
    """
    stored = await RedisSessionStore(redis, keys).load(shard_id, shard_count)
    assert stored is not None, f"no session saved for shard {shard_id}/{shard_count}"
    session = sim.gateway.sessions.by_id.get(stored.session_id)
    assert session is not None, f"the simulator forgot session {stored.session_id}"
    assert session.buffer, "the session's replay buffer is empty"
    assert session.buffer[0][0] == 1, "the replay buffer lost the session's first dispatches"
    members: list[Member] = []
    for seq, event, data in session.buffer:
        if seq <= stored.seq and event == _MESSAGE_CREATE:
            body = orjson.loads(data)
            members.append((int(body["guild_id"]), int(body["author"]["id"])))
    return members


async def unflushed_members(redis: Redis, keys: RedisKeys) -> dict[Member, int]:
    """Return the XP deltas granted in Redis and not yet deleted after a flush, by member.

    The dirty hash plus every batch a flush took and has not deleted yet (a batch already
    committed to PostgreSQL but not deleted counts too: an upper bound of what is at risk).
    """
    levels = LevelsKeys(keys)
    batch_ids = [text_of(raw) for raw in await redis.zrange(levels.batches(), 0, -1)]
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(levels.dirty())
        for batch_id in batch_ids:
            pipe.hgetall(levels.batch(batch_id))
        hashes = await pipe.execute()
    found: dict[Member, int] = {}
    for fields in hashes:
        for field, value in fields.items():
            member = parse_dirty_field(field)
            found[member] = found.get(member, 0) + int(value)
    return found


async def stored_member_xp(pool: asyncpg.Pool[asyncpg.Record]) -> dict[Member, int]:
    """Return (guild id, user id) -> XP of every row in PostgreSQL."""
    rows = await pool.fetch("SELECT guild_id, user_id, xp FROM levels_members")
    return {(row["guild_id"], row["user_id"]): row["xp"] for row in rows}


async def waiting_for(
    condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float
) -> None:
    """Return once ``await condition()`` is true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if await condition():
            return
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout_s} s waiting for {what}"
            raise AssertionError(msg)
        await asyncio.sleep(_POLL_S)


async def caught_up(
    sim: Simulator, redis: Redis, keys: RedisKeys, *, shard_id: int, shard_count: int
) -> bool:
    """Return whether the shard's worker saved its session at the session's last dispatch.

    Sessions are saved every 0.5 s, and the tap grants within 50 ms of a message: once
    this is true, every message of the session went through a tap.
    """
    stored = await RedisSessionStore(redis, keys).load(shard_id, shard_count)
    session = None if stored is None else sim.gateway.sessions.by_id.get(stored.session_id)
    return stored is not None and session is not None and stored.seq == session.seq
