"""The ``--help`` table of ``SHOAL_*`` variables matches what ``shoal.config`` reads."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Final

import pytest
from typing_extensions import override

from shoal import config
from shoal.config import (
    SettingsError,
    discord_settings,
    http_settings,
    log_settings,
    postgres_settings,
    redis_settings,
    sharding_settings,
    worker_settings,
)
from shoal.config_variables import (
    COMMAND_ENVIRONMENTS,
    VARIABLES,
    ConfigVariable,
    variables_help,
    variables_of,
)

#: Every group's settings function, as the table names it.
_GROUPS: Final[Mapping[str, Callable[[Mapping[str, str]], object]]] = {
    "discord": discord_settings,
    "sharding": sharding_settings,
    "redis": redis_settings,
    "postgres": postgres_settings,
    "http": http_settings,
    "log": log_settings,
}
#: Every variable set, none to its default, so every branch that reads one reads it.
_FULL_ENV: Final = {
    "SHOAL_TOKEN": "MTAwMDAwMDAwMDAwMDAwMDAwMQ.GsimXX.c2VjcmV0",  # a fake token
    "SHOAL_REST_URL": "http://127.0.0.1:9/api/v10",
    "SHOAL_INTENTS": "1",
    "SHOAL_IDENTIFY_WINDOW_S": "0.5",
    "SHOAL_TOTAL_SHARDS": "16",
    "SHOAL_SHARDS_PER_POD": "4",
    "SHOAL_POD_NAME": "bot-g0-2",
    "SHOAL_POD_ORDINAL": "2",
    "SHOAL_GENERATION": "3",
    "SHOAL_REDIS_URL": "redis://127.0.0.1:6379/0",
    "SHOAL_BOT_NAME": "mybot",
    "SHOAL_POSTGRES_DSN": "postgresql://shoal@127.0.0.1/shoal",
    "SHOAL_POSTGRES_POOL_MAX": "3",
    "SHOAL_HTTP_HOST": "127.0.0.1",
    "SHOAL_HTTP_PORT": "9000",
    "SHOAL_LOG_LEVEL": "DEBUG",
    "SHOAL_LOG_JSON": "false",
}


class _RecordingEnv(Mapping[str, str]):
    """An environment that records every key looked up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.read: set[str] = set()

    @override
    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self._values[key]

    @override
    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    @override
    def __len__(self) -> int:
        return len(self._values)


def _read_by(settings: Callable[[Mapping[str, str]], object]) -> set[str]:
    env = _RecordingEnv(_FULL_ENV)
    settings(env)
    return {name for name in env.read if name.startswith("SHOAL_")}


def _names(variables: tuple[ConfigVariable, ...]) -> set[str]:
    return {v.name for v in variables}


def test_the_table_lists_every_variable_config_names_when_its_source_is_scanned() -> None:
    in_source = set(re.findall(r'"(SHOAL_[A-Z0-9_]+)"', inspect.getsource(config)))
    assert _names(VARIABLES) == in_source
    assert len(VARIABLES) == len(in_source)  # each listed once


@pytest.mark.parametrize("group", sorted(_GROUPS))
def test_each_group_lists_exactly_the_variables_its_settings_function_reads(group: str) -> None:
    assert _names(variables_of((group,))) == _read_by(_GROUPS[group])


def test_every_variable_belongs_to_a_known_group_when_listed() -> None:
    assert {v.group for v in VARIABLES} == set(_GROUPS)


def test_the_worker_lists_every_variable_worker_settings_reads() -> None:
    listed = variables_of(COMMAND_ENVIRONMENTS["worker"].groups)
    assert _names(listed) == _read_by(worker_settings) == _names(VARIABLES)


_DEFAULTED: Final = [v for v in VARIABLES if v.default is not None]
_REQUIRED: Final = [v for v in VARIABLES if v.is_required]


@pytest.mark.parametrize("variable", _DEFAULTED, ids=[v.name for v in _DEFAULTED])
def test_a_listed_default_is_what_config_uses_when_the_variable_is_unset(
    variable: ConfigVariable,
) -> None:
    assert variable.default is not None
    settings = _GROUPS[variable.group]
    unset = {k: v for k, v in _FULL_ENV.items() if k != variable.name}
    assert settings(unset) == settings({**unset, variable.name: variable.default})


@pytest.mark.parametrize("variable", _REQUIRED, ids=[v.name for v in _REQUIRED])
def test_a_variable_listed_as_required_stops_its_group_when_unset(
    variable: ConfigVariable,
) -> None:
    unset = {k: v for k, v in _FULL_ENV.items() if k != variable.name}
    with pytest.raises(SettingsError) as error:
        _GROUPS[variable.group](unset)
    assert error.value.variable == variable.name


def test_status_logs_warnings_only_when_the_level_is_not_set() -> None:
    assert COMMAND_ENVIRONMENTS["status"].log_level == "WARNING"
    assert "SHOAL_LOG_LEVEL  DEBUG, INFO, WARNING or ERROR (default: WARNING)" in variables_help(
        "status"
    )
    assert log_settings({}, default_level="WARNING").level == "WARNING"
    assert log_settings({"SHOAL_LOG_LEVEL": "info"}, default_level="WARNING").level == "INFO"
