"""The rules message's buttons: the arguments they carry, parsed without trust."""

from __future__ import annotations

import pytest

from shoal.features.onboarding.components import (
    AgreeButton,
    SaveRulesModal,
    ViewRulesButton,
    agree_arguments,
    parse_arguments,
    parse_modal_arguments,
    save_arguments,
    view_arguments,
)


def test_arguments_round_trip_when_built_and_parsed() -> None:
    assert parse_arguments(view_arguments()) == ViewRulesButton()
    assert agree_arguments(3) == ("agree", "3")
    assert parse_arguments(agree_arguments(3)) == AgreeButton(3)


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("agree",),
        ("agree", "-1"),
        ("agree", "0"),
        ("agree", "x"),
        ("agree", "٣"),
        ("agree", "3", "4"),
        ("agree", str(2**31)),
        ("view", "1"),
        ("other",),
    ],
)
def test_parse_arguments_returns_none_when_malformed(args: tuple[str, ...]) -> None:
    assert parse_arguments(args) is None


def test_agree_arguments_refuse_when_the_version_is_not_positive() -> None:
    with pytest.raises(ValueError, match="rules_version"):
        agree_arguments(0)


def test_modal_arguments_round_trip_when_built_and_parsed() -> None:
    assert save_arguments(0) == ("save", "0")
    assert parse_modal_arguments(save_arguments(0)) == SaveRulesModal(0)
    assert parse_modal_arguments(save_arguments(7)) == SaveRulesModal(7)


@pytest.mark.parametrize(
    "args",
    [(), ("save",), ("save", "-1"), ("save", "x"), ("save", str(2**31 - 1)), ("agree", "1")],
)
def test_parse_modal_arguments_returns_none_when_malformed(args: tuple[str, ...]) -> None:
    assert parse_modal_arguments(args) is None


def test_save_arguments_refuse_when_the_version_is_negative() -> None:
    with pytest.raises(ValueError, match="expected_version"):
        save_arguments(-1)
