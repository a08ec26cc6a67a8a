"""Role menu components' arguments, and the settings' allow-list."""

from __future__ import annotations

import pydantic
import pytest

from shoal.features.rolemenus.components import (
    MenuButton,
    MenuSelect,
    button_arguments,
    parse_arguments,
    select_arguments,
)
from shoal.features.rolemenus.settings import RoleMenusSettings


def test_arguments_round_trip_when_built_and_parsed() -> None:
    assert select_arguments(42) == ("42",)
    assert parse_arguments(select_arguments(42)) == MenuSelect(42)
    assert parse_arguments(button_arguments(42, 7)) == MenuButton(42, 7)


@pytest.mark.parametrize(
    "args", [(), ("0",), ("-1",), ("x",), ("1", "2", "3"), (str(2**63),), ("1", "")]
)
def test_parse_arguments_returns_none_when_malformed(args: tuple[str, ...]) -> None:
    assert parse_arguments(args) is None


def test_button_arguments_refuse_when_an_id_is_not_positive() -> None:
    with pytest.raises(ValueError, match="role_id"):
        button_arguments(1, 0)


def test_settings_allow_no_role_when_the_allow_list_is_empty() -> None:
    settings = RoleMenusSettings()

    assert settings.max_menus == 25
    assert not settings.is_allowed(5)
    assert RoleMenusSettings(allowed_role_ids=frozenset({5})).is_allowed(5)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"max_menus": 0}, "max_menus"),
        ({"max_menus": 101}, "max_menus"),
        ({"allowed_role_ids": [0]}, "allowed_role_ids"),
        ({"other": 1}, "other"),
    ],
)
def test_settings_refuse_naming_the_field_when_invalid(
    value: dict[str, object], field: str
) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        RoleMenusSettings.model_validate(value)
