"""Onboarding settings: defaults, validation messages that name the field."""

from __future__ import annotations

import pydantic
import pytest

from shoal.features.onboarding.settings import OnboardingSettings


def test_settings_default_to_not_set_up_when_empty() -> None:
    settings = OnboardingSettings.model_validate({})

    assert not settings.is_complete
    assert settings.require_current_version is False
    assert settings.welcome_message is None


def test_settings_are_complete_when_roles_and_channel_are_set() -> None:
    settings = OnboardingSettings(pre_member_role_id=1, member_role_id=2, rules_channel_id=3)

    assert settings.is_complete


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"member_role_id": 0}, "member_role_id"),
        ({"member_role_id": "12"}, "member_role_id"),
        ({"rules_channel_id": 2**63}, "rules_channel_id"),
        ({"colour": 3}, "colour"),
        ({"pre_member_role_id": 5, "member_role_id": 5}, "pre_member_role_id and member_role_id"),
        ({"welcome_message": "  "}, "welcome_message must not be blank"),
        ({"welcome_message": "hi {user}"}, "unknown placeholder(s) {user}: use {mention}"),
        ({"welcome_message": "hi {}"}, "unknown placeholder(s) {}"),
        ({"welcome_message": "hi {mention.__class__}"}, "unknown placeholder"),
        ({"welcome_message": "hi {mention:>999999}"}, "take no format"),
        ({"welcome_message": "hi {mention!r}"}, "take no format"),
        ({"welcome_message": "hi {"}, "not a valid template"),
        ({"welcome_message": "x" * 1501}, "at most 1500 characters"),
    ],
)
def test_settings_refuse_with_the_field_named_when_invalid(
    value: dict[str, object], fragment: str
) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        OnboardingSettings.model_validate(value)

    assert fragment in str(caught.value)


def test_settings_are_frozen_when_built() -> None:
    settings = OnboardingSettings()

    with pytest.raises(pydantic.ValidationError):
        settings.member_role_id = 3  # type: ignore[misc]  # the point: frozen


def test_settings_accept_a_template_with_known_placeholders_and_escaped_braces() -> None:
    settings = OnboardingSettings(welcome_message="Welcome {mention} to {server} {{:)}}, {name}")

    assert settings.welcome_message == "Welcome {mention} to {server} {{:)}}, {name}"


def test_settings_take_a_welcome_channel_when_set() -> None:
    assert OnboardingSettings().welcome_channel_id is None
    assert OnboardingSettings(welcome_channel_id=7).welcome_channel_id == 7
