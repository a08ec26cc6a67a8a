"""What the onboarding commands say: the setup report, saves, the guild facts."""

from __future__ import annotations

from datetime import UTC, datetime

from shoal.features.onboarding.guild_facts import VERIFICATION_GATE, facts_of
from shoal.features.onboarding.rules import RulesDocument
from shoal.features.onboarding.settings import OnboardingSettings
from shoal.features.onboarding.texts import (
    cannot_give_text,
    rules_preview_text,
    saved_text,
    setup_refused_text,
    setup_report_text,
)

_T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
_SET = OnboardingSettings(pre_member_role_id=1, member_role_id=2, rules_channel_id=3)


def _rules(*, posted: bool, text: str = "Be kind.") -> RulesDocument:
    return RulesDocument(
        guild_id=9,
        version=2,
        text=text,
        updated_at=_T0,
        channel_id=3 if posted else None,
        message_id=4 if posted else None,
    )


def test_setup_report_asks_for_the_rules_when_none_are_written() -> None:
    text = setup_report_text(OnboardingSettings(), (), None)

    assert "Pre-Member role: not set" in text
    assert "Rules: not written yet" in text
    assert "- Write the rules with /onboarding rules." in text


def test_setup_report_asks_to_post_when_the_rules_are_not_posted() -> None:
    text = setup_report_text(_SET, (), _rules(posted=False))

    assert "Pre-Member role: <@&1>" in text
    assert "Rules: version 2, not posted yet" in text
    assert "- Post the rules message with /onboarding post." in text


def test_setup_report_lists_problems_and_says_ready_only_without_any() -> None:
    problems = ("Member role: The role @Member is above my highest role.",)

    with_problem = setup_report_text(_SET, problems, _rules(posted=True))
    ready = setup_report_text(_SET, (), _rules(posted=True))

    assert "- Member role: The role @Member is above my highest role." in with_problem
    assert "Everything is ready" not in with_problem
    assert "Everything is ready" in ready
    assert "**Still to do**" not in ready


def test_setup_refused_text_lists_every_refusal_when_several() -> None:
    text = setup_refused_text(["one.", "two."])

    assert text.startswith("Nothing was saved")
    assert "- one.\n- two." in text


def test_saved_text_says_what_happened_to_the_posted_message() -> None:
    posted = _rules(posted=True)

    assert "/onboarding post" in saved_text(_rules(posted=False), is_message_updated=None)
    assert "<#3> shows them now" in saved_text(posted, is_message_updated=True)
    assert "run /onboarding post to post it again" in saved_text(posted, is_message_updated=False)


def test_rules_preview_is_cut_when_the_rules_are_long() -> None:
    long = rules_preview_text(_rules(posted=True, text="x" * 4_000))

    assert len(long) < 2_000
    assert "…" in long
    assert "Write rules" in rules_preview_text(None)


def test_cannot_give_text_names_the_problem_and_the_next_step() -> None:
    text = cannot_give_text("The role @Member is above my highest role.")

    assert "it is recorded" in text
    assert "@Member is above my highest role." in text
    assert 'press "I agree" again' in text


def test_facts_of_reads_the_verification_gate_when_among_the_features() -> None:
    assert facts_of(["COMMUNITY", VERIFICATION_GATE], "Den").has_screening
    assert not facts_of(["COMMUNITY"], "Den").has_screening
    assert facts_of([], "Den").name == "Den"
