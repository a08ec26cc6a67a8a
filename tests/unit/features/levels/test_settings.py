"""A guild's levels settings: defaults, limits, and messages an admin understands."""

from __future__ import annotations

import pydantic
import pytest

from shoal.features.levels.settings import (
    DEFAULT_TEMPLATE,
    LevelsSettings,
    describe_errors,
    parse_levels_settings,
)


def _refusal(**values: object) -> str:
    with pytest.raises(pydantic.ValidationError) as caught:
        LevelsSettings.model_validate(values)
    return describe_errors(caught.value)


def test_levels_settings_have_the_seed_defaults_when_nothing_is_stored() -> None:
    settings = parse_levels_settings(None)
    assert settings == LevelsSettings(
        announce=True,
        announce_channel_id=None,
        announce_template=DEFAULT_TEMPLATE,
        ignored_channel_ids=(),
        ignored_role_ids=(),
        level_roles={},
        stack_rewards=True,
    )
    assert DEFAULT_TEMPLATE == "{user} reached level {level}!"


def test_levels_settings_read_stored_json_when_ids_are_strings_as_discord_sends_them() -> None:
    settings = parse_levels_settings(
        {
            "announce_channel_id": "123456789012345678",
            "ignored_channel_ids": ["5", "6", "5"],
            "level_roles": {"10": "900", "5": 800},
            "stack_rewards": False,
        }
    )
    assert settings.announce_channel_id == 123456789012345678
    assert settings.ignored_channel_ids == (5, 6)  # duplicates dropped, order kept
    assert settings.level_roles == {5: 800, 10: 900}
    assert list(settings.level_roles) == [5, 10]
    assert settings.stack_rewards is False


def test_levels_settings_round_trip_when_dumped_to_json_and_read_back() -> None:
    settings = LevelsSettings(ignored_role_ids=(3,), level_roles={2: 20}, announce=False)
    assert parse_levels_settings(settings.model_dump(mode="json")) == settings


def test_levels_settings_are_frozen_and_refuse_unknown_fields() -> None:
    settings = LevelsSettings()
    with pytest.raises(pydantic.ValidationError):
        settings.announce = False  # type: ignore[misc]
    assert "announce_colour" in _refusal(announce_colour="red")


def test_levels_settings_refuse_a_template_when_it_is_empty_or_too_long() -> None:
    assert "the level-up message is empty" in _refusal(announce_template="  ")
    message = _refusal(announce_template="x" * 501)
    assert message == (
        "announce_template: the level-up message is 501 characters long; keep it to 500"
    )
    assert LevelsSettings(announce_template="x" * 500).announce_template == "x" * 500


def test_levels_settings_refuse_too_many_ignored_ids_when_past_100() -> None:
    assert "at most 100 ignored channels; remove 1 first" in _refusal(
        ignored_channel_ids=list(range(1, 102))
    )
    assert "at most 100 ignored roles" in _refusal(ignored_role_ids=list(range(1, 102)))
    assert len(LevelsSettings(ignored_role_ids=tuple(range(1, 101))).ignored_role_ids) == 100


def test_levels_settings_refuse_ids_when_they_are_not_snowflakes() -> None:
    assert "0 is not a channel id" in _refusal(ignored_channel_ids=[0])
    assert "is not a channel id" in _refusal(announce_channel_id=2**63)
    assert "-4 is not a role id" in _refusal(level_roles={1: -4})


def test_levels_settings_refuse_reward_levels_when_out_of_range_or_too_many() -> None:
    assert "level 0 cannot have a reward: pick 1 to 1000" in _refusal(level_roles={0: 5})
    assert "level 1001 cannot have a reward" in _refusal(level_roles={1001: 5})
    assert "at most 50 reward roles; remove 1 first" in _refusal(
        level_roles={level: 100 + level for level in range(1, 52)}
    )
    assert len(LevelsSettings(level_roles={1000: 9, 1: 8}).level_roles) == 2


def test_describe_errors_names_each_setting_when_several_are_wrong() -> None:
    lines = _refusal(announce_template="", ignored_role_ids=[0]).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("announce_template: ")
    assert lines[1].startswith("ignored_role_ids: ")
