"""Guild settings rules: flag overrides and defaults, names, invalidation messages."""

from __future__ import annotations

import pytest

from shoal.storage.guild_settings import (
    GuildSettings,
    check_feature_name,
    check_guild_id,
    check_setting_key,
    guild_id_from_message,
    invalidation_message,
)

_GUILD = 81_384_788_765_712_384


def test_is_enabled_follows_the_feature_default_when_the_guild_has_no_override() -> None:
    settings = GuildSettings(_GUILD)

    assert settings.is_enabled("xp") is False
    assert settings.is_enabled("xp", is_on_by_default=True) is True
    assert settings.updated_at is None


def test_is_enabled_follows_the_override_when_the_guild_chose() -> None:
    settings = GuildSettings(_GUILD, feature_overrides={"xp": False, "logs": True})

    assert settings.is_enabled("xp", is_on_by_default=True) is False
    assert settings.is_enabled("logs", is_on_by_default=False) is True


def test_enabled_features_combines_defaults_and_overrides_when_listing_known_features() -> None:
    settings = GuildSettings(_GUILD, feature_overrides={"xp": False, "logs": True, "gone": True})

    enabled = settings.enabled_features({"xp": True, "logs": False, "music": True})

    assert enabled == frozenset({"logs", "music"})  # "gone" is not a known feature


def test_setting_returns_default_when_the_key_is_absent() -> None:
    settings = GuildSettings(_GUILD, settings={"logs": {"channel_id": 5}})

    assert settings.setting("logs") == {"channel_id": 5}
    assert settings.setting("xp") is None
    assert settings.setting("xp", {"rate": 1}) == {"rate": 1}


@pytest.mark.parametrize("name", ["xp", "auto_mod", "a1"])
def test_check_feature_name_accepts_when_name_is_snake_case(name: str) -> None:
    assert check_feature_name(name) == name


@pytest.mark.parametrize("name", ["", "XP", "auto-mod", "1xp", "x" * 33, "xp "])
def test_check_feature_name_refuses_when_name_is_not_snake_case(name: str) -> None:
    with pytest.raises(ValueError, match="feature name"):
        check_feature_name(name)


@pytest.mark.parametrize("guild_id", [0, -1, 2**63])
def test_check_guild_id_refuses_when_id_cannot_be_a_snowflake(guild_id: int) -> None:
    with pytest.raises(ValueError, match="guild id"):
        check_guild_id(guild_id)


@pytest.mark.parametrize("key", ["", "k" * 101])
def test_check_setting_key_refuses_when_key_is_empty_or_too_long(key: str) -> None:
    with pytest.raises(ValueError, match="setting key"):
        check_setting_key(key)


def test_invalidation_message_round_trips_when_decoded() -> None:
    assert guild_id_from_message(invalidation_message(_GUILD)) == _GUILD
    assert guild_id_from_message(str(_GUILD)) == _GUILD


@pytest.mark.parametrize("data", [b"", b"abc", b"-5", b"0", b"1.5", str(2**63).encode(), b"\xff"])
def test_guild_id_from_message_returns_none_when_message_is_malformed(data: bytes) -> None:
    assert guild_id_from_message(data) is None
