"""The XP ledger against a real Redis and PostgreSQL: atomic grants, boards, rebuilds."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from shoal.features.levels.flushing import XpFlusher
from shoal.features.levels.keys import LevelsKeys, board_member, dirty_field
from shoal.features.levels.ledger import Grant, GrantStatus, XpLedger
from shoal.features.levels.rules import level_of
from tests.integration.features.levels.inspecting import drop_levels_keys, stored_xp

if TYPE_CHECKING:
    from asyncpg import Pool, Record

    from shoal.storage.redis_keys import RedisKeys

GUILD = 1_100_000_000_000_000_001
T0_MS = 1_700_000_000_000
COOLDOWN_MS = 60_000


async def _board(ledger: XpLedger, guild_id: int) -> list[tuple[int, int, int]]:
    rows: list[tuple[int, int, int]] = []
    page = 1
    while chunk := await ledger.page(guild_id, page, 100):
        rows += chunk
        page += 1
    return rows


async def test_grant_many_grants_once_when_100_messages_race_through_3_ledgers(
    redis_url: str, keys: RedisKeys, levels_pool: Pool[Record]
) -> None:
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    try:
        ledgers = [XpLedger(client, keys, levels_pool) for client in clients]
        rng = random.Random(7)  # noqa: S311 - a reproducible spread, not a secret

        async def send(index: int) -> list[GrantStatus]:
            ledger = ledgers[index % 3]
            now_ms = T0_MS + rng.randrange(COOLDOWN_MS)  # all within one cooldown
            results = await ledger.grant_many([Grant(GUILD, 42)], now_ms=now_ms)
            return [result.status for result in results]

        statuses = [s for batch in await asyncio.gather(*map(send, range(100))) for s in batch]
        assert statuses.count(GrantStatus.GRANTED) == 1
        assert statuses.count(GrantStatus.COOLING) == 99
        assert await ledgers[1].rank_of(GUILD, 42) == (1, 10)
        await XpFlusher(clients[0], keys, levels_pool).flush()
        assert await stored_xp(levels_pool, GUILD) == {42: 10}
    finally:
        for client in clients:
            await client.aclose()


async def test_grants_give_exact_totals_when_1000_members_send_30_messages_past_cooldown(
    redis_url: str, keys: RedisKeys, levels_pool: Pool[Record]
) -> None:
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    try:
        ledgers = [XpLedger(client, keys, levels_pool) for client in clients]
        flusher = XpFlusher(clients[0], keys, levels_pool)
        members = range(1, 1001)
        for round_index in range(30):
            now_ms = T0_MS + round_index * (COOLDOWN_MS + 1)
            # Each member's message, plus a second one within its cooldown that earns nothing.
            grants = [Grant(GUILD, user) for user in members]
            grants += [Grant(GUILD, user) for user in members if user % 7 == round_index % 7]
            ledger = ledgers[round_index % 3]
            flushed, results = await asyncio.gather(
                flusher.flush(), ledger.grant_many(grants, now_ms=now_ms)
            )
            assert flushed.rows >= 0
            granted = [r for r in results if r.status is GrantStatus.GRANTED]
            assert len(granted) == 1000
            assert all(r.change and r.change.new_xp == 10 * (round_index + 1) for r in granted)
        board = await _board(ledgers[2], GUILD)
        assert [(user, xp) for _, user, xp in board] == [(user, 300) for user in members]
        assert {level_of(xp) for _, _, xp in board} == {1}
        assert await ledgers[0].count(GUILD) == 1000
        await flusher.flush()
        assert await stored_xp(levels_pool, GUILD) == dict.fromkeys(members, 300)
    finally:
        for client in clients:
            await client.aclose()


async def test_board_orders_ties_by_user_id_ascending_as_postgresql_does(
    ledger: XpLedger,
    redis_client: Redis,
    keys: RedisKeys,
    levels_pool: Pool[Record],
) -> None:
    # Decimal strings sort 10 < 9 < 100; snowflakes near 2**63 stress the inversion.
    users = [9, 10, 100, 99, 2**63 - 1, 2**62, 1_000_000_000_000_000_000, 3]
    for user in users:
        await ledger.set_xp(GUILD, user, 500 if user % 2 else 700)
    await XpFlusher(redis_client, keys, levels_pool).flush()
    rows = await levels_pool.fetch(
        "SELECT user_id, xp FROM levels_members WHERE guild_id = $1 ORDER BY xp DESC, user_id",
        GUILD,
    )
    expected = [(rank, row["user_id"], row["xp"]) for rank, row in enumerate(rows, start=1)]
    assert await ledger.page(GUILD, 1, 100) == expected
    assert expected[0][1:] == (10, 700)
    for rank, user, xp in expected:
        assert await ledger.rank_of(GUILD, user) == (rank, xp)


async def test_board_rebuilds_identically_when_redis_lost_every_levels_key(
    ledger: XpLedger,
    redis_client: Redis,
    keys: RedisKeys,
    levels_pool: Pool[Record],
) -> None:
    rng = random.Random(3)  # noqa: S311 - a reproducible spread, not a secret
    for user in range(1, 301):
        await ledger.set_xp(GUILD, user, rng.randrange(0, 2_000, 10))
    await ledger.member_left(GUILD, 5)
    await XpFlusher(redis_client, keys, levels_pool).flush()
    before = await _board(ledger, GUILD)
    ranks = [await ledger.rank_of(GUILD, user) for user in range(1, 301)]
    assert await drop_levels_keys(redis_client, keys) > 0
    assert await _board(ledger, GUILD) == before
    assert [await ledger.rank_of(GUILD, user) for user in range(1, 301)] == ranks
    assert await ledger.rank_of(GUILD, 5) is None
    assert await ledger.count(GUILD) == len(before)


async def test_board_rebuild_keeps_unflushed_deltas_when_only_the_board_was_lost(
    ledger: XpLedger,
    redis_client: Redis,
    keys: RedisKeys,
    levels_pool: Pool[Record],
) -> None:
    results = await ledger.grant_many([Grant(GUILD, user) for user in range(1, 51)], now_ms=T0_MS)
    assert all(result.status is GrantStatus.GRANTED for result in results)
    await ledger.add_xp(GUILD, 7, 95)
    before = await _board(ledger, GUILD)
    level_keys = LevelsKeys(keys)
    await redis_client.unlink(level_keys.board(GUILD), level_keys.built(GUILD))  # dirty kept
    assert await _board(ledger, GUILD) == before
    assert (await stored_xp(levels_pool, GUILD))[7] == 105  # the rebuild flushed first


async def test_member_left_takes_them_off_the_board_and_rejoining_restores_their_xp(
    ledger: XpLedger,
    redis_client: Redis,
    keys: RedisKeys,
    levels_pool: Pool[Record],
) -> None:
    await ledger.set_xp(GUILD, 1, 400)
    await ledger.set_xp(GUILD, 2, 900)
    await ledger.member_left(GUILD, 2)
    assert await ledger.rank_of(GUILD, 2) is None
    assert await ledger.rank_of(GUILD, 1) == (1, 400)
    assert await ledger.count(GUILD) == 1
    await XpFlusher(redis_client, keys, levels_pool).flush()
    await drop_levels_keys(redis_client, keys)  # the rebuild must know 2 left
    assert await ledger.page(GUILD, 1) == [(1, 1, 400)]
    await ledger.member_joined(GUILD, 2)
    assert await ledger.rank_of(GUILD, 2) == (1, 900)
    left_at = await levels_pool.fetchval(
        "SELECT left_at FROM levels_members WHERE guild_id = $1 AND user_id = 2", GUILD
    )
    assert left_at is None


async def test_grant_restores_a_member_who_left_when_they_send_a_message(
    ledger: XpLedger,
) -> None:
    await ledger.set_xp(GUILD, 8, 120)
    await ledger.member_left(GUILD, 8)
    result = await ledger.grant(GUILD, 8, now_ms=T0_MS)
    assert result.change is not None
    assert (result.change.old_xp, result.change.new_xp) == (120, 130)
    assert await ledger.rank_of(GUILD, 8) == (1, 130)


async def test_admin_changes_commute_with_grants_and_flushes_when_run_concurrently(
    redis_url: str, keys: RedisKeys, levels_pool: Pool[Record]
) -> None:
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    try:
        ledgers = [XpLedger(client, keys, levels_pool) for client in clients]
        flusher = XpFlusher(clients[2], keys, levels_pool)
        members = range(1, 201)

        async def grants(rounds: range) -> None:
            for round_index in rounds:  # in time order, as a clock runs
                now_ms = T0_MS + round_index * (COOLDOWN_MS + 1)
                await ledgers[0].grant_many([Grant(GUILD, u) for u in members], now_ms=now_ms)

        async def admin() -> None:
            for user in range(1, 201, 3):
                await ledgers[1].add_xp(GUILD, user, 1_000)
                await ledgers[1].set_xp(GUILD, user + 1, 50)
                await ledgers[1].reset(GUILD, user + 2)

        async def flushes() -> None:
            for _ in range(20):
                await flusher.flush()

        await asyncio.gather(grants(range(10)), admin(), flushes())
        adds = len(range(1, 201, 3))
        board = {user: xp for _, user, xp in await _board(ledgers[2], GUILD)}
        await flusher.flush()
        stored = await stored_xp(levels_pool, GUILD)
        everyone = range(1, 203)
        assert {u: stored.get(u, 0) for u in everyone} == {u: board.get(u, 0) for u in everyone}
        # Adds commute exactly: ten grants plus 1,000 for each member added to.
        assert [board[u] for u in range(1, 201, 3)] == [1_100] * adds

        await asyncio.gather(ledgers[1].reset(GUILD), grants(range(20, 21)), flusher.flush())
        board = {user: xp for _, user, xp in await _board(ledgers[0], GUILD)}
        assert set(board.values()) <= {10}  # a grant before the reset was taken away
        await flusher.flush()
        stored = await stored_xp(levels_pool, GUILD)
        assert {u: stored.get(u, 0) for u in everyone} == {u: board.get(u, 0) for u in everyone}
    finally:
        for client in clients:
            await client.aclose()


async def test_grant_writes_the_board_cooldown_and_dirty_field_the_keys_module_names(
    redis_client: Redis, keys: RedisKeys, levels_pool: Pool[Record]
) -> None:
    """The grant script builds every name itself: they must be the ones `keys` documents."""
    ledger = XpLedger(redis_client, keys, levels_pool)
    other_guild = GUILD + 1
    grants = [Grant(GUILD, 42), Grant(other_guild, 43), Grant(GUILD, 44)]
    results = await ledger.grant_many(grants, now_ms=T0_MS)
    assert [r.status for r in results] == [GrantStatus.GRANTED] * 3
    assert [r.change.new_xp if r.change else None for r in results] == [10, 10, 10]
    levels_keys = LevelsKeys(keys)
    for guild_id, user_id in ((GUILD, 42), (other_guild, 43), (GUILD, 44)):
        until = await redis_client.get(levels_keys.cooldown(guild_id, user_id))
        assert until == str(T0_MS + COOLDOWN_MS).encode()
        assert await redis_client.hget(levels_keys.dirty(), dirty_field(guild_id, user_id)) == b"10"
        board = await redis_client.zrange(levels_keys.board(guild_id), 0, -1, withscores=True)
        assert (board_member(user_id).encode(), 10.0) in board
    again = await ledger.grant_many([Grant(other_guild, 43)], now_ms=T0_MS + 1)
    assert again[0].status is GrantStatus.COOLING
    assert again[0].cooling_until_ms == T0_MS + COOLDOWN_MS
