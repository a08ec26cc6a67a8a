"""Onboarding's decisions: roles at join and after screening, "I agree", replies, setup."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shoal.features.onboarding.rules import (
    ALREADY_AGREED_TEXT,
    PENDING_TEXT,
    RULES_TEXT_MAX,
    SETUP_NEEDED_TEXT,
    Agreement,
    MemberFacts,
    RulesDocument,
    check_rules_text,
    is_still_pending,
    on_agree,
    on_member_joined,
    on_member_updated,
    rules_view_text,
    setup_problems,
    welcome_text,
)
from shoal.features.onboarding.settings import OnboardingSettings
from shoal.kit.roles import BAN_MEMBERS, MANAGE_ROLES, RoleFacts

_PRE, _MEMBER, _RULES_CHANNEL, _OTHER = 11, 12, 13, 14
_SETTINGS = OnboardingSettings(
    pre_member_role_id=_PRE, member_role_id=_MEMBER, rules_channel_id=_RULES_CHANNEL
)
_STRICT = _SETTINGS.model_copy(update={"require_current_version": True})
_NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
_V1 = Agreement(version=1, agreed_at=_NOW)


def _member(*roles: int, pending: bool | None = False, is_bot: bool = False) -> MemberFacts:
    return MemberFacts(user_id=7, role_ids=roles, is_pending=pending, is_bot=is_bot)


@pytest.mark.parametrize(
    ("pending", "has_screening", "expected"),
    [
        (True, True, True),
        (True, False, True),
        (False, True, False),
        (False, False, False),
        (None, True, True),
        (None, False, False),
    ],
)
def test_is_still_pending_counts_a_missing_field_as_pending_only_when_the_guild_screens(
    *, pending: bool | None, has_screening: bool, expected: bool
) -> None:
    assert is_still_pending(pending, has_screening=has_screening) is expected


def test_on_member_joined_gives_pre_member_when_a_new_member_joins() -> None:
    change = on_member_joined(
        _member(_OTHER), _SETTINGS, None, current_version=1, has_screening=False
    )

    assert change is not None
    assert change.role_ids == (_OTHER, _PRE)
    assert change.added == (_PRE,)
    assert change.removed == ()


@pytest.mark.parametrize(("pending", "has_screening"), [(True, True), (True, False), (None, True)])
def test_on_member_joined_gives_nothing_when_the_member_may_be_pending(
    *, pending: bool | None, has_screening: bool
) -> None:
    member = _member(pending=pending)

    assert (
        on_member_joined(member, _SETTINGS, None, current_version=1, has_screening=has_screening)
        is None
    )
    assert (
        on_member_joined(member, _SETTINGS, _V1, current_version=1, has_screening=has_screening)
        is None
    )


def test_on_member_joined_gives_member_back_when_a_member_who_agreed_rejoins() -> None:
    change = on_member_joined(_member(), _SETTINGS, _V1, current_version=3, has_screening=True)

    assert change is not None
    assert change.role_ids == (_MEMBER,)
    assert "version 1" in change.reason


def test_on_member_joined_asks_again_when_the_current_version_is_required_and_newer() -> None:
    change = on_member_joined(_member(), _STRICT, _V1, current_version=2, has_screening=False)

    assert change is not None
    assert change.added == (_PRE,)


def test_on_member_joined_gives_nothing_when_not_set_up_or_a_bot_or_already_right() -> None:
    incomplete = OnboardingSettings(pre_member_role_id=_PRE, member_role_id=_MEMBER)

    assert (
        on_member_joined(_member(), incomplete, None, current_version=1, has_screening=False)
        is None
    )
    assert (
        on_member_joined(_member(), _SETTINGS, None, current_version=None, has_screening=False)
        is None
    )
    assert (
        on_member_joined(
            _member(is_bot=True), _SETTINGS, None, current_version=1, has_screening=False
        )
        is None
    )
    assert (
        on_member_joined(_member(_PRE), _SETTINGS, None, current_version=1, has_screening=False)
        is None
    )
    assert (
        on_member_joined(_member(_MEMBER), _SETTINGS, None, current_version=1, has_screening=False)
        is None
    )
    assert (
        on_member_joined(_member(_MEMBER), _SETTINGS, _V1, current_version=1, has_screening=False)
        is None
    )


def test_on_member_updated_gives_the_role_when_screening_completes() -> None:
    known = on_member_updated(
        _member(),
        _SETTINGS,
        None,
        before_pending=True,
        now_pending=False,
        current_version=1,
        has_screening=True,
    )
    unknown = on_member_updated(
        _member(),
        _SETTINGS,
        _V1,
        before_pending=None,
        now_pending=False,
        current_version=1,
        has_screening=True,
    )

    assert known is not None
    assert known.added == (_PRE,)
    assert unknown is not None
    assert unknown.added == (_MEMBER,)


@pytest.mark.parametrize(
    ("before", "now"), [(None, True), (True, True), (None, None), (True, None)]
)
def test_on_member_updated_gives_nothing_when_still_pending_in_a_screening_guild(
    *,
    before: bool | None,
    now: bool | None,
) -> None:
    assert (
        on_member_updated(
            _member(),
            _SETTINGS,
            None,
            before_pending=before,
            now_pending=now,
            current_version=1,
            has_screening=True,
        )
        is None
    )


def test_on_member_updated_counts_a_missing_field_as_done_when_the_guild_does_not_screen() -> None:
    change = on_member_updated(
        _member(),
        _SETTINGS,
        None,
        before_pending=None,
        now_pending=None,
        current_version=1,
        has_screening=False,
    )

    assert change is not None
    assert change.added == (_PRE,)


def test_on_member_updated_leaves_roles_alone_when_nothing_changed_for_onboarding() -> None:
    was_done = on_member_updated(
        _member(),
        _SETTINGS,
        None,
        before_pending=False,
        now_pending=False,
        current_version=1,
        has_screening=True,
    )
    holds_pre = on_member_updated(
        _member(_PRE),
        _SETTINGS,
        _V1,
        before_pending=None,
        now_pending=False,
        current_version=1,
        has_screening=True,
    )

    assert was_done is None
    assert holds_pre is None  # an unknown before-state never swaps roles already given


def test_on_agree_swaps_pre_member_for_member_in_one_change_when_first_agreeing() -> None:
    outcome = on_agree(
        _member(_OTHER, _PRE),
        _SETTINGS,
        button_version=2,
        current_version=2,
        agreement=None,
        has_screening=True,
    )

    assert outcome.change is not None
    assert outcome.change.role_ids == (_OTHER, _MEMBER)
    assert outcome.change.added == (_MEMBER,)
    assert outcome.change.removed == (_PRE,)
    assert outcome.should_record
    assert outcome.version == 2
    assert f"<@&{_MEMBER}>" in outcome.reply


def test_on_agree_changes_and_records_nothing_when_pressed_again() -> None:
    first = on_agree(
        _member(_PRE),
        _SETTINGS,
        button_version=1,
        current_version=1,
        agreement=None,
        has_screening=False,
    )
    assert first.change is not None
    after = _member(*first.change.role_ids)

    again = on_agree(
        after, _SETTINGS, button_version=1, current_version=1, agreement=_V1, has_screening=False
    )

    assert again.change is None
    assert not again.should_record
    assert again.reply == ALREADY_AGREED_TEXT


def test_on_agree_records_without_a_role_change_when_a_member_agrees_to_newer_rules() -> None:
    outcome = on_agree(
        _member(_MEMBER),
        _STRICT,
        button_version=2,
        current_version=2,
        agreement=_V1,
        has_screening=False,
    )

    assert outcome.change is None
    assert outcome.should_record
    assert "version 2" in outcome.reply


def test_on_agree_gives_member_without_recording_when_stored_but_the_role_is_gone() -> None:
    outcome = on_agree(
        _member(_PRE),
        _SETTINGS,
        button_version=1,
        current_version=1,
        agreement=_V1,
        has_screening=False,
    )

    assert outcome.change is not None
    assert not outcome.should_record


def test_on_agree_gives_nothing_when_the_member_is_pending() -> None:
    pending = on_agree(
        _member(pending=True),
        _SETTINGS,
        button_version=1,
        current_version=1,
        agreement=None,
        has_screening=True,
    )
    unknown = on_agree(
        _member(pending=None),
        _SETTINGS,
        button_version=1,
        current_version=1,
        agreement=None,
        has_screening=True,
    )

    for outcome in (pending, unknown):
        assert outcome.change is None
        assert not outcome.should_record
        assert outcome.reply == PENDING_TEXT


def test_on_agree_tells_to_ask_admins_when_onboarding_is_not_set_up() -> None:
    no_rules = on_agree(
        _member(),
        _SETTINGS,
        button_version=1,
        current_version=None,
        agreement=None,
        has_screening=False,
    )
    no_roles = on_agree(
        _member(),
        OnboardingSettings(),
        button_version=1,
        current_version=1,
        agreement=None,
        has_screening=False,
    )

    for outcome in (no_rules, no_roles):
        assert outcome.reply == SETUP_NEEDED_TEXT
        assert "/onboarding setup" in outcome.reply
        assert outcome.change is None
        assert not outcome.should_record


def test_on_agree_refuses_an_old_button_only_when_the_current_version_is_required() -> None:
    lenient = on_agree(
        _member(_PRE),
        _SETTINGS,
        button_version=1,
        current_version=2,
        agreement=None,
        has_screening=False,
    )
    strict = on_agree(
        _member(_PRE),
        _STRICT,
        button_version=1,
        current_version=2,
        agreement=None,
        has_screening=False,
    )

    assert lenient.change is not None
    assert lenient.version == 1
    assert strict.change is None
    assert not strict.should_record
    assert "The rules have changed" in strict.reply
    assert f"<#{_RULES_CHANNEL}>" in strict.reply


@pytest.mark.parametrize("version", [0, 3])
def test_on_agree_refuses_when_the_button_carries_a_version_the_guild_never_had(
    version: int,
) -> None:
    outcome = on_agree(
        _member(_PRE),
        _SETTINGS,
        button_version=version,
        current_version=2,
        agreement=None,
        has_screening=False,
    )

    assert outcome.change is None
    assert not outcome.should_record


def test_rules_view_text_shows_the_rules_or_says_what_to_do_when_missing() -> None:
    rules = RulesDocument(guild_id=1, version=1, text="Be kind.", updated_at=_NOW)

    assert rules_view_text(rules, _SETTINGS) == "Be kind."
    assert rules_view_text(None, _SETTINGS) == SETUP_NEEDED_TEXT
    assert rules_view_text(rules, OnboardingSettings()) == SETUP_NEEDED_TEXT


def test_welcome_text_fills_the_template_when_one_is_set() -> None:
    settings = _SETTINGS.model_copy(
        update={"welcome_message": "Hi {mention} ({name}), welcome to {server}! {{}}"}
    )

    assert (
        welcome_text(settings, mention="<@7>", name="Ann", server="Reef")
        == "Hi <@7> (Ann), welcome to Reef! {}"
    )
    assert welcome_text(_SETTINGS, mention="<@7>", name="Ann", server="Reef") is None


def test_check_rules_text_strips_and_refuses_when_empty_or_too_long() -> None:
    assert check_rules_text("  Be kind.\n") == "Be kind."
    with pytest.raises(ValueError, match="empty"):
        check_rules_text(" \n ")
    with pytest.raises(ValueError, match="4000"):
        check_rules_text("x" * (RULES_TEXT_MAX + 1))


def test_setup_problems_are_empty_when_everything_is_in_place() -> None:
    roles = {_PRE: RoleFacts(_PRE, "Pre", 1), _MEMBER: RoleFacts(_MEMBER, "Member", 2)}
    bot_top = RoleFacts(99, "Shoal", 5, is_managed=True)

    assert setup_problems(_SETTINGS, roles, bot_top=bot_top, bot_permissions=MANAGE_ROLES) == ()


def test_setup_problems_name_each_problem_when_the_setup_is_broken() -> None:
    roles = {_MEMBER: RoleFacts(_MEMBER, "Member", 2, permissions=BAN_MEMBERS)}
    bot_top = RoleFacts(99, "Shoal", 5, is_managed=True)

    broken = setup_problems(
        _SETTINGS.model_copy(update={"rules_channel_id": None}),
        roles,
        bot_top=bot_top,
        bot_permissions=MANAGE_ROLES,
    )
    unset = setup_problems(
        OnboardingSettings(), roles, bot_top=bot_top, bot_permissions=MANAGE_ROLES
    )

    assert broken == (
        "The Pre-Member role no longer exists: pick another in /onboarding setup.",
        (
            "Member role: The role @Member has Ban Members, which self-assigned roles must "
            "never have. Pick a role without moderation permissions."
        ),
        "The rules channel is not set (rules_channel_id): pick one in /onboarding setup.",
    )
    assert len(unset) == 3
    assert "pre_member_role_id" in unset[0]
