"""The levels rules: XP and levels, who earns, rewards, the level-up message."""

from __future__ import annotations

import math

import pytest

from shoal.features.levels.rules import (
    MESSAGE_MAX_CHARS,
    LevelChange,
    Progress,
    announcement_channel,
    earns_xp,
    level_change,
    level_of,
    progress_of,
    render_announcement,
    reward_roles,
    xp_for_level,
)
from shoal.features.levels.settings import LevelsSettings
from shoal.kit.messages import MessageFacts


def _facts(
    *,
    guild_id: int | None = 1,
    channel_id: int = 10,
    role_ids: tuple[int, ...] = (),
    is_bot: bool = False,
    is_webhook: bool = False,
) -> MessageFacts:
    return MessageFacts(
        message_id=99,
        guild_id=guild_id,
        channel_id=channel_id,
        author_id=5,
        is_bot=is_bot,
        is_webhook=is_webhook,
        role_ids=role_ids,
        content_length=3,
    )


@pytest.mark.parametrize(
    ("xp", "level"),
    [(0, 0), (99, 0), (100, 1), (399, 1), (400, 2), (899, 2), (900, 3), (10**12, 100_000)],
)
def test_level_of_is_floor_sqrt_xp_over_100_at_the_seed_thresholds(xp: int, level: int) -> None:
    assert level_of(xp) == level


def test_level_of_matches_the_formula_and_xp_for_level_when_looping_over_many_xp() -> None:
    for xp in [*range(0, 200_000, 7), *range(10**9, 10**9 + 50_000, 13)]:
        level = level_of(xp)
        assert level == math.floor(math.sqrt(xp / 100))
        assert xp_for_level(level) <= xp < xp_for_level(level + 1)
        progress = progress_of(xp)
        assert progress.level == level
        assert 0 <= progress.into < progress.needed
        assert xp_for_level(level) + progress.into == xp
        assert progress.needed == xp_for_level(level + 1) - xp_for_level(level)


def test_level_of_stays_exact_when_xp_is_beyond_float_precision() -> None:
    for level in (10**9, 10**12 + 7):
        assert level_of(xp_for_level(level)) == level
        assert level_of(xp_for_level(level) - 1) == level - 1


def test_level_of_and_xp_for_level_refuse_negative_values() -> None:
    with pytest.raises(ValueError, match="negative"):
        level_of(-1)
    with pytest.raises(ValueError, match="levels start at 0"):
        xp_for_level(-1)


def test_progress_of_counts_from_the_level_reached_when_between_levels() -> None:
    assert progress_of(450) == Progress(level=2, into=50, needed=500)
    assert progress_of(0) == Progress(level=0, into=0, needed=100)


def test_level_change_reports_once_when_a_grant_crosses_several_levels() -> None:
    assert level_change(0, 10_000) == LevelChange(0, 10)
    assert level_change(90, 100) == LevelChange(0, 1)
    assert level_change(100, 110) is None
    lowered = level_change(900, 0)
    assert lowered == LevelChange(3, 0)
    assert lowered is not None
    assert not lowered.is_up


def test_level_change_is_up_exactly_when_the_level_grows_over_many_pairs() -> None:
    for old in range(0, 3_000, 10):
        for new in range(old, old + 500, 10):
            change = level_change(old, new)
            assert (change is not None) == (level_of(new) != level_of(old))
            assert change is None or change.is_up


@pytest.mark.parametrize(
    ("facts", "earns"),
    [
        (_facts(), True),
        (_facts(is_bot=True), False),
        (_facts(is_webhook=True), False),
        (_facts(guild_id=None), False),
        (_facts(channel_id=11), False),
        (_facts(role_ids=(3, 500)), False),
        (_facts(role_ids=(3,)), True),
    ],
)
def test_earns_xp_only_when_a_member_writes_outside_ignored_channels_and_roles(
    facts: MessageFacts, *, earns: bool
) -> None:
    settings = LevelsSettings(ignored_channel_ids=(11,), ignored_role_ids=(500,))
    assert earns_xp(facts, settings) is earns


REWARDS = {5: 105, 10: 110, 20: 120}


def test_reward_roles_stack_every_reward_reached_when_stacking() -> None:
    assert reward_roles([1, 2], 12, REWARDS, is_stacking=True) == (1, 2, 105, 110)
    assert reward_roles([1, 105], 12, REWARDS, is_stacking=True) == (1, 105, 110)


def test_reward_roles_keep_only_the_highest_reward_when_replacing() -> None:
    assert reward_roles([1, 105], 12, REWARDS, is_stacking=False) == (1, 110)
    assert reward_roles([1, 105, 110], 25, REWARDS, is_stacking=False) == (1, 120)


def test_reward_roles_return_none_when_the_roles_would_not_change() -> None:
    assert reward_roles([1, 105, 110], 12, REWARDS, is_stacking=True) is None
    assert reward_roles([110, 1], 12, REWARDS, is_stacking=False) is None
    assert reward_roles([1], 4, REWARDS, is_stacking=True) is None
    assert reward_roles([1, 120], 4, REWARDS, is_stacking=True) is None  # given by hand


def test_reward_roles_remove_unearned_rewards_only_when_asked() -> None:
    assert reward_roles([1, 110, 120], 6, REWARDS, is_stacking=True, is_removing_unearned=True) == (
        1,
        105,
    )
    assert reward_roles([1, 120], 0, REWARDS, is_stacking=False, is_removing_unearned=True) == (1,)


def test_reward_roles_hold_every_wanted_role_once_when_looping_over_levels_and_modes() -> None:
    for level in range(30):
        for is_stacking in (True, False):
            current = [1, 105] if level % 2 else [120]
            new = reward_roles(current, level, REWARDS, is_stacking=is_stacking)
            roles = list(current if new is None else new)
            reached = [role for lvl, role in sorted(REWARDS.items()) if lvl <= level]
            wanted = reached if is_stacking else reached[-1:]
            assert len(roles) == len(set(roles))
            assert set(wanted) <= set(roles)
            assert not set(reached) - set(wanted) & set(roles)


def test_announcement_channel_is_the_set_one_the_message_one_or_none_when_off() -> None:
    assert announcement_channel(LevelsSettings(), 10) == 10
    assert announcement_channel(LevelsSettings(announce_channel_id=77), 10) == 77
    assert announcement_channel(LevelsSettings(announce=False), 10) is None


def test_render_announcement_fills_placeholders_when_the_template_uses_them() -> None:
    text = render_announcement(
        "GG {user} ({name}), level {level}!", user_mention="<@5>", name="Ann", level=3
    )
    assert text == "GG <@5> (Ann), level 3!"


def test_render_announcement_keeps_unknown_braces_when_they_are_not_placeholders() -> None:
    template = "{0} {user.id} {{user}} { level } {__class__} {level"
    assert render_announcement(template, user_mention="<@5>", name="A", level=2) == (
        "{0} {user.id} {<@5>} { level } {__class__} {level"
    )


def test_render_announcement_does_not_fill_values_again_when_a_name_holds_a_placeholder() -> None:
    assert render_announcement("{name}!", user_mention="<@5>", name="{level}{user}", level=4) == (
        "{level}{user}!"
    )


def test_render_announcement_cuts_to_2000_characters_when_the_result_is_longer() -> None:
    text = render_announcement("{name}" * 80, user_mention="<@5>", name="x" * 32, level=1)
    assert len(text) == MESSAGE_MAX_CHARS
    assert text.endswith("\u2026")
