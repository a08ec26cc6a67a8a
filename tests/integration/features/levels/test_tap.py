"""The levels tap against a real Redis and PostgreSQL: batching, eligibility, outages."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from shoal.features.levels.flushing import XpFlusher
from shoal.features.levels.ledger import XpLedger
from shoal.features.levels.settings import LevelsSettings
from shoal.features.levels.tap import LevelsTap, LevelUp
from shoal.kit.messages import MessageFacts
from tests.integration.features.levels.inspecting import stored_xp

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest
    from asyncpg import Pool, Record

    from shoal.storage.redis_keys import RedisKeys
    from tests.fixtures.restartable import RestartableServer

GUILD = 777
OFF_GUILD = 778
T0_S = 1_700_000_000.0
_ids = itertools.count(1)


def _message(
    user_id: int,
    *,
    guild_id: int | None = GUILD,
    channel_id: int = 10,
    role_ids: tuple[int, ...] = (),
    is_bot: bool = False,
    is_webhook: bool = False,
) -> MessageFacts:
    return MessageFacts(
        message_id=next(_ids),
        guild_id=guild_id,
        channel_id=channel_id,
        author_id=user_id,
        is_bot=is_bot,
        is_webhook=is_webhook,
        role_ids=role_ids,
        content_length=5,
    )


class _Clock:
    """A settable clock in unix seconds."""

    def __init__(self) -> None:
        self.now_s = T0_S

    def __call__(self) -> float:
        return self.now_s


def _tap(
    ledger: XpLedger,
    clock: Callable[[], float],
    level_ups: list[LevelUp] | None = None,
    settings: LevelsSettings | None = None,
) -> LevelsTap:
    async def settings_of(guild_id: int) -> LevelsSettings:
        assert guild_id == GUILD
        return settings or LevelsSettings()

    async def is_enabled(guild_id: int) -> bool:
        return guild_id != OFF_GUILD

    async def on_level_up(level_up: LevelUp) -> None:
        if level_ups is not None:
            level_ups.append(level_up)

    return LevelsTap(ledger, settings_of, is_enabled, on_level_up, clock)


async def test_taps_grant_10_xp_when_100_messages_of_one_member_race_through_3_workers(
    redis_url: str, keys: RedisKeys, levels_pool: Pool[Record]
) -> None:
    clients = [Redis.from_url(redis_url) for _ in range(3)]
    clock = _Clock()
    try:
        taps = [_tap(XpLedger(client, keys, levels_pool), clock) for client in clients]
        for round_index in range(10):
            for index in range(10):
                clock.now_s = T0_S + round_index * 5 + index * 0.1  # 50 s in all
                taps[(round_index + index) % 3].offer(_message(42))
            await asyncio.gather(*(tap.drain() for tap in taps))
        await asyncio.gather(*(tap.stop() for tap in taps))
        assert await XpLedger(clients[0], keys, levels_pool).rank_of(GUILD, 42) == (1, 10)
        await XpFlusher(clients[0], keys, levels_pool).flush()
        assert await stored_xp(levels_pool, GUILD) == {42: 10}
    finally:
        for client in clients:
            await client.aclose()


async def test_offer_queues_nothing_when_this_process_knows_the_member_is_cooling(
    ledger: XpLedger,
) -> None:
    clock = _Clock()
    tap = _tap(ledger, clock)
    tap.offer(_message(1))
    tap.offer(_message(1))  # not known yet: queued, and refused by the batch's dedupe
    assert tap.queued == 2
    assert await tap.drain() == 2
    clock.now_s += 59
    tap.offer(_message(1))
    assert tap.queued == 0
    clock.now_s += 1.5
    tap.offer(_message(1))
    assert tap.queued == 1
    await tap.drain()
    assert await ledger.rank_of(GUILD, 1) == (1, 20)


async def test_tap_grants_nothing_when_the_message_or_guild_cannot_earn(
    ledger: XpLedger,
) -> None:
    clock = _Clock()
    settings = LevelsSettings(ignored_channel_ids=(11,), ignored_role_ids=(500,))
    tap = _tap(ledger, clock, settings=settings)
    for facts in (
        _message(1, is_bot=True),
        _message(2, is_webhook=True),
        _message(3, guild_id=None),
        _message(4, channel_id=11),
        _message(5, role_ids=(7, 500)),
        _message(6, guild_id=OFF_GUILD),
        _message(9, role_ids=(7,)),
    ):
        tap.offer(facts)
    assert tap.queued == 4  # bots, webhooks and DMs never reach the queue
    await tap.drain()
    assert await ledger.page(GUILD, 1) == [(1, 9, 10)]
    assert await ledger.count(OFF_GUILD) == 0


async def test_tap_reports_a_level_up_once_with_the_message_facts_when_a_level_is_reached(
    ledger: XpLedger,
) -> None:
    clock = _Clock()
    level_ups: list[LevelUp] = []
    tap = _tap(ledger, clock, level_ups)
    await ledger.set_xp(GUILD, 5, 390)
    tap.offer(_message(5, channel_id=33, role_ids=(8,)))
    tap.offer(_message(6))
    await tap.start()
    await tap.stop()
    assert level_ups == [
        LevelUp(
            guild_id=GUILD,
            channel_id=33,
            user_id=5,
            role_ids=(8,),
            old_level=1,
            new_level=2,
            xp=400,
        )
    ]


async def test_stop_drains_every_queued_message_when_the_tap_is_stopped_at_once(
    ledger: XpLedger,
) -> None:
    clock = _Clock()
    tap = _tap(ledger, clock)
    await tap.start()
    for user in range(1, 1_201):  # more than one drain's worth
        tap.offer(_message(user))
    await tap.stop()
    assert tap.queued == 0
    assert await ledger.count(GUILD) == 1_200


async def test_tap_keeps_messages_and_never_raises_when_redis_is_down_then_grants_them(
    restartable_redis: RestartableServer,
    keys: RedisKeys,
    levels_pool: Pool[Record],
) -> None:
    client = Redis.from_url(restartable_redis.url)
    try:
        ledger = XpLedger(client, keys, levels_pool)
        await ledger.set_xp(GUILD, 1, 90)
        await XpFlusher(client, keys, levels_pool).flush()
        clock = _Clock()
        level_ups: list[LevelUp] = []
        tap = _tap(ledger, clock, level_ups)
        restartable_redis.kill()
        tap.offer(_message(1))
        tap.offer(_message(2))
        assert await tap.drain() == 0
        assert tap.queued == 2
        restartable_redis.start_again()  # empty: the boards are rebuilt from PostgreSQL
        assert await tap.drain() == 2
        assert await ledger.page(GUILD, 1) == [(1, 1, 100), (2, 2, 10)]
        await tap.stop()
        assert [(u.user_id, u.new_level) for u in level_ups] == [(1, 1)]
    finally:
        await client.aclose()


async def test_a_full_queue_drops_new_messages_with_one_warning_and_grants_the_rest(
    ledger: XpLedger, caplog: pytest.LogCaptureFixture
) -> None:
    clock = _Clock()

    async def settings_of(_: int) -> LevelsSettings:
        return LevelsSettings()

    async def is_enabled(_: int) -> bool:
        return True

    async def on_level_up(_: LevelUp) -> None:
        return None

    tap = LevelsTap(ledger, settings_of, is_enabled, on_level_up, clock, max_queued=5)
    with caplog.at_level(logging.INFO, logger="shoal.features.levels.tap"):
        for user_id in range(1, 9):
            tap.offer(_message(user_id))
        assert (tap.queued, tap.dropped) == (5, 3)
        assert await tap.drain() == 5
        tap.offer(_message(9))  # room again: taken
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "earn no XP until the queue drains" in warnings[0].getMessage()
    assert any("the queue drained; 3 messages dropped" in r.getMessage() for r in caplog.records)
    assert tap.queued == 1
    assert await ledger.rank_of(GUILD, 5) is not None
    assert await ledger.rank_of(GUILD, 6) is None


async def test_a_batch_awaits_settings_only_for_the_guilds_peek_does_not_hold(
    ledger: XpLedger,
) -> None:
    """Held guilds are decided without I/O: on, with their settings, or off; the rest awaited."""
    third = GUILD + 2
    awaited: list[tuple[str, int]] = []
    settings = LevelsSettings(ignored_channel_ids=(11,))

    def peek(guild_id: int) -> tuple[bool, LevelsSettings] | None:
        return {GUILD: (True, settings), OFF_GUILD: (False, LevelsSettings())}.get(guild_id)

    async def settings_of(guild_id: int) -> LevelsSettings:
        awaited.append(("settings", guild_id))
        return LevelsSettings()

    async def is_enabled(guild_id: int) -> bool:
        awaited.append(("switch", guild_id))
        return True

    async def on_level_up(_: LevelUp) -> None:
        return None

    tap = LevelsTap(ledger, settings_of, is_enabled, on_level_up, _Clock(), peek=peek)
    for facts in (
        _message(1),
        _message(2, channel_id=11),  # ignored by the held settings
        _message(3, guild_id=OFF_GUILD),
        _message(4, guild_id=third),
        _message(5, guild_id=third),
    ):
        tap.offer(facts)
    await tap.drain()
    assert awaited == [("switch", third), ("settings", third)]
    assert await ledger.page(GUILD, 1) == [(1, 1, 10)]
    assert await ledger.count(OFF_GUILD) == 0
    assert await ledger.count(third) == 2
