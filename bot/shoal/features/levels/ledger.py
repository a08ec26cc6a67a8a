"""The XP ledger: atomic grants, admin changes and the leaderboard, in Redis in front of PostgreSQL.

Owns :class:`XpLedger`. Each guild has a board in Redis (a sorted set of XP; members who
left move to a "left" hash and keep their XP for a rejoin) and every change is one Lua
script (`shoal.features.levels.board_scripts`), so any number of workers, of both
generations during a reshard, can grant at once:

- a message grant checks the member's cooldown against the caller's ``now_ms`` and, when
  it is over, adds the XP to the board and its delta to the fleet-wide dirty hash in the
  same step; a batch of grants is one pipeline of EVALSHA;
- admin changes (:meth:`XpLedger.set_xp`, :meth:`~XpLedger.add_xp`,
  :meth:`~XpLedger.reset`) are deltas through the same dirty hash, so they commute with
  concurrent grants and flushes (`shoal.features.levels.flushing`) instead of overwriting
  PostgreSQL;
- reads (:meth:`~XpLedger.rank_of`, :meth:`~XpLedger.page`, :meth:`~XpLedger.count`) are
  O(log N) on the board, ordered as PostgreSQL's index is: XP descending, ties by user id
  ascending (see `shoal.features.levels.keys`).

A guild's board counts only once its ``built`` marker is set. When a script finds it
missing (first use, or Redis lost data) the ledger rebuilds the board under the flush
lease (one worker at a time, never during a flush): it flushes pending deltas, loads the
guild's members from PostgreSQL into staging keys and swaps them in with the marker; then
the script runs again. Does not own the pure rules (see `shoal.features.levels.rules`),
the write-behind (see `shoal.features.levels.flushing`), nor which messages earn (see
`shoal.features.levels.tap`).
"""

from __future__ import annotations

import enum
import uuid
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from shoal.features.levels import board_scripts as lua
from shoal.features.levels.flushing import XpFlusher
from shoal.features.levels.keys import (
    FEATURE,
    LevelsKeys,
    board_member,
    dirty_field,
    text_of,
    user_of_member,
)
from shoal.features.levels.rules import COOLDOWN_MS, XP_PER_MESSAGE, LevelChange, level_change
from shoal.storage.migrating import load_migrations

if TYPE_CHECKING:
    from collections.abc import Sequence

    import asyncpg
    import redis.asyncio as redis_asyncio
    from redis.commands.core import AsyncScript

    from shoal.storage.migration_plans import Migration
    from shoal.storage.redis_keys import RedisKeys

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_XP",
    "Grant",
    "GrantResult",
    "GrantStatus",
    "LedgerRetryError",
    "XpChange",
    "XpLedger",
    "levels_migrations",
]

#: Admin changes stop here (level 100,000): far past any real member, far below 2**53.
MAX_XP: Final = 10**12
MAX_PAGE_SIZE: Final = 100
#: A script meets a missing board at most once per rebuild; a third miss means the board
#: keeps vanishing (Redis evicting keys), which retrying cannot cure.
_ATTEMPTS: Final = 3
_REBUILD_CHUNK: Final = 5_000
_RESET_CHUNK: Final = 500
#: Staging keys of a rebuild that died expire; a swap removes the expiry.
_STAGING_TTL_MS: Final = 600_000
_SELECT_GUILD: Final = (
    "SELECT user_id, xp, left_at IS NOT NULL AS has_left FROM levels_members "
    "WHERE guild_id = $1 AND xp > 0"
)
_MARK_LEFT: Final = (
    "UPDATE levels_members SET left_at = now(), updated_at = now() "
    "WHERE guild_id = $1 AND user_id = $2"
)
#: A member whose XP is still only in Redis gets a row now, so a rebuild knows they left.
_UPSERT_LEFT: Final = """
INSERT INTO levels_members AS m (guild_id, user_id, xp, left_at) VALUES ($1, $2, 0, now())
ON CONFLICT (guild_id, user_id) DO UPDATE SET left_at = now(), updated_at = now()
"""
_MARK_JOINED: Final = (
    "UPDATE levels_members SET left_at = NULL, updated_at = now() "
    "WHERE guild_id = $1 AND user_id = $2 AND left_at IS NOT NULL"
)


def levels_migrations() -> tuple[Migration, ...]:
    """Return the levels feature's migrations (module ``levels``), for ``shoal migrate``."""
    return load_migrations(FEATURE, "shoal.features.levels.migrations")


class LedgerRetryError(RuntimeError):
    """A guild's board went missing again right after a rebuild (Redis is evicting keys)."""


class GrantStatus(enum.Enum):
    """What became of one message grant."""

    GRANTED = "granted"
    """The XP was added."""
    COOLING = "cooling"
    """The member earned less than a cooldown ago: nothing changed."""


# Grant, XpChange and GrantResult are named tuples, not frozen dataclasses: one of each is
# built per message that earns, and a frozen dataclass's __init__ costs three times as much.
class Grant(NamedTuple):
    """One message's claim to XP."""

    guild_id: int
    user_id: int


class XpChange(NamedTuple):
    """A member's XP before and after a change."""

    old_xp: int
    new_xp: int

    @property
    def level_change(self) -> LevelChange | None:
        """The change of level (once however many levels), or None."""
        return level_change(self.old_xp, self.new_xp)


class GrantResult(NamedTuple):
    """The outcome of one :class:`Grant`."""

    grant: Grant
    status: GrantStatus
    change: XpChange | None
    """The XP before and after, when granted."""
    cooling_until_ms: int | None
    """When cooling: the epoch ms at which the member earns again."""


class XpLedger:
    """Members' XP per guild, in Redis, written behind to PostgreSQL.

    Args:
        redis: The shared client (bytes responses).
        keys: The bot's key builders; every key goes through ``keys.feature("levels", ...)``.
        pool: PostgreSQL, with the levels migrations (see :func:`levels_migrations`).
        flusher: The flusher a rebuild drains first (by default one on the same servers).
        xp_per_message: XP a granted message earns.
        cooldown_ms: How long a member earns nothing after a grant.
    """

    __slots__ = (
        "_adjust",
        "_cooldown_ms",
        "_count",
        "_flusher",
        "_grant",
        "_join",
        "_keys",
        "_leave",
        "_page",
        "_pool",
        "_rank",
        "_redis",
        "_reset_chunk",
        "_reset_start",
        "_swap",
        "_xp_per_message",
    )

    def __init__(
        self,
        redis: redis_asyncio.Redis,
        keys: RedisKeys,
        pool: asyncpg.Pool[asyncpg.Record],
        *,
        flusher: XpFlusher | None = None,
        xp_per_message: int = XP_PER_MESSAGE,
        cooldown_ms: int = COOLDOWN_MS,
    ) -> None:
        self._redis = redis
        self._keys = LevelsKeys(keys)
        self._pool = pool
        self._flusher = flusher or XpFlusher(redis, keys, pool)
        self._xp_per_message = xp_per_message
        self._cooldown_ms = cooldown_ms
        register = redis.register_script
        self._grant = register(lua.GRANT_MANY)
        self._adjust = register(lua.ADJUST)
        self._leave = register(lua.LEAVE)
        self._join = register(lua.JOIN)
        self._rank = register(lua.BOARD_RANK)
        self._page = register(lua.BOARD_PAGE)
        self._count = register(lua.BOARD_COUNT)
        self._reset_start = register(lua.RESET_START)
        self._reset_chunk = register(lua.RESET_CHUNK)
        self._swap = register(lua.SWAP_REBUILT)

    @property
    def cooldown_ms(self) -> int:
        """How long a member earns nothing after a grant."""
        return self._cooldown_ms

    # --- grants -----------------------------------------------------------------------

    async def grant(self, guild_id: int, user_id: int, *, now_ms: int) -> GrantResult:
        """Grant one message's XP unless the member is cooling down (see :meth:`grant_many`)."""
        (result,) = await self.grant_many([Grant(guild_id, user_id)], now_ms=now_ms)
        return result

    async def grant_many(self, grants: Sequence[Grant], *, now_ms: int) -> list[GrantResult]:
        """Grant each message's XP, atomically per grant, in one pipeline.

        Each grant checks and starts the member's cooldown and adds the XP in one script,
        across every worker: two grants for one member within the cooldown earn once. A
        grant for a member who left restores them first (their message proves they are
        back); a guild whose board is missing is rebuilt first.

        Args:
            grants: The grants, in order (a member twice: the second one is cooling).
            now_ms: The time, in epoch milliseconds, the cooldowns are measured against.

        Returns:
            One result per grant, in order.

        Raises:
            redis.exceptions.RedisError, asyncpg.PostgresError, OSError: A server failed.
            LedgerRetryError: See the class.
        """
        results: list[GrantResult | None] = [None] * len(grants)
        pending = list(range(len(grants)))
        for _ in range(_ATTEMPTS):
            if not pending:
                break
            replies = await self._run_grants([grants[i] for i in pending], now_ms)
            rebuild: set[int] = set()
            rejoin: set[tuple[int, int]] = set()
            retry: list[int] = []
            amount = self._xp_per_message
            for index, reply in zip(pending, replies, strict=True):
                grant = grants[index]
                if reply >= 0:
                    change = XpChange(reply - amount, reply)
                    results[index] = GrantResult(grant, GrantStatus.GRANTED, change, None)
                elif reply == lua.GRANT_NEEDS_REBUILD:
                    retry.append(index)
                    rebuild.add(grant.guild_id)
                elif reply == lua.GRANT_HAS_LEFT:
                    retry.append(index)
                    rejoin.add((grant.guild_id, grant.user_id))
                else:
                    results[index] = GrantResult(grant, GrantStatus.COOLING, None, -reply)
            for guild_id in rebuild:
                await self.rebuild(guild_id)
            for guild_id, user_id in rejoin:
                await self.member_joined(guild_id, user_id)
            pending = retry
        if pending:
            raise LedgerRetryError(f"levels boards kept vanishing for {len(pending)} grant(s)")
        return [result for result in results if result is not None]

    async def _run_grants(self, grants: Sequence[Grant], now_ms: int) -> list[int]:
        """Run ``grants`` in one script call; return one reply per grant (see GRANT_MANY)."""
        by_guild: dict[int, list[int]] = {}
        for index, grant in enumerate(grants):
            by_guild.setdefault(grant.guild_id, []).append(index)
        tokens: list[str] = []
        order: list[int] = []
        for guild_id, indexes in by_guild.items():
            tokens += (str(guild_id), str(len(indexes)))
            for index in indexes:
                user_id = grants[index].user_id
                tokens += (board_member(user_id), str(user_id))
            order += indexes
        args = (
            self._xp_per_message,
            now_ms,
            now_ms + self._cooldown_ms,
            self._cooldown_ms,
            self._keys.prefix(),
            " ".join(tokens),
        )
        flat = await self._grant(keys=[self._keys.dirty()], args=args)
        replies = [0] * len(grants)
        for position, index in enumerate(order):
            replies[index] = int(flat[position])
        return replies

    # --- admin changes ----------------------------------------------------------------

    async def add_xp(self, guild_id: int, user_id: int, amount: int) -> XpChange:
        """Add ``amount`` XP (negative removes; the total stays within 0 and `MAX_XP`)."""
        return await self._adjusted(guild_id, user_id, "add", amount)

    async def set_xp(self, guild_id: int, user_id: int, xp: int) -> XpChange:
        """Set a member's XP to ``xp`` (0 to `MAX_XP`), as a delta against concurrent grants.

        Raises:
            ValueError: ``xp`` is out of range.
        """
        if not 0 <= xp <= MAX_XP:
            raise ValueError(f"XP must be 0 to {MAX_XP}, got {xp}")
        return await self._adjusted(guild_id, user_id, "set", xp)

    async def reset(self, guild_id: int, user_id: int | None = None) -> int:
        """Take away the XP of one member, or of every member of the guild (``user_id`` None).

        A whole-guild reset moves the board aside in one step (grants after it count from
        0) and then takes each member's XP away in chunks; a reset interrupted midway is
        finished by the next one (a rebuild from PostgreSQL abandons it instead).

        Returns:
            How many members had XP to lose.
        """
        if user_id is not None:
            change = await self.set_xp(guild_id, user_id, 0)
            return 1 if change.old_xp else 0
        keys = self._keys
        await self._script(
            self._reset_start,
            guild_id,
            [keys.built(guild_id), keys.board(guild_id), keys.left(guild_id)],
            [],
            extra_keys=[keys.resetting(guild_id)],
        )
        done = 0
        while members := await self._redis.zrange(keys.resetting(guild_id), 0, _RESET_CHUNK - 1):
            args: list[str] = []
            for member in members:
                args += [text_of(member), dirty_field(guild_id, user_of_member(text_of(member)))]
            reply = await self._reset_chunk(
                keys=[keys.built(guild_id), keys.resetting(guild_id), keys.dirty()], args=args
            )
            if int(reply[0]) != lua.OK:  # rebuilt meanwhile: PostgreSQL is the truth again
                break
            done += int(reply[1])
        return done

    async def _adjusted(self, guild_id: int, user_id: int, mode: str, value: int) -> XpChange:
        keys = self._keys
        reply = await self._script(
            self._adjust,
            guild_id,
            [keys.built(guild_id), keys.board(guild_id), keys.left(guild_id), keys.dirty()],
            [board_member(user_id), dirty_field(guild_id, user_id), mode, str(value), str(MAX_XP)],
        )
        return XpChange(int(reply[1]), int(reply[2]))

    # --- membership -------------------------------------------------------------------

    async def member_left(self, guild_id: int, user_id: int) -> None:
        """Take a member who left off the board; their XP is kept for a rejoin."""
        keys = self._keys
        reply = await self._script(
            self._leave,
            guild_id,
            [keys.built(guild_id), keys.board(guild_id), keys.left(guild_id)],
            [board_member(user_id)],
        )
        had_xp = int(reply[1]) > 0
        await self._pool.execute(_UPSERT_LEFT if had_xp else _MARK_LEFT, guild_id, user_id)

    async def member_joined(self, guild_id: int, user_id: int) -> None:
        """Put a member who came back on the board with the XP they had (nothing if new)."""
        keys = self._keys
        # PostgreSQL first: a rebuild racing this one then either sees the member back, or
        # built the board before this script, which then restores them from the left hash.
        await self._pool.execute(_MARK_JOINED, guild_id, user_id)
        await self._script(
            self._join,
            guild_id,
            [keys.built(guild_id), keys.board(guild_id), keys.left(guild_id)],
            [board_member(user_id)],
        )

    # --- reads ------------------------------------------------------------------------

    async def rank_of(self, guild_id: int, user_id: int) -> tuple[int, int] | None:
        """Return ``(rank, xp)`` of a member, rank 1 the most XP; None when not on the board."""
        keys = self._keys
        reply = await self._script(
            self._rank,
            guild_id,
            [keys.built(guild_id), keys.board(guild_id)],
            [board_member(user_id)],
            accepted=(lua.OK, lua.NOT_RANKED),
        )
        if int(reply[0]) == lua.NOT_RANKED:
            return None
        return int(reply[1]) + 1, int(reply[2])

    async def page(self, guild_id: int, page: int, size: int = 10) -> list[tuple[int, int, int]]:
        """Return page ``page`` (1 the first) of the board: ``(rank, user_id, xp)``, best first.

        Raises:
            ValueError: ``page`` is below 1 or ``size`` outside 1 to `MAX_PAGE_SIZE`.
        """
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"page must be 1 or more and size 1 to {MAX_PAGE_SIZE}")
        start = (page - 1) * size
        keys = self._keys
        reply = await self._script(
            self._page,
            guild_id,
            [keys.built(guild_id), keys.board(guild_id)],
            [str(start), str(start + size - 1)],
        )
        flat = reply[1]
        return [
            (start + i + 1, user_of_member(text_of(flat[2 * i])), int(float(flat[2 * i + 1])))
            for i in range(len(flat) // 2)
        ]

    async def count(self, guild_id: int) -> int:
        """Return how many members are on the guild's board (members with XP who did not leave)."""
        keys = self._keys
        reply = await self._script(
            self._count, guild_id, [keys.built(guild_id), keys.board(guild_id)], []
        )
        return int(reply[1])

    # --- rebuilding -------------------------------------------------------------------

    async def rebuild(self, guild_id: int) -> bool:
        """Build the guild's board from PostgreSQL unless it is built; True when this call did.

        Under the flush lease, so one worker rebuilds at a time and no flush moves deltas
        while it reads. Pending deltas are flushed first; while the marker is missing no
        script changes the guild, so PostgreSQL then holds every member's whole XP.
        """
        keys = self._keys
        async with self._flusher.lease():
            if await self._redis.exists(keys.built(guild_id)):
                return False
            await self._flusher.flush_leased()
            token = uuid.uuid4().hex
            staged_board = keys.staging(guild_id, token, "board")
            staged_left = keys.staging(guild_id, token, "left")
            async with self._pool.acquire() as connection, connection.transaction():
                cursor = connection.cursor(_SELECT_GUILD, guild_id, prefetch=_REBUILD_CHUNK)
                board: dict[str, int] = {}
                left: dict[str, int] = {}
                async for row in cursor:
                    (left if row["has_left"] else board)[board_member(row["user_id"])] = row["xp"]
                    if len(board) + len(left) >= _REBUILD_CHUNK:
                        await self._stage(staged_board, board, staged_left, left)
                await self._stage(staged_board, board, staged_left, left)
            swapped = await self._swap(
                keys=[
                    keys.built(guild_id),
                    keys.board(guild_id),
                    keys.left(guild_id),
                    staged_board,
                    staged_left,
                    keys.resetting(guild_id),
                ],
                args=[],
            )
            return bool(swapped)

    async def _stage(
        self, board_key: str, board: dict[str, int], left_key: str, left: dict[str, int]
    ) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            if board:
                pipe.zadd(board_key, dict(board))
                pipe.pexpire(board_key, _STAGING_TTL_MS)
            if left:
                pipe.hset(left_key, items=[part for pair in left.items() for part in pair])
                pipe.pexpire(left_key, _STAGING_TTL_MS)
            await pipe.execute()
        board.clear()
        left.clear()

    async def _script(
        self,
        script: AsyncScript,
        guild_id: int,
        keys: list[str],
        args: list[str],
        *,
        extra_keys: Sequence[str] = (),
        accepted: tuple[int, ...] = (lua.OK,),
    ) -> list[Any]:
        """Run a board script, rebuilding the guild's board when it answers NEEDS_REBUILD."""
        for _ in range(_ATTEMPTS):
            reply = await script(keys=[*keys, *extra_keys], args=args)
            if int(reply[0]) in accepted:
                return list(reply)
            await self.rebuild(guild_id)
        raise LedgerRetryError(f"the levels board of guild {guild_id} kept vanishing")
