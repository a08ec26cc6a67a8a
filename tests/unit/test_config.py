"""Settings from the environment: defaults, and errors that name the variable."""

from __future__ import annotations

import pytest

from shoal.config import (
    DEFAULT_INTENTS,
    SettingsError,
    discord_settings,
    http_settings,
    log_settings,
    postgres_settings,
    redis_settings,
    sharding_settings,
    worker_settings,
)

_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.c2VjcmV0"  # noqa: S105 - a fake token
_ENV = {
    "SHOAL_TOKEN": _TOKEN,
    "SHOAL_TOTAL_SHARDS": "16",
    "SHOAL_SHARDS_PER_POD": "4",
    "SHOAL_POD_NAME": "mybot-shards-g3-2",
    "SHOAL_GENERATION": "3",
    "SHOAL_REDIS_URL": "redis://127.0.0.1:6379/0",
    "SHOAL_POSTGRES_DSN": "postgresql://shoal:pw@127.0.0.1/shoal",
}


def test_worker_settings_reads_every_group_when_the_environment_is_complete() -> None:
    settings = worker_settings(_ENV)
    assert settings.discord.rest_url == "https://discord.com/api/v10"
    assert settings.discord.intents == DEFAULT_INTENTS
    assert settings.sharding.ordinal == 2
    assert settings.sharding.generation == 3
    assert settings.sharding.shards.ids == [8, 9, 10, 11]
    assert settings.redis.namespace == "shoal"
    assert settings.http.port == 8080
    assert settings.log.level == "INFO"
    assert settings.log.is_json is True


def test_settings_never_show_secrets_when_printed() -> None:
    settings = worker_settings(_ENV)
    assert _TOKEN not in repr(settings)
    assert "pw@" not in repr(settings)


def test_sharding_settings_prefers_the_explicit_ordinal_when_both_are_given() -> None:
    settings = sharding_settings({**_ENV, "SHOAL_POD_ORDINAL": "0"})
    assert settings.shards.ids == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"SHOAL_TOKEN": ""}, "SHOAL_TOKEN"),
        ({"SHOAL_TOKEN": "not-a-token"}, "SHOAL_TOKEN"),
        ({"SHOAL_TOTAL_SHARDS": "zero"}, "SHOAL_TOTAL_SHARDS"),
        ({"SHOAL_TOTAL_SHARDS": "0"}, "SHOAL_TOTAL_SHARDS"),
        ({"SHOAL_SHARDS_PER_POD": ""}, "SHOAL_SHARDS_PER_POD"),
        ({"SHOAL_POD_NAME": "no-ordinal-here"}, "SHOAL_POD_ORDINAL"),
        ({"SHOAL_POD_NAME": "mybot-7"}, "SHOAL_POD_ORDINAL"),
        ({"SHOAL_GENERATION": "-1"}, "SHOAL_GENERATION"),
        ({"SHOAL_REDIS_URL": "http://x"}, "SHOAL_REDIS_URL"),
        ({"SHOAL_BOT_NAME": "Bad_Name"}, "SHOAL_BOT_NAME"),
        ({"SHOAL_POSTGRES_DSN": "mysql://x"}, "SHOAL_POSTGRES_DSN"),
        ({"SHOAL_REST_URL": "ftp://x"}, "SHOAL_REST_URL"),
        ({"SHOAL_HTTP_PORT": "70000"}, "SHOAL_HTTP_PORT"),
        ({"SHOAL_LOG_LEVEL": "loud"}, "SHOAL_LOG_LEVEL"),
        ({"SHOAL_LOG_JSON": "maybe"}, "SHOAL_LOG_JSON"),
    ],
)
def test_worker_settings_names_the_variable_when_a_value_is_bad(
    changes: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        worker_settings({**_ENV, **changes})
    assert raised.value.variable == variable
    assert str(raised.value).startswith(f"{variable}: ")


def test_group_readers_use_defaults_when_optional_variables_are_absent() -> None:
    assert discord_settings({"SHOAL_TOKEN": _TOKEN}).intents == DEFAULT_INTENTS
    assert redis_settings({"SHOAL_REDIS_URL": "redis://h"}).namespace == "shoal"
    assert postgres_settings({"SHOAL_POSTGRES_DSN": "postgresql://h/db"}).pool_max_size == 10
    assert http_settings({}).host == "0.0.0.0"  # noqa: S104 - the default under test
    assert log_settings({"SHOAL_LOG_JSON": "off"}).is_json is False


def test_discord_settings_strips_a_trailing_slash_when_the_rest_url_has_one() -> None:
    settings = discord_settings({"SHOAL_TOKEN": _TOKEN, "SHOAL_REST_URL": "http://sim:1/api/v10/"})
    assert settings.rest_url == "http://sim:1/api/v10"
