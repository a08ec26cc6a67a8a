"""Simulator settings: defaults that describe Discord, and refusals that name the bad field."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from shoal_sim.discord.settings import DEFAULT_TOKEN, SimSettings
from shoal_sim.discord.snowflakes import bot_id_from_token


def _changes(field: str, value: float) -> dict[str, Any]:
    return {field: value}


def test_settings_describe_discord_when_defaulted() -> None:
    settings = SimSettings()
    assert settings.tokens == (DEFAULT_TOKEN,)
    assert settings.identify_window_s == 5.0
    assert settings.max_concurrency == 1
    assert settings.interaction_deadline_s == 3.0
    assert settings.global_rate_per_s == 50
    assert bot_id_from_token(DEFAULT_TOKEN) > 0


def test_settings_accept_zero_when_counts_may_be_empty() -> None:
    settings = SimSettings(
        guilds=0,
        members_per_guild=0,
        channels_per_guild=0,
        roles_per_guild=0,
        session_start_total=0,
        port=0,
    )
    assert settings.guilds == 0


def test_settings_are_frozen_when_built() -> None:
    settings = SimSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.guilds = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "field",
    [
        "max_concurrency",
        "max_guilds_per_shard",
        "shard_count_multiple",
        "heartbeat_interval_ms",
        "send_limit",
        "global_rate_per_s",
        "replay_buffer",
    ],
)
def test_settings_name_the_field_when_a_positive_count_is_zero(field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field} must be at least 1, got 0$"):
        dataclasses.replace(SimSettings(), **_changes(field, 0))


@pytest.mark.parametrize(
    "field",
    [
        "guilds",
        "members_per_guild",
        "channels_per_guild",
        "roles_per_guild",
        "session_start_total",
        "port",
    ],
)
def test_settings_name_the_field_when_a_count_is_negative(field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field} must not be negative, got -1$"):
        dataclasses.replace(SimSettings(), **_changes(field, -1))


@pytest.mark.parametrize("field", ["identify_window_s", "send_window_s"])
@pytest.mark.parametrize("value", [0.0, -1.0])
def test_settings_name_the_field_when_a_window_is_not_positive(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(SimSettings(), **_changes(field, value))


def test_settings_ask_for_a_token_when_none_is_given() -> None:
    with pytest.raises(ValueError, match="bot token"):
        SimSettings(tokens=())
