"""Snowflake ids: shards, reproducible guild ids, fresh ids and bot tokens."""

from __future__ import annotations

import collections

import pytest

from shoal_sim.discord.settings import DEFAULT_TOKEN
from shoal_sim.discord.snowflakes import (
    DISCORD_EPOCH_MS,
    SnowflakeFactory,
    bot_id_from_token,
    make_token,
    shard_for,
    snowflake_time_ms,
)

#: Discord's documented example: 175928847299117063 was created 2016-04-30T11:18:25.796Z.
_EXAMPLE_ID = 175_928_847_299_117_063
_EXAMPLE_MS = 1_462_015_105_796


def test_shard_for_uses_the_timestamp_bits_when_given_discords_formula() -> None:
    guild_id = (1_234_567 << 22) | 0x3F_FFFF
    assert shard_for(guild_id, 1) == 0
    assert shard_for(guild_id, 16) == 1_234_567 % 16
    assert shard_for(guild_id, 1000) == 567
    assert shard_for(_EXAMPLE_ID, 1) == 0


def test_shard_for_ignores_the_low_bits_when_ids_share_a_timestamp() -> None:
    stamp = 987_654_321 << 22
    assert {shard_for(stamp | low, 7) for low in (0, 1, 4096, (1 << 22) - 1)} == {987_654_321 % 7}


def test_snowflake_time_ms_decodes_discords_example_when_given_a_real_id() -> None:
    assert snowflake_time_ms(_EXAMPLE_ID) == _EXAMPLE_MS


def test_guild_ids_repeat_when_the_seed_is_the_same() -> None:
    first, second = SnowflakeFactory(42), SnowflakeFactory(42)
    assert [first.next_guild_id() for _ in range(100)] == [
        second.next_guild_id() for _ in range(100)
    ]


def test_guild_ids_differ_when_the_seed_differs() -> None:
    first, second = SnowflakeFactory(1), SnowflakeFactory(2)
    assert {first.next_guild_id() for _ in range(100)}.isdisjoint(
        second.next_guild_id() for _ in range(100)
    )


@pytest.mark.parametrize("shard_count", [1, 2, 3, 7, 16, 999])
def test_guild_ids_spread_evenly_when_sharded(shard_count: int) -> None:
    ids = SnowflakeFactory(7)
    guild_ids = [ids.next_guild_id() for _ in range(1000)]
    counts = collections.Counter(shard_for(g, shard_count) for g in guild_ids)
    assert len(set(guild_ids)) == 1000
    assert set(counts) == set(range(min(shard_count, 1000)))
    assert max(counts.values()) - min(counts.values()) <= 1


def test_guild_ids_look_real_when_generated() -> None:
    ids = SnowflakeFactory(3)
    created_ms = [snowflake_time_ms(ids.next_guild_id()) for _ in range(10)]
    # 2019-01-01 onwards, within about a year: plausible creation times.
    assert all(1_546_300_800_000 < ms < 1_546_300_800_000 + 366 * 86_400_000 for ms in created_ms)
    assert created_ms == sorted(created_ms)


def test_next_id_is_unique_and_increasing_when_called_within_one_millisecond() -> None:
    ids = SnowflakeFactory(1)
    at_ms = DISCORD_EPOCH_MS + 10**12
    made = [ids.next_id(at_ms) for _ in range(10_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert {snowflake_time_ms(i) for i in made} == {at_ms}


def test_next_id_is_increasing_when_time_passes() -> None:
    ids = SnowflakeFactory(1)
    base_ms = DISCORD_EPOCH_MS + 10**12
    made = [ids.next_id(base_ms + step) for step in range(100)]
    assert made == sorted(made)
    assert [snowflake_time_ms(i) for i in made] == [base_ms + step for step in range(100)]


def test_next_id_is_stamped_now_when_no_time_is_given() -> None:
    ids = SnowflakeFactory(1)
    made = [ids.next_id() for _ in range(1000)]
    assert made == sorted(made)
    assert len(set(made)) == 1000
    # Created "now", i.e. after the generated guilds' 2019-2020 window.
    assert snowflake_time_ms(made[0]) > 1_700_000_000_000


@pytest.mark.parametrize("bot_id", [1, 1_000_000_000_000_000_001, 175_928_847_299_117_063])
def test_bot_id_from_token_returns_the_id_when_the_token_was_made_for_it(bot_id: int) -> None:
    token = make_token(bot_id, "secret with spaces / and + symbols")
    assert bot_id_from_token(token) == bot_id
    assert token.count(".") == 2


def test_bot_id_from_token_reads_the_default_token_when_given_it() -> None:
    assert bot_id_from_token(DEFAULT_TOKEN) == 1_000_000_000_000_000_001


def test_make_token_differs_when_the_secret_differs() -> None:
    assert make_token(5, "one") != make_token(5, "two")


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", ".x.y", "MTA.x.", "MTA..y"],
)
def test_bot_id_from_token_names_the_shape_when_segments_are_missing(token: str) -> None:
    with pytest.raises(ValueError, match="three dot-separated segments"):
        bot_id_from_token(token)


@pytest.mark.parametrize(
    "head",
    [
        "!!!!",  # not base64
        "aGVsbG8",  # base64 of "hello", not a number
        "é",  # not ASCII
    ],
)
def test_bot_id_from_token_names_the_first_segment_when_it_is_not_an_id(head: str) -> None:
    with pytest.raises(ValueError, match="first segment of a bot token"):
        bot_id_from_token(f"{head}.GsimXX.secret")
