"""Guild counts from raw dispatches, and which generation makes the bot's total."""

from __future__ import annotations

import pytest

from shoal.planning.guilds import generation_to_total, guild_count_after


def test_guild_count_after_takes_readys_list_when_a_session_starts() -> None:
    ready = {"guilds": [{"id": "1", "unavailable": True}, {"id": "2", "unavailable": True}]}
    assert guild_count_after(7, "READY", ready) == 2


def test_guild_count_after_keeps_the_count_when_a_ready_guild_becomes_available() -> None:
    assert guild_count_after(2, "GUILD_CREATE", {"id": "1", "unavailable": False}) == 2


def test_guild_count_after_adds_one_when_the_bot_joins_a_guild() -> None:
    assert guild_count_after(2, "GUILD_CREATE", {"id": "3"}) == 3


def test_guild_count_after_removes_one_when_the_bot_leaves_a_guild() -> None:
    assert guild_count_after(2, "GUILD_DELETE", {"id": "3"}) == 1
    assert guild_count_after(0, "GUILD_DELETE", {"id": "3"}) == 0


def test_guild_count_after_keeps_the_count_when_a_guild_has_an_outage() -> None:
    assert guild_count_after(2, "GUILD_DELETE", {"id": "1", "unavailable": True}) == 2


@pytest.mark.parametrize("event_name", ["MESSAGE_CREATE", "RESUMED", "GUILD_UPDATE"])
def test_guild_count_after_keeps_the_count_when_the_event_is_not_about_membership(
    event_name: str,
) -> None:
    assert guild_count_after(5, event_name, {"id": "1"}) == 5


def test_guild_count_after_keeps_the_count_when_ready_has_no_guild_list() -> None:
    assert guild_count_after(5, "READY", {}) == 5


def test_generation_to_total_is_the_active_one_when_it_is_registered() -> None:
    assert generation_to_total(1, {1, 2}) == 1


@pytest.mark.parametrize("active", [None, 7])
def test_generation_to_total_is_the_newest_when_the_active_one_is_unset_or_absent(
    active: int | None,
) -> None:
    assert generation_to_total(active, {1, 2}) == 2


def test_generation_to_total_is_none_when_nothing_is_registered() -> None:
    assert generation_to_total(1, set()) is None
