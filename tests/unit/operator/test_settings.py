"""Operator settings from SHOAL_OPERATOR_*: defaults, parsing, errors naming the variable."""

from __future__ import annotations

import pytest

from shoal.config import SettingsError
from shoal_operator.settings import OperatorSettings, operator_settings


def _error(env: dict[str, str]) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        operator_settings(env)
    return caught.value


def test_operator_settings_are_the_defaults_when_nothing_is_set() -> None:
    settings = operator_settings({})
    assert settings == OperatorSettings()
    assert settings.namespaces == ()
    assert settings.peering_name == "shoal-operator"
    assert settings.priority == 0
    assert settings.peering_lifetime_s == 60.0  # kopf's own default
    assert settings.is_standalone is False
    assert settings.reconcile_interval_s == 15.0
    assert (settings.metrics_port, settings.health_port) == (9090, 8081)
    assert settings.log_level == "INFO"


def test_operator_settings_are_the_defaults_when_variables_are_blank() -> None:
    names = (
        "SHOAL_OPERATOR_NAMESPACES",
        "SHOAL_OPERATOR_PEERING",
        "SHOAL_OPERATOR_PRIORITY",
        "SHOAL_OPERATOR_PEERING_LIFETIME_S",
        "SHOAL_OPERATOR_STANDALONE",
        "SHOAL_OPERATOR_INTERVAL_S",
        "SHOAL_OPERATOR_METRICS_PORT",
        "SHOAL_OPERATOR_HEALTH_PORT",
        "SHOAL_LOG_LEVEL",
    )
    assert operator_settings(dict.fromkeys(names, "  ")) == OperatorSettings()


def test_operator_settings_read_every_variable_when_all_are_set() -> None:
    settings = operator_settings(
        {
            "SHOAL_OPERATOR_NAMESPACES": " bots, music-bots ,,",
            "SHOAL_OPERATOR_PEERING": "shoal-peering",
            "SHOAL_OPERATOR_PRIORITY": "-100",
            "SHOAL_OPERATOR_PEERING_LIFETIME_S": "2.5",
            "SHOAL_OPERATOR_STANDALONE": "TRUE",
            "SHOAL_OPERATOR_INTERVAL_S": "0.5",
            "SHOAL_OPERATOR_METRICS_PORT": "0",
            "SHOAL_OPERATOR_HEALTH_PORT": "65535",
            "SHOAL_LOG_LEVEL": "debug",
        }
    )
    assert settings == OperatorSettings(
        namespaces=("bots", "music-bots"),
        peering_name="shoal-peering",
        priority=-100,
        peering_lifetime_s=2.5,
        is_standalone=True,
        reconcile_interval_s=0.5,
        metrics_port=0,
        health_port=65_535,
        log_level="DEBUG",
    )


@pytest.mark.parametrize(("raw", "expected"), [("1", 1.0), ("3600", 3600.0), (" 7.5 ", 7.5)])
def test_operator_settings_read_the_peering_lifetime_when_it_is_within_bounds(
    raw: str, expected: float
) -> None:
    settings = operator_settings({"SHOAL_OPERATOR_PEERING_LIFETIME_S": raw})
    assert settings.peering_lifetime_s == expected


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("0", False), ("false", False)])
def test_operator_settings_read_standalone_when_it_is_a_boolean_word(
    raw: str, *, expected: bool
) -> None:
    assert operator_settings({"SHOAL_OPERATOR_STANDALONE": raw}).is_standalone is expected


@pytest.mark.parametrize(
    ("variable", "bad"),
    [
        ("SHOAL_OPERATOR_NAMESPACES", "Bots"),
        ("SHOAL_OPERATOR_NAMESPACES", "bots,under_score"),
        ("SHOAL_OPERATOR_NAMESPACES", "-bots"),
        ("SHOAL_OPERATOR_NAMESPACES", "n" * 64),
        ("SHOAL_OPERATOR_PEERING", "Shoal"),
        ("SHOAL_OPERATOR_PEERING", "shoal.operator"),
        ("SHOAL_OPERATOR_PRIORITY", "high"),
        ("SHOAL_OPERATOR_PRIORITY", "1.5"),
        ("SHOAL_OPERATOR_PRIORITY", "1000001"),
        ("SHOAL_OPERATOR_PRIORITY", "-1000001"),
        ("SHOAL_OPERATOR_PEERING_LIFETIME_S", "a minute"),
        ("SHOAL_OPERATOR_PEERING_LIFETIME_S", "0.5"),
        ("SHOAL_OPERATOR_PEERING_LIFETIME_S", "0"),
        ("SHOAL_OPERATOR_PEERING_LIFETIME_S", "-60"),
        ("SHOAL_OPERATOR_PEERING_LIFETIME_S", "3601"),
        ("SHOAL_OPERATOR_PEERING_LIFETIME_S", "nan"),
        ("SHOAL_OPERATOR_PEERING_LIFETIME_S", "inf"),
        ("SHOAL_OPERATOR_STANDALONE", "yes"),
        ("SHOAL_OPERATOR_STANDALONE", "2"),
        ("SHOAL_OPERATOR_INTERVAL_S", "soon"),
        ("SHOAL_OPERATOR_INTERVAL_S", "0.1"),
        ("SHOAL_OPERATOR_INTERVAL_S", "3601"),
        ("SHOAL_OPERATOR_INTERVAL_S", "nan"),
        ("SHOAL_OPERATOR_INTERVAL_S", "inf"),
        ("SHOAL_OPERATOR_METRICS_PORT", "http"),
        ("SHOAL_OPERATOR_METRICS_PORT", "65536"),
        ("SHOAL_OPERATOR_METRICS_PORT", "-1"),
        ("SHOAL_OPERATOR_HEALTH_PORT", "8081.0"),
        ("SHOAL_OPERATOR_HEALTH_PORT", "70000"),
        ("SHOAL_LOG_LEVEL", "TRACE"),
        ("SHOAL_LOG_LEVEL", "CRITICAL"),
    ],
)
def test_operator_settings_name_the_variable_when_its_value_is_bad(variable: str, bad: str) -> None:
    error = _error({variable: bad})
    assert error.variable == variable
    assert str(error).startswith(f"{variable}: ")
